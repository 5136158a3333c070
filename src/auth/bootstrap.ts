// The first admin key. Without one nobody could create keys, so a first start either adopts
// SUNDIAL_ADMIN_TOKEN or generates a key and hands its secret back to be printed once.

import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Store } from '../store/store.js';
import { displayPrefix, generateApiKeySecret, hashApiKey } from './api-key-secret.js';

/**
 * Makes sure an admin can log in. With `adminToken` set, its hash is stored as the admin key
 * `bootstrap` (inserted if missing); a new token revokes the bootstrap keys of earlier tokens, so
 * changing SUNDIAL_ADMIN_TOKEN (after a leak, say) retires the old one. A token whose key was
 * revoked stays revoked: it is not inserted again. Unset and no keys at all: generates one and
 * returns its secret for the caller to print once. Otherwise returns null.
 */
export async function ensureBootstrapAdmin(store: Store, adminToken: string, clock: Clock): Promise<string | null> {
  if (adminToken !== '') {
    const hash = hashApiKey(adminToken);
    if ((await store.findApiKeyByHash(hash)) !== null) return null;
    let id: string;
    try {
      id = await insertAdmin(store, clock, adminToken, hash);
    } catch (err) {
      // Nodes of a cluster starting together race to insert the same key; one insert wins (and
      // revokes the old ones).
      if ((await store.findApiKeyByHash(hash)) === null) throw err;
      return null;
    }
    await revokeEarlierBootstrapKeys(store, clock, id);
    return null;
  }
  if ((await store.countApiKeys()) > 0) return null;
  const secret = generateApiKeySecret();
  await insertAdmin(store, clock, secret, hashApiKey(secret));
  return secret;
}

/** Revokes every live `bootstrap` key the system created, except `keep`. */
async function revokeEarlierBootstrapKeys(store: Store, clock: Clock, keep: string): Promise<void> {
  for (const key of await store.listApiKeys()) {
    if (key.id === keep || key.name !== 'bootstrap' || key.createdBy !== 'system' || key.revokedAt !== null) continue;
    const now = clock.now();
    await store.revokeApiKey(key.id, now, {
      namespace: '*',
      at: now,
      actor: 'system',
      ip: null,
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: key.id,
      detail: { reason: 'SUNDIAL_ADMIN_TOKEN changed' },
    });
  }
}

async function insertAdmin(store: Store, clock: Clock, secret: string, hash: string): Promise<string> {
  const now = clock.now();
  const id = newId(now);
  await store.createApiKey(
    {
      id,
      name: 'bootstrap',
      role: 'admin',
      namespaces: ['*'],
      prefix: displayPrefix(secret),
      createdAt: now,
      createdBy: 'system',
      lastUsedAt: null,
      revokedAt: null,
      hash,
    },
    { namespace: '*', at: now, actor: 'system', ip: null, action: 'api_key.create', targetType: 'api_key', targetId: id, detail: { name: 'bootstrap', role: 'admin' } },
  );
  return id;
}
