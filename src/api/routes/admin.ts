// /v1/audit, /v1/audit/verify, /v1/cluster/nodes, /v1/stats, /v1/stats/runs: what operators look at.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { invalid } from '../../core/errors.js';
import { actorOf } from '../auth-hook.js';
import { AuditQuery, AuditVerifyQuery, AuditVerifyView, AuditView, DEFAULT_STATS_MINUTES, NodeView, RunStatsQuery, RunStatsView, StatsQuery, StatsView } from '../schemas/admin.js';
import { AUTH_PROBLEMS, Page, problems } from '../schemas/common.js';
import { auditVerifyView, auditView, nodeView, pageView, runStatsView, statsView } from '../views.js';
import { limitOf, parseRange, type RouteDeps } from './route-helpers.js';

/** Admin and operator read routes. */
export const adminRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { services }) => {
  const { admin } = services;

  app.get(
    '/audit',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Read the audit log',
        description: 'Every change made through the API, newest first. Filters: `actor` (`key:<id>`), `action` (`task.create`…), `target` (an id), `from`, `to`.',
        querystring: AuditQuery,
        response: { 200: Page(AuditView), ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await admin.audit({ actor: q.actor, action: q.action, target: q.target, ...parseRange(q), limit: limitOf(q), cursor: q.cursor });
      return pageView(page, auditView);
    },
  );

  app.get(
    '/audit/verify',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Verify the audit hash chain',
        description:
          'Walks the audit log in chain order (a page at a time) from its start or the signed checkpoint it was pruned to, and names ' +
          'the first row that was changed, deleted, inserted or rewritten, or a checkpoint whose signature fails (`ok: false`, ' +
          '`broken`); otherwise `ok: true` with the count and the head hash. Answers 200 either way. `seq` and `hash` (both or ' +
          'neither): a head written down earlier, which the row at that seq must still have.',
        querystring: AuditVerifyQuery,
        response: { 200: AuditVerifyView, ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request) => {
      const { seq, hash } = request.query;
      if ((seq === undefined) !== (hash === undefined)) throw invalid([{ path: seq === undefined ? '/seq' : '/hash', message: 'give seq and hash together' }]);
      return auditVerifyView(await admin.verifyAudit(seq === undefined || hash === undefined ? undefined : { seq, hash }));
    },
  );

  app.get(
    '/cluster/nodes',
    {
      // Hosts, process ids, versions and load of every node are the operator's business, not a
      // namespace's (DESIGN.md's admin row). /v1/stats stays open: it counts only the key's namespaces.
      config: { role: 'admin' },
      schema: {
        tags: ['cluster'],
        summary: 'Nodes of the cluster',
        description: 'Nodes with a recent heartbeat; on a single node, just this one.',
        response: { 200: Type.Object({ items: Type.Array(NodeView) }), ...problems(...AUTH_PROBLEMS) },
      },
    },
    async () => ({ items: (await admin.nodes()).map(nodeView) }),
  );

  app.get(
    '/stats',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['cluster'],
        summary: 'Run and task counts',
        description: 'Runs by status, the backlog (due but not started) and tasks by status, in the key’s namespaces.',
        querystring: StatsQuery,
        response: { 200: StatsView, ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request) => statsView(await admin.stats(actorOf(request), request.query.namespace)),
  );

  app.get(
    '/stats/runs',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['cluster'],
        summary: 'Runs per minute',
        description:
          'Runs by the minute of their `scheduledFor`, over the last `minutes` minutes (this one included, oldest first, every minute ' +
          'present): finished runs by status, runs started, and p50/p99 lateness (startedAt − scheduledFor) of the started ones, ' +
          'read off a histogram: the upper bound of the bucket holding the percentile, capped at the largest lateness in it.',
        querystring: RunStatsQuery,
        response: { 200: RunStatsView, ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request) => {
      const q = request.query;
      return runStatsView(await admin.runStats(actorOf(request), q.namespace, q.minutes ?? DEFAULT_STATS_MINUTES));
    },
  );
};
