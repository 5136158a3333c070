// /v1/tasks: create, list, read, change, delete, schedule, trigger, pause and resume tasks.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { invalid } from '../../core/errors.js';
import { validateInstant } from '../../core/schedule/instant.js';
import { actorOf } from '../auth-hook.js';
import { AUTH_PROBLEMS, NamespaceQuery, Page, problems, TaskRefParams } from '../schemas/common.js';
import { RunCreateBody, RunView } from '../schemas/run.js';
import { TaskCreateBody, TaskListQuery, TaskPatchBody, TaskScheduleBody, TaskView } from '../schemas/task.js';
import { pageView, runView, taskView } from '../views.js';
import { etagOf, limitOf, parseIfMatch, type RouteDeps } from './route-helpers.js';

const tags = ['tasks'];

/** Task routes. */
export const taskRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { services }) => {
  const { tasks, runs } = services;
  const ref = (params: { idOrName: string }, query: { namespace?: string | undefined }) => ({ idOrName: params.idOrName, namespace: query.namespace });

  app.post(
    '/tasks',
    {
      config: { role: 'operator', scope: 'tasks' },
      schema: {
        tags,
        summary: 'Create a task (createTask)',
        description: 'Creates the task and its first pending run in one transaction. `shell` tasks need `SUNDIAL_SHELL_TASKS=on` and an admin key.',
        body: TaskCreateBody,
        response: { 201: TaskView, ...problems(...AUTH_PROBLEMS, 409, 413) },
      },
    },
    async (request, reply) => {
      const task = await tasks.create(actorOf(request), request.body);
      return reply.code(201).header('etag', etagOf(task)).header('location', `/v1/tasks/${task.id}`).send(taskView(task, actorOf(request).role));
    },
  );

  app.get(
    '/tasks',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'List tasks (listTasks)',
        description:
          'Filters: `namespace`, `status`, `kind`, `schedule` (type, or `none`), `q`. `sort` orders the page (default `createdAt`); ' +
          '`recentRuns=N` adds each task\'s last N finished runs, for a sparkline of outcomes.',
        querystring: TaskListQuery,
        response: { 200: Page(TaskView), ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await tasks.list(actorOf(request), {
        namespace: q.namespace,
        status: q.status,
        kind: q.kind,
        q: q.q,
        schedule: q.schedule,
        sort: q.sort,
        recentRuns: q.recentRuns,
        limit: limitOf(q),
        cursor: q.cursor,
      });
      const role = actorOf(request).role;
      return pageView(page, (t) => taskView(t, role));
    },
  );

  app.get(
    '/tasks/:idOrName',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'Get a task',
        description: 'A UUID is a task id; anything else a name in `?namespace=` or the key’s own namespace. The ETag is the task’s version.',
        params: TaskRefParams,
        querystring: NamespaceQuery,
        response: { 200: TaskView, ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request, reply) => {
      const task = await tasks.get(actorOf(request), ref(request.params, request.query));
      return reply.header('etag', etagOf(task)).send(taskView(task, actorOf(request).role));
    },
  );

  app.patch(
    '/tasks/:idOrName',
    {
      config: { role: 'operator', scope: 'tasks' },
      schema: {
        tags,
        summary: 'Change a task (updateTask)',
        description: 'Absent fields stay as they are. With `If-Match: "<version>"` the change applies only to that version (else 412).',
        params: TaskRefParams,
        querystring: NamespaceQuery,
        body: TaskPatchBody,
        response: { 200: TaskView, ...problems(...AUTH_PROBLEMS, 404, 409, 412, 413) },
      },
    },
    async (request, reply) => {
      const expected = parseIfMatch(request.headers['if-match']);
      const task = await tasks.update(actorOf(request), ref(request.params, request.query), request.body, expected);
      return reply.header('etag', etagOf(task)).send(taskView(task, actorOf(request).role));
    },
  );

  app.delete(
    '/tasks/:idOrName',
    {
      config: { role: 'operator', scope: 'tasks' },
      schema: {
        tags,
        summary: 'Delete a task (deleteTask)',
        description: 'Runs that have not started become `cancelled` (reason `deleted`); running ones are stopped.',
        params: TaskRefParams,
        querystring: NamespaceQuery,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request, reply) => {
      await tasks.delete(actorOf(request), ref(request.params, request.query));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/tasks/:idOrName/schedule',
    {
      config: { role: 'operator', scope: 'tasks' },
      schema: {
        tags,
        summary: 'Schedule a task (scheduleTask)',
        description: '`{ at }` adds one run at that time (trigger `api`) and answers the run; `{ schedule }` sets the recurrence, replaces the pending occurrence and answers the task (`null` removes it).',
        params: TaskRefParams,
        querystring: NamespaceQuery,
        body: TaskScheduleBody,
        response: { 201: Type.Union([RunView, TaskView]), ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const body = request.body;
      if ((body.at === undefined) === (body.schedule === undefined)) {
        throw invalid([{ path: '', message: 'give either "at" (one run) or "schedule" (a recurrence), not both or neither' }]);
      }
      if (body.at !== undefined) {
        const run = await runs.scheduleOnce(actor, ref(request.params, request.query), validateInstant(body.at, '/at'));
        return reply.code(201).header('location', `/v1/runs/${run.id}`).send(runView(run));
      }
      const task = await tasks.setSchedule(actor, ref(request.params, request.query), body.schedule);
      return reply.code(201).header('etag', etagOf(task)).send(taskView(task, actorOf(request).role));
    },
  );

  app.post(
    '/tasks/:idOrName/runs',
    {
      config: { role: 'operator', scope: 'tasks' },
      schema: {
        tags,
        summary: 'Run a task now (executeTask)',
        description: 'Queues a run due now (trigger `manual`). Repeating an `idempotencyKey` answers 200 with the first run; the same key with a different payload is 409 `idempotency_conflict`.',
        params: TaskRefParams,
        querystring: NamespaceQuery,
        body: Type.Optional(RunCreateBody),
        response: { 200: RunView, 201: RunView, ...problems(...AUTH_PROBLEMS, 404, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const { run, created } = await runs.trigger(actorOf(request), ref(request.params, request.query), body);
      return reply.code(created ? 201 : 200).header('location', `/v1/runs/${run.id}`).send(runView(run));
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/tasks/:idOrName/${action}`,
      {
        config: { role: 'operator', scope: 'tasks' },
        schema: {
          tags,
          summary: action === 'pause' ? 'Pause a task' : 'Resume a task',
          description:
            action === 'pause'
              ? 'Cancels the pending schedule occurrence (reason `paused`); no run of the task starts until it is resumed.'
              : 'Plans the next occurrence from now.',
          params: TaskRefParams,
          querystring: NamespaceQuery,
          response: { 200: TaskView, ...problems(...AUTH_PROBLEMS, 404) },
        },
      },
      async (request, reply) => {
        const task = await tasks[action](actorOf(request), ref(request.params, request.query));
        return reply.header('etag', etagOf(task)).send(taskView(task, actorOf(request).role));
      },
    );
  }
};
