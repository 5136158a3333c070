// The alert calls (/v1/alerts): firing alerts (all of them: there are few) and resolved ones by
// page. No event tells of alerts (the evaluator writes them on its own schedule), so the
// queries that show them are read again every ALERTS_REFRESH_MS, not while the tab is hidden.

import { queryOptions } from '@tanstack/react-query';
import { client, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type Alert = Json<paths['/v1/alerts']['get']['responses'][200]>['items'][number];
export type AlertStatus = Alert['status'];

/** The evaluator's default period (SUNDIAL_ALERT_INTERVAL): reading faster would show nothing new. */
export const ALERTS_REFRESH_MS = 15_000;

/** Alerts shown as firing at most; more than this many at once is a page of its own anyway. */
const FIRING_LIMIT = 100;

export const alertKeys = {
  firing: (namespace?: string) => ['alerts', 'firing', namespace ?? '*'] as const,
  resolved: (cursor: string | undefined) => ['alerts', 'resolved', cursor ?? null] as const,
};

/** One page of alerts with `status`, newest first. */
export async function listAlerts(status: AlertStatus, opts: { namespace?: string | undefined; cursor?: string | undefined; limit?: number } = {}) {
  const query = {
    status,
    limit: opts.limit ?? 50,
    ...(opts.namespace !== undefined && { namespace: opts.namespace }),
    ...(opts.cursor !== undefined && { cursor: opts.cursor }),
  };
  return unwrap(await client.GET('/v1/alerts', { params: { query } }));
}

/** The firing alerts (in `namespace`, or every namespace the key covers). */
export function firingAlertsQuery(namespace?: string) {
  return queryOptions({
    queryKey: alertKeys.firing(namespace),
    queryFn: async () => (await listAlerts('firing', { namespace, limit: FIRING_LIMIT })).items,
    refetchInterval: ALERTS_REFRESH_MS,
    refetchOnWindowFocus: true,
  });
}

export type AlertRule = Json<paths['/v1/alert-rules']['get']['responses'][200]>['items'][number];

/** One page of alert rules (every namespace the key covers). */
export async function listAlertRules(cursor: string | undefined, limit = 50) {
  return unwrap(await client.GET('/v1/alert-rules', { params: { query: { limit, ...(cursor !== undefined && { cursor }) } } }));
}

export type AlertRuleCreate = NonNullable<paths['/v1/alert-rules']['post']['requestBody']>['content']['application/json'];
export type AlertRulePatch = NonNullable<paths['/v1/alert-rules/{name}']['patch']['requestBody']>['content']['application/json'];
export type AlertKind = AlertRule['kind'];

/** Query keys of the rules, so a change refetches every page of them. */
export const alertRuleKeys = {
  all: ['alert-rules'] as const,
  list: (cursor: string | undefined) => ['alert-rules', 'list', cursor ?? null] as const,
};

export async function createAlertRule(body: AlertRuleCreate): Promise<AlertRule> {
  return unwrap(await client.POST('/v1/alert-rules', { body }));
}

export async function updateAlertRule(r: Pick<AlertRule, 'namespace' | 'name'>, body: AlertRulePatch): Promise<AlertRule> {
  return unwrap(await client.PATCH('/v1/alert-rules/{name}', { params: { path: { name: r.name }, query: { namespace: r.namespace } }, body }));
}

export async function deleteAlertRule(r: Pick<AlertRule, 'namespace' | 'name'>): Promise<AlertRule> {
  return unwrap(await client.DELETE('/v1/alert-rules/{name}', { params: { path: { name: r.name }, query: { namespace: r.namespace } } }));
}
