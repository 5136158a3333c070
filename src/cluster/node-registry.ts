// The node registry: every node (whatever its roles) writes its row at start and refreshes it
// at a third of the lease, so GET /v1/cluster/nodes shows who is alive, and a second process
// started with the id of a live node is refused instead of silently sharing its leases. Each
// heartbeat also measures this node's clock against the database's: due times and leases are
// compared across nodes, so a node whose clock is off would fire early or take over live runs.
// In a cluster the scheduler's clock is shifted by the measured skew (OffsetClock), and a large
// skew is reported so an operator fixes NTP.

import type { Clock, OffsetClock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Millis, NodeState, NodeStatus } from '../core/types.js';
import type { NodeRegistration, Store } from '../store/store.js';


/**
 * `up` while it missed at most one heartbeat; `suspect` while its leases may still be valid;
 * `down` once they have lapsed, i.e. its runs are being taken over by others.
 */
export function nodeStatus(heartbeatAt: Millis, now: Millis, leaseMs: number): NodeStatus {
  const age = now - heartbeatAt;
  if (age <= leaseMs / 2) return 'up';
  if (age <= leaseMs) return 'suspect';
  return 'down';
}

/** How long a dead node stays listed (as `down`) before it drops off the list. */
const LIST_DOWN_FOR_MS = 3_600_000;
/** Skew measurements from round trips slower than this are too coarse to correct by. */
const MAX_RTT_FOR_CORRECTION_MS = 250;
/** Corrections smaller than this are noise (half a fast round trip). */
const MIN_CORRECTION_MS = 10;

export interface NodeRegistryOptions {
  /** This node's row; `heartbeatAt` and `runsInFlight` are filled at each beat. */
  info: Omit<NodeRegistration, 'heartbeatAt' | 'runsInFlight'>;
  leaseMs: number;
}

export interface NodeRegistryDeps {
  store: Store;
  clock: Clock;
  bus: EventBus;
  /** Runs this node holds (claimed and running), for the list. */
  runsInFlight: () => number;
  /** Shifted by the measured skew; absent where the database shares this process's clock. */
  offsetClock?: OffsetClock;
}

/** Registers this node, keeps its heartbeat, measures its clock skew, lists the cluster. */
export class NodeRegistry {
  readonly #o: NodeRegistryOptions;
  readonly #d: NodeRegistryDeps;
  #timer: NodeJS.Timeout | null = null;
  #beating: Promise<void> | null = null;
  #lastSkewMs = 0;

  constructor(opts: NodeRegistryOptions, deps: NodeRegistryDeps) {
    this.#o = opts;
    this.#d = deps;
  }

  /** This node's row as of now. */
  self(): NodeState {
    const now = this.#d.clock.now();
    return { ...this.#o.info, heartbeatAt: now, runsInFlight: this.#d.runsInFlight(), status: 'up' };
  }

  /** The last measured skew of this node's clock against the database's (database minus local). */
  get skewMs(): number {
    return this.#lastSkewMs;
  }

  /** Writes this node's row (throws `node_id_taken`) and starts the heartbeat. */
  async start(): Promise<void> {
    await this.#measureSkew();
    await this.#write();
    const every = Math.max(250, Math.floor(this.#o.leaseMs / 3));
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => (this.#beating = null));
    }, every);
    this.#timer.unref();
  }

  /** Stops the heartbeat and removes this node's row (a clean shutdown is not a death). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#beating;
    await this.#d.store.removeNode(this.#o.info.id, this.#o.info.instanceId).catch(() => undefined);
  }

  /** Every node seen within the last hour, with its status; this node first-hand. */
  async list(): Promise<NodeState[]> {
    const now = this.#d.clock.now();
    const rows = await this.#d.store.listNodes(now - LIST_DOWN_FOR_MS);
    const others = rows
      .filter((n) => n.id !== this.#o.info.id)
      .map((n) => ({ ...n, status: nodeStatus(n.heartbeatAt, now, this.#o.leaseMs) }));
    return [this.self(), ...others].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async #beat(): Promise<void> {
    try {
      await this.#measureSkew();
      await this.#write();
    } catch (err) {
      this.#d.bus.emit('scheduler:error', { where: 'node-heartbeat', error: coerceError(err) });
    }
  }

  #write(): Promise<void> {
    const now = this.#d.clock.now();
    const row: NodeRegistration = { ...this.#o.info, heartbeatAt: now, runsInFlight: this.#d.runsInFlight() };
    return this.#d.store.upsertNode(row, now - 2 * this.#o.leaseMs);
  }

  async #measureSkew(): Promise<void> {
    const offsetClock = this.#d.offsetClock;
    if (offsetClock === undefined) return;
    const local = this.#d.clock;
    // The base clock, not the shifted one: the skew is measured from scratch each time.
    const t0 = local.now() - offsetClock.offsetMs;
    const db = await this.#d.store.databaseTime();
    const t1 = local.now() - offsetClock.offsetMs;
    const rttMs = t1 - t0;
    // A slow round trip (the database stalled, the network was cut for a while) says nothing
    // about the clocks: its error is up to half the round trip. It is neither reported (metric,
    // "fix NTP" warning) nor used.
    if (rttMs > MAX_RTT_FOR_CORRECTION_MS) return;
    const skewMs = db - (t0 + t1) / 2;
    this.#lastSkewMs = skewMs;
    this.#d.bus.emit('cluster:skew', { skewMs, rttMs, at: t1 });
    if (Math.abs(skewMs - offsetClock.offsetMs) >= MIN_CORRECTION_MS) offsetClock.setOffset(skewMs);
  }
}
