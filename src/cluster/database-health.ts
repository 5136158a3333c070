// Whether this node can reach its database, from a cheap query once a second. /readyz reads it
// (a load balancer takes the node out while the database is away) and every change is published
// as `database:state` for the log and metrics. Requests do not wait for it: a write that fails to
// reach the database answers 503 `database_unavailable` on its own (the store says so).

import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Store } from '../store/store.js';

export interface DatabaseHealthOptions {
  /** How often the database is asked (ms). */
  intervalMs?: number;
  /** A ping slower than this counts as a failure (ms). */
  timeoutMs?: number;
}

/** Tracks whether the database answers. */
export class DatabaseHealth {
  readonly #store: Pick<Store, 'databaseTime'>;
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #reachable = true;
  #timer: NodeJS.Timeout | null = null;
  #pinging = false;

  constructor(deps: { store: Pick<Store, 'databaseTime'>; clock: Clock; bus: EventBus }, opts: DatabaseHealthOptions = {}) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#bus = deps.bus;
    this.#intervalMs = opts.intervalMs ?? 1000;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** True while the last ping succeeded. */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** Starts pinging. */
  start(): void {
    this.#timer = setInterval(() => void this.#ping(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #ping(): Promise<void> {
    if (this.#pinging) return;
    this.#pinging = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      });
      await Promise.race([this.#store.databaseTime(), timeout]);
      this.#set(true, null);
    } catch (err) {
      this.#set(false, coerceError(err).message);
    } finally {
      clearTimeout(timer);
      this.#pinging = false;
    }
  }

  #set(reachable: boolean, error: string | null): void {
    if (reachable === this.#reachable) return;
    this.#reachable = reachable;
    this.#bus.emit('database:state', { reachable, at: this.#clock.now(), error });
  }
}
