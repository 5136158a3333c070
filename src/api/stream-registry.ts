// The long-lived streams (GET /v1/events, log follow) by the key that opened them. A stream is
// authenticated once, when it opens, so without this a revoked key would keep receiving events
// for as long as its connection lasted. Here:
// - a revocation on this node ('api-key:revoked') or relayed from another ('cluster:api-key:revoked')
//   ends that key's streams at once;
// - while any stream is open, the keys are re-read every `recheckMs` (one store read for all), so
//   a revocation whose signal was lost, or a key that expires (its own `expiresAt`, or the end of
//   a rotation's grace period), ends its streams within that time;
// - a key may hold at most `maxPerKey` streams at once (each costs a socket and a listener):
//   one more answers 429 before anything is streamed.

import type { ServerResponse } from 'node:http';
import { SundialError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Actor } from '../core/types.js';
import type { Store } from '../store/store.js';

/** The last frame of a stream ended by its key's revocation (clients should not reconnect). */
export const REVOKED_FRAME = 'event: revoked\ndata: {"code":"unauthenticated","detail":"the API key was revoked"}\n\n';
/** The last frame of a stream whose key expired: the same event (clients stop either way), its own code. */
export const EXPIRED_FRAME = 'event: revoked\ndata: {"code":"key_expired","detail":"the API key has expired"}\n\n';

export interface StreamRegistryOptions {
  bus: EventBus;
  store: Pick<Store, 'listApiKeys'>;
  /** The time keys' expiry is compared with (default Date.now). */
  now?: () => number;
  /** Streams one key may hold open at once. */
  maxPerKey: number;
  /** How often the keys of open streams are re-read (ms). */
  recheckMs?: number;
  /** Told when a re-check fails (the streams stay; the next check tries again). */
  onError?: (err: unknown) => void;
}

/** Open streams by key, ended when the key stops being valid. */
export class StreamRegistry {
  readonly #o: StreamRegistryOptions;
  /** actor id (`key:<id>`) → its open responses. */
  readonly #byKey = new Map<string, Set<ServerResponse>>();
  readonly #off: (() => void)[];
  #timer: NodeJS.Timeout | null = null;
  #checking = false;

  constructor(o: StreamRegistryOptions) {
    this.#o = o;
    this.#off = [
      o.bus.on('api-key:revoked', (e) => this.#endKey(`key:${e.id}`)),
      o.bus.on('cluster:api-key:revoked', (e) => this.#endKey(`key:${e.id}`)),
    ];
  }

  /**
   * Registers a stream `actor` is about to open on `res`; throws `rate_limited` (429) when the key
   * holds its maximum already. Call before the response is hijacked, so the refusal is a problem.
   */
  open(actor: Actor, res: ServerResponse): void {
    let set = this.#byKey.get(actor.id);
    if (set !== undefined && set.size >= this.#o.maxPerKey) {
      throw new SundialError('rate_limited', `this key has ${set.size} streams open, the most one key may hold (SUNDIAL_STREAMS_PER_KEY); close one first`);
    }
    if (set === undefined) {
      set = new Set();
      this.#byKey.set(actor.id, set);
    }
    set.add(res);
    res.once('close', () => {
      set.delete(res);
      if (set.size === 0 && this.#byKey.get(actor.id) === set) this.#byKey.delete(actor.id);
      if (this.#byKey.size === 0) this.#stopTimer();
    });
    this.#startTimer();
  }

  /** Open streams of all keys (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.#byKey.values()) n += set.size;
    return n;
  }

  /** Stops listening (the server closes the streams themselves). */
  close(): void {
    for (const off of this.#off) off();
    this.#stopTimer();
  }

  #endKey(actorId: string, frame = REVOKED_FRAME): void {
    const set = this.#byKey.get(actorId);
    if (set === undefined) return;
    this.#byKey.delete(actorId);
    for (const res of set) {
      if (!res.writableEnded) res.end(frame);
    }
    if (this.#byKey.size === 0) this.#stopTimer();
  }

  #startTimer(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.#recheck(), this.#o.recheckMs ?? 1000);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #recheck(): Promise<void> {
    if (this.#checking || this.#byKey.size === 0) return;
    this.#checking = true;
    try {
      const keys = await this.#o.store.listApiKeys();
      const now = (this.#o.now ?? Date.now)();
      const byActor = new Map(keys.map((k) => [`key:${k.id}`, k]));
      for (const actorId of [...this.#byKey.keys()]) {
        const k = byActor.get(actorId);
        if (k === undefined || k.revokedAt !== null) this.#endKey(actorId);
        else if (k.expiresAt !== null && k.expiresAt <= now) this.#endKey(actorId, EXPIRED_FRAME);
      }
    } catch (err) {
      this.#o.onError?.(err);
    } finally {
      this.#checking = false;
    }
  }
}
