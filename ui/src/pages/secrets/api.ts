// The secret calls (docs/api.md#secrets): list, set (create or new version), delete. No call can
// read a value back: the API has none to give.

import { client, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type Secret = Json<paths['/v1/secrets/{name}']['get']['responses'][200]>;

/** What a secret's name may be (as the server checks it). */
export const SECRET_NAME_PATTERN = '[A-Za-z_][A-Za-z0-9_]{0,127}';

export const secretKeys = {
  all: ['secrets'] as const,
  list: (cursor: string | undefined) => ['secrets', 'list', cursor ?? null] as const,
};

/** One page of the secrets of every namespace the key covers. */
export async function listSecrets(cursor: string | undefined, limit = 100) {
  const query = { limit, ...(cursor !== undefined && { cursor }) };
  return unwrap(await client.GET('/v1/secrets', { params: { query } }));
}

/** Creates the secret or gives it a new value; the answer is its metadata (never the value). */
export async function putSecret(namespace: string, name: string, value: string): Promise<Secret> {
  return unwrap(await client.PUT('/v1/secrets/{name}', { params: { path: { name } }, body: { value, namespace } }));
}

export async function deleteSecret(s: Pick<Secret, 'namespace' | 'name'>): Promise<void> {
  unwrap(await client.DELETE('/v1/secrets/{name}', { params: { path: { name: s.name }, query: { namespace: s.namespace } } }));
}
