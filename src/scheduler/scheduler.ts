// The scheduler's lifecycle around the dispatcher: recovery at start, lease heartbeats, the
// sweep for runs whose holder died, and the drain on shutdown. A node's roles decide which parts
// run: `executor` claims due runs and runs them (with the lease heartbeat, self-fencing and, on a
// shared database, polling for cancel requests made on other nodes); `scheduler` takes over the
// runs of dead nodes. A single SQLite node does both.

import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { createOccurrencePlanner, type PlannerOptions } from '../core/planner.js';
import type { Millis } from '../core/types.js';
import type { Executor } from '../executor/executor.js';
import type { Store } from '../store/store.js';
import { Dispatcher, fenceMarginMs, type DispatcherDeps, type DispatcherOptions } from './dispatcher.js';

export interface SchedulerOptions extends DispatcherOptions {
  /** Claim and run due runs here. */
  executor: boolean;
  /** Take over the runs of dead nodes here (on a single node: at start, always). */
  sweeper: boolean;
  /** How often a shared database is asked for cancel requests of runs this node runs (ms). */
  cancelPollMs?: number;
}

/** How often self-fencing is checked (ms): often enough to act well inside the fence margin. */
const FENCE_CHECK_MS = 250;

/** Owns the dispatcher and the background loops that keep its claims safe. */
export class Scheduler {
  readonly dispatcher: Dispatcher;
  #timers: NodeJS.Timeout[] = [];
  #beating: Promise<void> | null = null;
  #sweeping: Promise<void> | null = null;
  #polling = false;
  #started = false;

  constructor(
    private readonly opts: SchedulerOptions,
    private readonly deps: {
      store: Store;
      executor: Executor;
      clock: Clock;
      bus: EventBus;
      planner: PlannerOptions;
      peers?: DispatcherDeps['peers'];
    },
  ) {
    this.dispatcher = new Dispatcher(opts, { ...deps, plan: createOccurrencePlanner(deps.planner) });
  }

  /**
   * Recovers what a previous process left unfinished, then starts dispatching.
   * On a store no other process shares (SQLite holds an exclusive lock on its data directory),
   * every run still `queued` or `running` belongs to a process that is gone, whatever its lease
   * says; on a shared database only runs whose lease expired are taken over.
   */
  async start(): Promise<{ released: number; lost: number }> {
    const { store, clock } = this.deps;
    const shared = store.capabilities.shared;
    const recovered =
      !shared ? await this.#recoverOrphans(Number.MAX_SAFE_INTEGER) : this.opts.sweeper ? await this.#recoverOrphans(clock.now()) : { released: 0, lost: 0 };
    if (this.opts.executor) this.dispatcher.start();
    this.#started = true;
    // Leases are renewed at a third of the time a node may go without renewing them before it
    // fences itself (the lease minus the fence margin): two renewals can be missed before the
    // fence. (At a third of the lease, a 3 s lease left 500 ms for one renewal's round trip.)
    this.#every(Math.max(250, Math.floor((this.opts.leaseMs - fenceMarginMs(this.opts.leaseMs)) / 3)), () => {
      this.#beating ??= this.#beat().finally(() => (this.#beating = null));
    });
    // The sweep for dead nodes' runs has a loop of its own: taking over a dead node's runs can
    // take a while, and the lease renewal must not wait for it (the node would fence itself).
    if (shared && this.opts.sweeper) {
      this.#every(Math.max(250, Math.floor(this.opts.leaseMs / 3)), () => {
        this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = null));
      });
    }
    if (shared && this.opts.executor) {
      this.#every(FENCE_CHECK_MS, () => this.dispatcher.checkFence());
      this.#every(this.opts.cancelPollMs ?? 1000, () => void this.#pollCancels());
    }
    return recovered;
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  async #recoverOrphans(asOf: Millis): Promise<{ released: number; lost: number }> {
    const total = { released: 0, lost: 0 };
    for (;;) {
      const now = this.deps.clock.now();
      const orphans = await this.deps.store.claimOrphanedRuns({
        node: this.opts.node,
        now: asOf,
        leaseUntil: now + this.opts.leaseMs,
        limit: 5000,
      });
      if (orphans.length === 0) return total;
      const r = await this.dispatcher.recover(orphans);
      total.released += r.released;
      total.lost += r.lost;
    }
  }

  async #beat(): Promise<void> {
    try {
      if (this.opts.executor) await this.dispatcher.heartbeat();
    } catch (err) {
      this.deps.bus.emit('scheduler:error', { where: 'heartbeat', error: coerceError(err) });
    }
  }

  async #sweep(): Promise<void> {
    try {
      await this.#recoverOrphans(this.deps.clock.now());
    } catch (err) {
      this.deps.bus.emit('scheduler:error', { where: 'sweep', error: coerceError(err) });
    }
  }

  /** The truth behind the cancel signals: runs of this node someone asked to stop. */
  async #pollCancels(): Promise<void> {
    if (this.#polling || this.dispatcher.load.running === 0) return;
    this.#polling = true;
    try {
      for (const id of await this.deps.store.listCancelRequests(this.opts.node)) this.dispatcher.cancelRunning(id);
    } catch (err) {
      this.deps.bus.emit('scheduler:error', { where: 'cancel-poll', error: coerceError(err) });
    } finally {
      this.#polling = false;
    }
  }

  /** Drains and stops; see Dispatcher.stop. */
  async stop(graceMs: number): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#beating;
    await this.#sweeping;
    if (this.#started) await this.dispatcher.stop(graceMs);
    this.#started = false;
  }
}
