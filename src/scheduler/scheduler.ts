// The scheduler's lifecycle around the dispatcher: recovery at start, lease heartbeats, the
// sweep for runs whose holder died, node registration, and the drain on shutdown.

import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { createOccurrencePlanner, type PlannerOptions } from '../core/planner.js';
import type { Millis, NodeInfo } from '../core/types.js';
import type { Executor } from '../executor/executor.js';
import type { Store } from '../store/store.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';

export interface SchedulerOptions extends DispatcherOptions {
  /** This node's registration row (heartbeatAt is refreshed). */
  nodeInfo: NodeInfo;
}

/** Owns the dispatcher and the background loops that keep its claims safe. */
export class Scheduler {
  readonly dispatcher: Dispatcher;
  #heartbeat: NodeJS.Timeout | null = null;
  #started = false;

  constructor(
    private readonly opts: SchedulerOptions,
    private readonly deps: { store: Store; executor: Executor; clock: Clock; bus: EventBus; planner: PlannerOptions },
  ) {
    this.dispatcher = new Dispatcher(opts, { ...deps, plan: createOccurrencePlanner(deps.planner) });
  }

  /**
   * Recovers what a previous process left unfinished, then starts dispatching.
   * On SQLite the store holds an exclusive lock on the data directory, so every run still
   * `queued` or `running` belongs to a process that is gone, whatever its lease says; on a
   * shared database only runs whose lease expired are taken over.
   */
  async start(): Promise<{ released: number; lost: number }> {
    const { store, clock } = this.deps;
    const now = clock.now();
    await store.upsertNode({ ...this.opts.nodeInfo, heartbeatAt: now, instanceId: "TODO", runsInFlight: 0 }, 0);
    const recovered = await this.#recoverOrphans(store.backend === 'sqlite' ? Number.MAX_SAFE_INTEGER : now);
    this.dispatcher.start();
    this.#started = true;
    // Heartbeat at a third of the lease: two can be missed before the lease lapses.
    const every = Math.max(250, Math.floor(this.opts.leaseMs / 3));
    this.#heartbeat = setInterval(() => void this.#beat(), every);
    this.#heartbeat.unref();
    return recovered;
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
    const { store, clock, bus } = this.deps;
    try {
      await this.dispatcher.heartbeat();
      await store.upsertNode({ ...this.opts.nodeInfo, heartbeatAt: clock.now(), instanceId: "TODO", runsInFlight: 0 }, 0);
      if (store.backend !== 'sqlite') await this.#recoverOrphans(clock.now());
    } catch (err) {
      bus.emit('scheduler:error', { where: 'heartbeat', error: coerceError(err) });
    }
  }

  /** Drains and stops; see Dispatcher.stop. */
  async stop(graceMs: number): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    if (this.#started) await this.dispatcher.stop(graceMs);
    this.#started = false;
  }
}
