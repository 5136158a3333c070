// The administration API calls: the audit log, API keys and the cluster's nodes (admin pages).

import { queryOptions } from '@tanstack/react-query';
import { client, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';

/** Filters of GET /v1/audit, as the URL holds them ('' for none). */
export interface AuditFilters {
  action: string;
  actor: string;
  from: string;
  to: string;
}

/** The actions the audit log records (docs/api.md "Audit log"). */
export const AUDIT_ACTIONS = [
  'task.create',
  'task.update',
  'task.delete',
  'task.pause',
  'task.resume',
  'task.schedule',
  'run.create',
  'run.reschedule',
  'run.cancel',
  'api_key.create',
  'api_key.rotate',
  'api_key.revoke',
  'api_key.new_address',
  'auth.failed',
  'secret.create',
  'secret.update',
  'secret.delete',
  'node.start',
] as const;

/** One page of audit entries, newest first. */
export async function listAudit(f: AuditFilters, cursor: string | undefined, limit = 50) {
  const query = {
    limit,
    ...(cursor !== undefined ? { cursor } : {}),
    ...(f.action ? { action: f.action } : {}),
    ...(f.actor ? { actor: f.actor } : {}),
    ...(f.from ? { from: f.from } : {}),
    ...(f.to ? { to: f.to } : {}),
  };
  return unwrap(await client.GET('/v1/audit', { params: { query } }));
}
export type AuditEntry = Awaited<ReturnType<typeof listAudit>>['items'][number];

/** One page of API keys (never their secrets). */
export async function listApiKeys(cursor: string | undefined, limit = 50) {
  return unwrap(await client.GET('/v1/api-keys', { params: { query: { limit, ...(cursor !== undefined ? { cursor } : {}) } } }));
}
export type ApiKey = Awaited<ReturnType<typeof listApiKeys>>['items'][number];
export type ApiKeyCreate = NonNullable<paths['/v1/api-keys']['post']['requestBody']>['content']['application/json'];
export type ApiKeyRole = ApiKey['role'];

/** Creates a key; the answer is the only place its secret appears. */
export async function createApiKey(body: ApiKeyCreate) {
  return unwrap(await client.POST('/v1/api-keys', { body }));
}
export type CreatedApiKey = Awaited<ReturnType<typeof createApiKey>>;

/** Revokes a key for good. */
export async function revokeApiKey(id: string) {
  return unwrap(await client.DELETE('/v1/api-keys/{id}', { params: { path: { id } } }));
}

/** The cluster's nodes: this one and every other seen in the last hour, by id. */
export async function listNodes() {
  return unwrap(await client.GET('/v1/cluster/nodes'));
}
export type ClusterNode = Awaited<ReturnType<typeof listNodes>>['items'][number];
export type NodeStatus = ClusterNode['status'];
export type NodeCounts = Record<NodeStatus, number>;

/**
 * How often the nodes are read again while on screen. No event tells of them (nodes heartbeat
 * every third of the lease: 5 s by default), so this is the one list that is polled; not while
 * the tab is hidden (TanStack Query skips the interval then), at once when it shows again.
 */
export const NODES_REFRESH_MS = 5_000;

/** The nodes query of the Nodes page. */
export function nodesQuery() {
  return queryOptions({
    queryKey: ['nodes'],
    queryFn: listNodes,
    refetchInterval: NODES_REFRESH_MS,
    refetchOnWindowFocus: true,
  });
}

/** How many nodes are up, suspect and down. */
export function countNodes(nodes: ClusterNode[]): NodeCounts {
  const counts: NodeCounts = { up: 0, suspect: 0, down: 0 };
  for (const n of nodes) counts[n.status]++;
  return counts;
}

/** "3 up · 1 down": the up count, then the others that are not zero. */
export function nodeSummary(c: NodeCounts): string {
  return [`${c.up} up`, ...(c.suspect > 0 ? [`${c.suspect} suspect`] : []), ...(c.down > 0 ? [`${c.down} down`] : [])].join(' · ');
}
