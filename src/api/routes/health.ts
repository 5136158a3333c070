// /healthz, /readyz, /metrics: for load balancers and Prometheus, so they need no key.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { Type } from 'typebox';
import { SundialError } from '../../core/errors.js';
import { problems } from '../schemas/common.js';

/** What the health routes read. */
export interface HealthDeps {
  /** Null when ready, else the error /readyz answers with. */
  unreadyReason: () => SundialError | null;
  metricsRegistry: Registry;
}

const tags = ['health'];
const security: never[] = [];

/** Health, readiness and metrics routes. */
export const healthRoutes: FastifyPluginAsyncTypebox<HealthDeps> = async (app, { unreadyReason, metricsRegistry }) => {
  app.get(
    '/healthz',
    { schema: { tags, security, summary: 'Liveness', description: '200 while the process lives.', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags,
        security,
        summary: 'Readiness',
        description: '200 once the store is open and the scheduler runs; 503 `not_ready` before that and while shutting down, 503 `database_unavailable` while the database cannot be reached.',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...problems(503) },
      },
    },
    async () => {
      const reason = unreadyReason();
      if (reason !== null) throw reason;
      return { status: 'ready' as const };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        security,
        summary: 'Prometheus metrics',
        response: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics()),
  );
};
