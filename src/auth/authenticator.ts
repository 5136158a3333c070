// Turns a bearer token into an Actor, or says why not. At thousands of requests per second a
// store read per request would be the API's bottleneck, so lookups are cached in memory by the
// token's hash: hits for `ttlMs` (a revocation clears the cache at once on this node, and on the
// others through the cluster signal; `ttlMs` is 1 s in a cluster, bounding a lost signal), misses
// for a shorter time so a client retrying a bad key cannot hammer the store. Concurrent lookups of
// one uncached key share one store read. Tokens with a key's shape but a wrong checksum (and
// tokens too short to be any key) are refused before any of this (core/api-key-token.ts).
//
// Expiry is checked against the clock on every request, not cached: a key stops at its
// `expiresAt` on every node, with no signal needed.
//
// Uses are recorded off the request path (never awaited), at most once per `touchEveryMs` per key
// on this node, and at once when the key comes from an address this node has not seen it use:
// the store remembers a few addresses per key and writes `api_key.new_address` for one it lacks.

import type { Clock } from '../core/clock.js';
import { tokenShape } from '../core/api-key-token.js';
import type { Actor, Millis } from '../core/types.js';
import type { NewAudit, Store, StoredApiKey } from '../store/store.js';
import { displayPrefix, hashApiKey, sameHash } from './api-key-secret.js';

export interface AuthenticatorOptions {
  store: Store;
  clock: Clock;
  /** How long a found key is trusted without asking the store again. */
  ttlMs?: number;
  /** How long an unknown token is remembered as unknown. */
  missTtlMs?: number;
  /** Most cached tokens; the cache is emptied when full (bounds memory against random tokens). */
  maxEntries?: number;
  /** How often a key's `lastUsedAt` is written at most (per node). */
  touchEveryMs?: number;
}

/** Why a token was refused. */
export type AuthFailure = 'malformed' | 'unknown' | 'revoked' | 'expired';

/** The outcome of authenticating one token. */
export type AuthResult = { ok: true; actor: Actor; key: StoredApiKey } | { ok: false; reason: AuthFailure };

interface Entry {
  key: Promise<StoredApiKey | null>;
  expiresAt: Millis;
}

/** What this node last recorded of a key's use. */
interface Use {
  at: Millis;
  addresses: Set<string>;
}

/** Addresses per key this node remembers having recorded (a bound against address-hopping clients). */
const MAX_NODE_ADDRESSES = 32;

/** Authenticates API keys with a short in-memory cache. */
export class ApiKeyAuthenticator {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #missTtlMs: number;
  readonly #maxEntries: number;
  readonly #touchEveryMs: number;
  readonly #cache = new Map<string, Entry>();
  readonly #uses = new Map<string, Use>();
  /** Store reads made (for tests: a malformed token makes none). */
  lookups = 0;

  constructor(opts: AuthenticatorOptions) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#ttlMs = opts.ttlMs ?? 10_000;
    this.#missTtlMs = opts.missTtlMs ?? 2_000;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#touchEveryMs = opts.touchEveryMs ?? 60_000;
  }

  /** The actor for `token`, or why it is refused. */
  async authenticate(token: string, ip?: string): Promise<AuthResult> {
    if (tokenShape(token) === 'malformed') return { ok: false, reason: 'malformed' };
    const hash = hashApiKey(token);
    const key = await this.#lookup(hash);
    if (key === null) return { ok: false, reason: 'unknown' };
    if (key.revokedAt !== null) return { ok: false, reason: 'revoked' };
    const now = this.#clock.now();
    if (key.expiresAt !== null && key.expiresAt <= now) return { ok: false, reason: 'expired' };
    this.#recordUse(key, now, ip);
    const actor: Actor = {
      id: `key:${key.id}`,
      role: key.role,
      namespaces: key.namespaces,
      ...(ip === undefined ? {} : { ip }),
      ...(key.scopes !== null && { scopes: key.scopes }),
    };
    return { ok: true, actor, key };
  }

  /** Forgets every cached key (after a revocation, here or on another node). */
  invalidate(): void {
    this.#cache.clear();
  }

  #lookup(hash: string): Promise<StoredApiKey | null> {
    const now = this.#clock.now();
    const hit = this.#cache.get(hash);
    if (hit && hit.expiresAt > now) return hit.key;
    if (this.#cache.size >= this.#maxEntries) this.#cache.clear();
    const entry: Entry = { key: this.#read(hash), expiresAt: now + this.#ttlMs };
    this.#cache.set(hash, entry);
    entry.key.then(
      (key) => {
        if (key === null) entry.expiresAt = this.#clock.now() + this.#missTtlMs;
      },
      () => this.#cache.delete(hash),
    );
    return entry.key;
  }

  async #read(hash: string): Promise<StoredApiKey | null> {
    this.lookups++;
    const key = await this.#store.findApiKeyByHash(hash);
    // The store found the row by this hash; comparing again in constant time costs nothing and
    // keeps a store that matched loosely (prefix, collation) from letting a wrong key in.
    return key !== null && sameHash(key.hash, hash) ? key : null;
  }

  #recordUse(key: StoredApiKey, now: Millis, ip: string | undefined): void {
    let use = this.#uses.get(key.id);
    const newHere = ip !== undefined && !(use?.addresses.has(ip) ?? false) && !key.addresses.includes(ip);
    if (use !== undefined && now - use.at < this.#touchEveryMs && !newHere) return;
    if (use === undefined) {
      if (this.#uses.size >= this.#maxEntries) this.#uses.clear();
      use = { at: now, addresses: new Set() };
      this.#uses.set(key.id, use);
    }
    use.at = now;
    if (ip !== undefined) {
      if (use.addresses.size >= MAX_NODE_ADDRESSES) use.addresses.clear();
      use.addresses.add(ip);
    }
    const audit: NewAudit | null = newHere
      ? {
          // Keys belong to no namespace: their rows are global, as api_key.create's are.
          namespace: '*',
          at: now,
          actor: `key:${key.id}`,
          ip: ip ?? null,
          action: 'api_key.new_address',
          targetType: 'api_key',
          targetId: key.id,
          detail: { ip, prefix: key.prefix, name: key.name },
        }
      : null;
    // Best effort: a lost use must never fail or slow a request.
    this.#store.recordApiKeyUse({ id: key.id, at: now, ip: ip ?? null, newAddressAudit: audit }).catch(() => undefined);
  }
}

/** The prefix an audit row may name for a refused token: a generated key's first characters, else nothing. */
export function auditPrefix(token: string): string | null {
  const prefix = displayPrefix(token);
  return prefix === '' ? null : prefix;
}
