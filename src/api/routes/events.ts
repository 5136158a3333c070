// /v1/events: a server-sent event stream of run transitions and task changes.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { coversNamespace } from '../../auth/roles.js';
import { actorOf } from '../auth-hook.js';
import { SSE_HEADERS, type EventStreamHub } from '../event-stream.js';
import type { StreamRegistry } from '../stream-registry.js';
import { AUTH_PROBLEMS, NamespaceQuery, problems } from '../schemas/common.js';
import type { RouteDeps } from './route-helpers.js';

/** Event stream route. */
export const eventRoutes: FastifyPluginAsyncTypebox<RouteDeps & { hub: EventStreamHub; streams: StreamRegistry }> = async (app, { hub, streams }) => {
  app.get(
    '/events',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['events'],
        summary: 'Stream run and task events',
        description:
          'Server-sent events: `run:transition` and `task:changed`, limited to the key’s namespaces (and `?namespace=`). A `: heartbeat` comment every 15 s keeps proxies from closing the stream.',
        querystring: NamespaceQuery,
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } },
          ...problems(...AUTH_PROBLEMS, 429),
        },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const only = request.query.namespace;
      // Before the hijack: a key over its stream cap gets a 429 problem, not a stream.
      streams.open(actor, reply.raw);
      // The stream outlives this handler, so Fastify lets go of the response here.
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, SSE_HEADERS);
      res.write('retry: 3000\n: connected\n\n');
      hub.attach(res, (ns) => (only === undefined || ns === only) && coversNamespace(actor, ns), actor.role);
    },
  );
};
