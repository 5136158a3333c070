// API keys: minted with a secret shown once, listed without secrets, revoked for good.

import { invalid, SundialError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Actor, ApiKey, Role } from '../core/types.js';
import type { Page } from '../store/store.js';
import { displayPrefix, generateApiKeySecret, hashApiKey } from '../auth/api-key-secret.js';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { auditOf, GLOBAL_NAMESPACE } from './audit.js';
import type { ServiceDeps } from './deps.js';

/** A key to mint. */
export interface ApiKeyInput {
  name: string;
  role: Role;
  /** Namespaces the key covers (`*`: all); default `["default"]`. Admin keys cover all. */
  namespaces?: string[] | undefined;
}

/** API key operations (admin only; the routes check the role). */
export class ApiKeyService {
  readonly #d: ServiceDeps;
  readonly #auth: ApiKeyAuthenticator;

  constructor(deps: ServiceDeps, authenticator: ApiKeyAuthenticator) {
    this.#d = deps;
    this.#auth = authenticator;
  }

  /** Mints a key; the returned secret exists nowhere else afterwards. */
  async create(actor: Actor, input: ApiKeyInput): Promise<{ key: ApiKey; secret: string }> {
    const namespaces = input.role === 'admin' ? adminNamespaces(input.namespaces) : [...new Set(input.namespaces ?? ['default'])];
    if (namespaces.length === 0) throw invalid([{ path: '/namespaces', message: 'must name at least one namespace (or "*")' }]);
    const now = this.#d.clock.now();
    const secret = generateApiKeySecret();
    const id = newId(now);
    const audit = auditOf(actor, now, 'api_key.create', { type: 'api_key', id, namespace: GLOBAL_NAMESPACE }, { name: input.name, role: input.role, namespaces });
    const key = await this.#d.store.createApiKey(
      { id, name: input.name, role: input.role, namespaces, prefix: displayPrefix(secret), createdAt: now, createdBy: actor.id, lastUsedAt: null, revokedAt: null, hash: hashApiKey(secret) },
      audit,
    );
    return { key, secret };
  }

  /**
   * A page of keys, oldest first. Keys are few (people make them by hand), so the store lists
   * them all and the page is cut here; the cursor is the last id shown.
   */
  async list(limit: number, cursor?: string): Promise<Page<ApiKey>> {
    let after = '';
    if (cursor !== undefined) {
      after = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!/^[0-9a-f-]{36}$/.test(after)) throw new SundialError('invalid_cursor', 'the cursor was not made by this listing');
    }
    const all = (await this.#d.store.listApiKeys()).filter((k) => k.id > after).sort((a, b) => (a.id < b.id ? -1 : 1));
    const items = all.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: all.length > limit && last ? Buffer.from(last.id).toString('base64url') : null };
  }

  /**
   * Revokes a key; this node stops accepting it at once, the others when the revocation reaches
   * them (a signal in a cluster) or their auth cache expires (1 s in a cluster).
   */
  async revoke(actor: Actor, id: string): Promise<ApiKey> {
    const now = this.#d.clock.now();
    const audit = auditOf(actor, now, 'api_key.revoke', { type: 'api_key', id, namespace: GLOBAL_NAMESPACE });
    const key = await this.#d.store.revokeApiKey(id, now, audit);
    this.#auth.invalidate();
    this.#d.bus.emit('api-key:revoked', { id, at: now });
    return key;
  }
}

function adminNamespaces(requested: string[] | undefined): string[] {
  if (requested !== undefined && !(requested.length === 1 && requested[0] === '*')) {
    throw invalid([{ path: '/namespaces', message: 'admin keys cover every namespace; leave namespaces out or give ["*"]' }]);
  }
  return ['*'];
}
