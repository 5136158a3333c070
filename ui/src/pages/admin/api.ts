// The administration API calls: the audit log and API keys (admin keys only).

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
  'api_key.revoke',
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
