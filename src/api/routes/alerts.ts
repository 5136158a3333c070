// /v1/alert-rules and /v1/alerts. Reads need the viewer role, rule changes the operator role, as
// for channels; rules of kinds that watch the whole installation are admin-only (the service).

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth-hook.js';
import { alertRuleView, alertView } from '../alert-views.js';
import { AlertListQuery, AlertRuleCreateBody, AlertRuleListQuery, AlertRuleParams, AlertRulePatchBody, AlertRuleView, AlertView } from '../schemas/alert.js';
import { AUTH_PROBLEMS, NamespaceQuery, Page, problems } from '../schemas/common.js';
import { pageView } from '../views.js';
import { limitOf, type RouteDeps } from './route-helpers.js';

const tags = ['alerts'];

export const alertRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { services }) => {
  const { alerts } = services;
  const ref = (params: { name: string }, query: { namespace?: string | undefined }) => ({ name: params.name, namespace: query.namespace });

  app.post(
    '/alert-rules',
    {
      config: { role: 'operator', scope: 'alerts' },
      schema: {
        tags,
        summary: 'Create an alert rule',
        description: 'Checked whole before anything is stored: params per kind, `for`, and that every channel exists in the namespace.',
        body: AlertRuleCreateBody,
        response: { 201: AlertRuleView, ...problems(...AUTH_PROBLEMS, 409) },
      },
    },
    async (request, reply) => {
      const rule = await alerts.create(actorOf(request), request.body);
      return reply
        .code(201)
        .header('location', `/v1/alert-rules/${encodeURIComponent(rule.name)}?namespace=${encodeURIComponent(rule.namespace)}`)
        .send(alertRuleView(rule));
    },
  );

  app.get(
    '/alert-rules',
    {
      config: { role: 'viewer' },
      schema: { tags, summary: 'List alert rules', querystring: AlertRuleListQuery, response: { 200: Page(AlertRuleView), ...problems(...AUTH_PROBLEMS) } },
    },
    async (request) => {
      const q = request.query;
      return pageView(await alerts.list(actorOf(request), { namespace: q.namespace, limit: limitOf(q), cursor: q.cursor }), alertRuleView);
    },
  );

  app.get(
    '/alert-rules/:name',
    {
      config: { role: 'viewer' },
      schema: { tags, summary: 'Get an alert rule', params: AlertRuleParams, querystring: NamespaceQuery, response: { 200: AlertRuleView, ...problems(...AUTH_PROBLEMS, 404) } },
    },
    async (request) => alertRuleView(await alerts.get(actorOf(request), ref(request.params, request.query))),
  );

  app.patch(
    '/alert-rules/:name',
    {
      config: { role: 'operator', scope: 'alerts' },
      schema: {
        tags,
        summary: 'Change an alert rule',
        description: 'Absent fields stay; `params` is replaced whole; a new `kind` needs its own `params`. Its alerts keep their history.',
        params: AlertRuleParams,
        querystring: NamespaceQuery,
        body: AlertRulePatchBody,
        response: { 200: AlertRuleView, ...problems(...AUTH_PROBLEMS, 404, 409) },
      },
    },
    async (request) => alertRuleView(await alerts.update(actorOf(request), ref(request.params, request.query), request.body)),
  );

  app.delete(
    '/alert-rules/:name',
    {
      config: { role: 'operator', scope: 'alerts' },
      schema: {
        tags,
        summary: 'Delete an alert rule',
        description: 'Its firing alert, if any, is resolved (without a notification); past alerts stay listed.',
        params: AlertRuleParams,
        querystring: NamespaceQuery,
        response: { 200: AlertRuleView, ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => alertRuleView(await alerts.delete(actorOf(request), ref(request.params, request.query))),
  );

  app.get(
    '/alerts',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'List alerts, newest first',
        description: 'Each firing episode of a rule: `firing` since when, or `resolved` at `resolvedAt`, and why (the measured value).',
        querystring: AlertListQuery,
        response: { 200: Page(AlertView), ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await alerts.alerts(actorOf(request), { namespace: q.namespace, status: q.status, rule: q.rule, limit: limitOf(q), cursor: q.cursor });
      return pageView(page, alertView);
    },
  );
};
