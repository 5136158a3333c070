// API keys: minted with a secret shown once, listed without secrets, rotated with a grace
// period, revoked for good. A key may expire (`expiresAt`) and carry scopes that narrow its role
// (auth/scopes.ts); rotation hands out a successor with the same role, namespaces and scopes.

import { invalid, SundialError, type FieldError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { newId } from '../core/ids.js';
import { validateInstant } from '../core/schedule/instant.js';
import type { Actor, ApiKey, Millis, Role } from '../core/types.js';
import type { NewApiKey, Page } from '../store/store.js';
import { displayPrefix, generateApiKeySecret, hashApiKey } from '../auth/api-key-secret.js';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { scopeErrors } from '../auth/scopes.js';
import { auditOf, GLOBAL_NAMESPACE } from './audit.js';
import type { ServiceDeps } from './deps.js';

/** Longest lifetime a key may be given (a key meant to live longer should not expire: leave it out). */
const MAX_LIFETIME_MS = 5 * 365 * 86_400_000;
/** Longest grace period of a rotation. */
const MAX_GRACE_MS = 30 * 86_400_000;
/** The grace period of a rotation that names none. */
export const DEFAULT_GRACE_MS = 86_400_000;

/** When a key expires: in `expiresIn` (a duration), at `expiresAt` (an instant), or never. */
export interface KeyExpiryInput {
  expiresIn?: string | undefined;
  expiresAt?: string | undefined;
}

/** A key to mint. */
export interface ApiKeyInput extends KeyExpiryInput {
  name: string;
  role: Role;
  /** Namespaces the key covers (`*`: all); default `["default"]`. Admin keys cover all. */
  namespaces?: string[] | undefined;
  /** Scopes that narrow the role (auth/scopes.ts); absent: none. */
  scopes?: string[] | undefined;
}

/** A rotation's options. */
export interface RotateInput extends KeyExpiryInput {
  /** How long the old key keeps working (default 24h; "0s": it stops now). */
  gracePeriod?: string | undefined;
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
    const errors: FieldError[] = [];
    const namespaces = input.role === 'admin' ? adminNamespaces(input.namespaces) : [...new Set(input.namespaces ?? ['default'])];
    if (namespaces.length === 0) errors.push({ path: '/namespaces', message: 'must name at least one namespace (or "*")' });
    if (input.scopes !== undefined) errors.push(...scopeErrors(input.scopes));
    const now = this.#d.clock.now();
    const expiresAt = expiryOf(input, now, errors);
    if (errors.length > 0) throw invalid(errors);
    const secret = generateApiKeySecret();
    const id = newId(now);
    const scopes = input.scopes ?? null;
    const audit = auditOf(actor, now, 'api_key.create', { type: 'api_key', id, namespace: GLOBAL_NAMESPACE }, {
      name: input.name,
      role: input.role,
      namespaces,
      ...(expiresAt !== null && { expiresAt: new Date(expiresAt).toISOString() }),
      ...(scopes !== null && { scopes }),
    });
    const key = await this.#d.store.createApiKey(
      { id, name: input.name, role: input.role, namespaces, prefix: displayPrefix(secret), createdAt: now, createdBy: actor.id, lastUsedAt: null, revokedAt: null, hash: hashApiKey(secret), expiresAt, scopes },
      audit,
    );
    return { key, secret };
  }

  /**
   * Replaces a key: a successor with the same name, role, namespaces and scopes (and, unless
   * told otherwise, the same lifetime from now), while the old key keeps working for the grace
   * period and then counts as expired. Refused for revoked, expired and already rotated keys.
   */
  async rotate(actor: Actor, id: string, input: RotateInput): Promise<{ old: ApiKey; key: ApiKey; secret: string }> {
    const errors: FieldError[] = [];
    const now = this.#d.clock.now();
    let graceMs = DEFAULT_GRACE_MS;
    if (input.gracePeriod !== undefined) {
      const parsed = parseDuration(input.gracePeriod);
      if (parsed === null || parsed > MAX_GRACE_MS) errors.push({ path: '/gracePeriod', message: 'must be a duration from 0s to 30d, e.g. "24h"' });
      else graceMs = parsed;
    }
    let expiresAt = expiryOf(input, now, errors);
    if (errors.length > 0) throw invalid(errors);
    const old = (await this.#d.store.listApiKeys()).find((k) => k.id === id);
    if (old === undefined) throw new SundialError('api_key_not_found', `No API key with id ${id}`);
    // Without an expiry of its own, the successor lives as long as the old key was meant to.
    if (input.expiresIn === undefined && input.expiresAt === undefined && old.expiresAt !== null) {
      expiresAt = now + Math.max(0, old.expiresAt - old.createdAt);
    }
    const secret = generateApiKeySecret();
    const successor: NewApiKey = {
      id: newId(now),
      name: old.name,
      role: old.role,
      namespaces: old.namespaces,
      prefix: displayPrefix(secret),
      createdAt: now,
      createdBy: actor.id,
      lastUsedAt: null,
      revokedAt: null,
      hash: hashApiKey(secret),
      expiresAt,
      scopes: old.scopes,
    };
    const oldExpiresAt = now + graceMs;
    const audit = auditOf(actor, now, 'api_key.rotate', { type: 'api_key', id, namespace: GLOBAL_NAMESPACE }, {
      successor: successor.id,
      oldExpiresAt: new Date(Math.min(oldExpiresAt, old.expiresAt ?? Infinity)).toISOString(),
    });
    const rotated = await this.#d.store.rotateApiKey({ oldId: id, successor, oldExpiresAt, now, audit });
    // With no grace the old key stops now, as if revoked: this node's cache forgets it, the other
    // nodes' caches too (the revocation signal), and its open streams end everywhere.
    if (graceMs === 0) {
      this.#auth.invalidate();
      this.#d.bus.emit('api-key:revoked', { id, at: now });
    }
    return { ...rotated, secret };
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

/** The expiry an input asks for (null: never); adds field errors for bad or contradictory ones. */
function expiryOf(input: KeyExpiryInput, now: Millis, errors: FieldError[]): Millis | null {
  if (input.expiresIn !== undefined && input.expiresAt !== undefined) {
    errors.push({ path: '/expiresAt', message: 'give expiresIn or expiresAt, not both' });
    return null;
  }
  if (input.expiresIn !== undefined) {
    const ms = parseDuration(input.expiresIn);
    if (ms === null || ms <= 0 || ms > MAX_LIFETIME_MS) {
      errors.push({ path: '/expiresIn', message: 'must be a duration from 1s to 5 years (1825d), e.g. "30d"' });
      return null;
    }
    return now + ms;
  }
  if (input.expiresAt !== undefined) {
    let at: Millis;
    try {
      at = validateInstant(input.expiresAt, '/expiresAt');
    } catch (err) {
      if (err instanceof SundialError && err.errors !== undefined) errors.push(...err.errors);
      return null;
    }
    if (at <= now) errors.push({ path: '/expiresAt', message: 'must be in the future' });
    else if (at - now > MAX_LIFETIME_MS) errors.push({ path: '/expiresAt', message: 'must be within 5 years' });
    return at;
  }
  return null;
}
