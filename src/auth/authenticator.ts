// Turns a bearer token into an Actor. At thousands of requests per second a store read per
// request would be the API's bottleneck, so lookups are cached in memory by the token's hash:
// hits for `ttlMs` (revocation clears the cache at once on this node; other nodes notice within
// the TTL), misses for a shorter time so a client retrying a bad key cannot hammer the store.
// Concurrent lookups of one uncached key share one store read.

import type { Clock } from '../core/clock.js';
import type { Actor, Millis } from '../core/types.js';
import type { Store, StoredApiKey } from '../store/store.js';
import { hashApiKey, sameHash } from './api-key-secret.js';

export interface AuthenticatorOptions {
  store: Store;
  clock: Clock;
  /** How long a found key is trusted without asking the store again. */
  ttlMs?: number;
  /** How long an unknown token is remembered as unknown. */
  missTtlMs?: number;
  /** Most cached tokens; the cache is emptied when full (bounds memory against random tokens). */
  maxEntries?: number;
  /** How often a key's `lastUsedAt` is written at most. */
  touchEveryMs?: number;
}

interface Entry {
  key: Promise<StoredApiKey | null>;
  expiresAt: Millis;
}

/** Authenticates API keys with a short in-memory cache. */
export class ApiKeyAuthenticator {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #missTtlMs: number;
  readonly #maxEntries: number;
  readonly #touchEveryMs: number;
  readonly #cache = new Map<string, Entry>();
  readonly #touchedAt = new Map<string, Millis>();

  constructor(opts: AuthenticatorOptions) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#ttlMs = opts.ttlMs ?? 10_000;
    this.#missTtlMs = opts.missTtlMs ?? 2_000;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#touchEveryMs = opts.touchEveryMs ?? 60_000;
  }

  /** The actor for `token`, or null when the token is unknown or revoked. */
  async authenticate(token: string, ip?: string): Promise<Actor | null> {
    const hash = hashApiKey(token);
    const key = await this.#lookup(hash);
    if (key === null || key.revokedAt !== null) return null;
    this.#touch(key.id);
    return { id: `key:${key.id}`, role: key.role, namespaces: key.namespaces, ...(ip === undefined ? {} : { ip }) };
  }

  /** Forgets every cached key (after a revocation). */
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
    const key = await this.#store.findApiKeyByHash(hash);
    // The store found the row by this hash; comparing again in constant time costs nothing and
    // keeps a store that matched loosely (prefix, collation) from letting a wrong key in.
    return key !== null && sameHash(key.hash, hash) ? key : null;
  }

  #touch(keyId: string): void {
    const now = this.#clock.now();
    const last = this.#touchedAt.get(keyId);
    if (last !== undefined && now - last < this.#touchEveryMs) return;
    this.#touchedAt.set(keyId, now);
    // Best effort: a lost `lastUsedAt` update must never fail or slow a request.
    this.#store.touchApiKey(keyId, now).catch(() => undefined);
  }
}
