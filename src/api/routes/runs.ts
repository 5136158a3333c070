// /v1/runs: monitor runs, read their logs, move or cancel pending ones.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { validateInstant } from '../../core/schedule.js';
import { ErrorCollector } from '../../services/validation.js';
import { actorOf } from '../auth-hook.js';
import { AUTH_PROBLEMS, IdParams, Page, problems } from '../schemas/common.js';
import { LogsQuery, RescheduleBody, RunListQuery, RunView } from '../schemas/run.js';
import { logLineView, pageView, runView } from '../views.js';
import { limitOf, notYet, parseRange, parseStatuses, type RouteDeps } from './route-helpers.js';

const tags = ['runs'];

/** Run routes. */
export const runRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { services }) => {
  const { runs } = services;

  app.get(
    '/runs',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'List runs (monitor)',
        description: '`task` is a task id or name; `status` a comma-separated list; `from`/`to` bound `scheduledFor` (from inclusive, to exclusive).',
        querystring: RunListQuery,
        response: { 200: Page(RunView), ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      const check = new ErrorCollector();
      const status = check.run(() => parseStatuses(q.status));
      const range = parseRange(q, check);
      const page = await runs.list(actorOf(request), { task: q.task, namespace: q.namespace, status, ...range, limit: limitOf(q), cursor: q.cursor });
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
        description: 'JSON lines (`application/x-ndjson`), one `{ at, level, message }` per line. `?follow=1` (live server-sent events) answers 501 for now.',
        params: IdParams,
        querystring: LogsQuery,
        response: {
          200: { description: 'One JSON object per line.', content: { 'application/x-ndjson': { schema: Type.String() } } },
          ...problems(...AUTH_PROBLEMS, 404, 501),
        },
      },
    },
    async (request, reply) => {
      const follow = request.query.follow;
      if (follow === true || follow === '1') throw notYet('following a log live (?follow=1)');
      const lines = await runs.logs(actorOf(request), request.params.id);
      const body = lines.map((l) => JSON.stringify(logLineView(l))).join('\n');
      return reply.type('application/x-ndjson; charset=utf-8').send(body === '' ? '' : `${body}\n`);
    },
  );

  app.post(
    '/runs/:id/reschedule',
    {
      config: { role: 'operator' },
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
      config: { role: 'operator' },
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
