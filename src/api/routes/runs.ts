// /v1/runs: monitor runs, read their logs, move or cancel pending ones.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { validateInstant } from '../../core/schedule/instant.js';
import { ErrorCollector } from '../../services/validation.js';
import { actorOf } from '../auth-hook.js';
import { AUTH_PROBLEMS, IdParams, Page, problems } from '../schemas/common.js';
import type { EventBus } from '../../core/events.js';
import type { Store } from '../../store/store.js';
import { followRunLog, type LiveLogSource } from '../log-follow.js';
import { LogLineView, LogsQuery, RescheduleBody, RunListQuery, RunMetricsView, RunView } from '../schemas/run.js';
import { SSE_HEADERS } from '../event-stream.js';
import type { StreamRegistry } from '../stream-registry.js';
import { iso, logLineView, pageView, runView } from '../views.js';
import { limitOf, parseRange, parseStatuses, type RouteDeps } from './route-helpers.js';

/** What following a log live needs. */
export interface RunStreamDeps {
  bus: EventBus;
  store: Store;
  live?: LiveLogSource | undefined;
  heartbeatMs: number;
  /** Open streams by key: ended on revocation, capped per key. */
  streams: StreamRegistry;
}

const tags = ['runs'];

/** Run routes. */
export const runRoutes: FastifyPluginAsyncTypebox<RouteDeps & RunStreamDeps> = async (app, { services, bus, store, live, heartbeatMs, streams }) => {
  const { runs } = services;

  app.get(
    '/runs',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'List runs (monitor)',
        description:
          '`task` is a task id or name; `status` a comma-separated list; `from`/`to` bound `scheduledFor` (from inclusive, to exclusive); ' +
          '`order=asc` lists oldest due first (with `status=scheduled&from=<now>`: the next runs due).',
        querystring: RunListQuery,
        response: { 200: Page(RunView), ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      const check = new ErrorCollector();
      const status = check.run(() => parseStatuses(q.status));
      const range = parseRange(q, check);
      const page = await runs.list(actorOf(request), {
        task: q.task,
        namespace: q.namespace,
        status,
        ...range,
        order: q.order,
        limit: limitOf(q),
        cursor: q.cursor,
      });
      return pageView(page, runView);
    },
  );

  app.get(
    '/runs/:id',
    { config: { role: 'viewer' }, schema: { tags, summary: 'Get a run', params: IdParams, response: { 200: RunView, ...problems(...AUTH_PROBLEMS, 404) } } },
    async (request) => runView(await runs.get(actorOf(request), request.params.id)),
  );

  app.get(
    '/runs/:id/logs',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: "A run's log",
        description:
          'JSON lines (`application/x-ndjson`), one `{ at, level, message }` per line. With `?follow=1`: server-sent events, one line per event ' +
          '(`id:` its index, `data:` the JSON line) from the first line on, then `event: end` with the run\'s status when it ends. `Last-Event-ID` resumes.',
        params: IdParams,
        querystring: LogsQuery,
        response: {
          // The schema is one line's: the body is many of them, one per line (JSON lines).
          200: { description: 'One JSON object per line, each shaped like this schema.', content: { 'application/x-ndjson': { schema: LogLineView } } },
          ...problems(...AUTH_PROBLEMS, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const follow = request.query.follow;
      if (follow === true || follow === '1') {
        const actor = actorOf(request);
        const run = await runs.get(actor, request.params.id);
        streams.open(actor, reply.raw);
        const last = Number(request.headers['last-event-id']);
        reply.hijack();
        reply.raw.writeHead(200, SSE_HEADERS);
        reply.raw.write('retry: 3000\n: following\n\n');
        followRunLog({ res: reply.raw, runId: run.id, bus, store, live, lastSeq: Number.isInteger(last) && last >= 0 ? last : -1, heartbeatMs });
        return;
      }
      const lines = await runs.logs(actorOf(request), request.params.id);
      const body = lines.map((l) => JSON.stringify(logLineView(l))).join('\n');
      // The typed reply expects one line (the schema documents a line); the body is all of them,
      // already serialized, which Fastify sends as it is.
      return reply.type('application/x-ndjson; charset=utf-8').send((body === '' ? '' : `${body}\n`) as never);
    },
  );

  app.get(
    '/runs/:id/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: "A run's resource use",
        description: 'CPU, peak memory and disk writes, and for runs longer than a second a sample about every second.',
        params: IdParams,
        response: { 200: RunMetricsView, ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => {
      const { run, samples } = await runs.samples(actorOf(request), request.params.id);
      return { cpuMs: run.cpuMs, peakRssBytes: run.peakRssBytes, diskWriteBytes: run.diskWriteBytes, samples: samples.map((s) => ({ ...s, at: iso(s.at) })) };
    },
  );

  app.post(
    '/runs/:id/reschedule',
    {
      config: { role: 'operator', scope: 'runs' },
      schema: {
        tags,
        summary: 'Move a pending run (rescheduleTask)',
        description: 'Only `scheduled` and `queued` runs move (else 409 `run_not_reschedulable`).',
        params: IdParams,
        body: RescheduleBody,
        response: { 200: RunView, ...problems(...AUTH_PROBLEMS, 404, 409) },
      },
    },
    async (request) => runView(await runs.reschedule(actorOf(request), request.params.id, validateInstant(request.body.at, '/at'))),
  );

  app.post(
    '/runs/:id/cancel',
    {
      config: { role: 'operator', scope: 'runs' },
      schema: {
        tags,
        summary: 'Cancel a run',
        description: 'A pending run becomes `cancelled` at once; a running one is stopped by the node that runs it. Finished runs answer 409.',
        params: IdParams,
        response: { 200: RunView, ...problems(...AUTH_PROBLEMS, 404, 409) },
      },
    },
    async (request) => runView(await runs.cancel(actorOf(request), request.params.id)),
  );
};
