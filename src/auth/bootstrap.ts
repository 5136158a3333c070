// The first admin key. Without one nobody could create keys, so a first start either adopts
// SUNDIAL_ADMIN_TOKEN or generates a key and hands its secret back to be printed once.

import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Store } from '../store/store.js';
import { displayPrefix, generateApiKeySecret, hashApiKey } from './api-key-secret.js';

/**
 * Makes sure an admin can log in. With `adminToken` set, its hash is stored as the admin key
 * `bootstrap` (inserted if missing). Unset and no keys at all: generates one and returns its
 * secret for the caller to print once. Otherwise returns null.
 */
export async function ensureBootstrapAdmin(store: Store, adminToken: string, clock: Clock): Promise<string | null> {
  if (adminToken !== '') {
    const hash = hashApiKey(adminToken);
    if ((await store.findApiKeyByHash(hash)) !== null) return null;
    try {
      await insertAdmin(store, clock, adminToken, hash);
    } catch (err) {
      // Nodes of a cluster starting together race to insert the same key; one insert wins.
      if ((await store.findApiKeyByHash(hash)) === null) throw err;
    }
    return null;
  }
  if ((await store.countApiKeys()) > 0) return null;
  const secret = generateApiKeySecret();
  await insertAdmin(store, clock, secret, hashApiKey(secret));
  return secret;
}

async function insertAdmin(store: Store, clock: Clock, secret: string, hash: string): Promise<void> {
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
}
