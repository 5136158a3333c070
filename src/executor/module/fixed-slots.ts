// Where module runs go: a fixed number of slots, each holding one child, started with the pool.
// A run goes to the least loaded ready child (a module run awaits; a child takes any number at
// once). With none ready it waits in the pool's queue while some slot will serve soon, and fails
// `worker_start_failed` when none can.
//
// A child that dies is replaced in its slot: at once the first time, with a back-off when it keeps
// dying young (a task that exits the process on every run), and with a back-off per failed start
// (a broken entry or environment must not make the pool fork in a loop).

import type { Flight } from '../pool/flight.js';
import type { PoolChild } from '../pool/pool-child.js';
import { STD_TAIL_CHARS } from '../pool/pool-child.js';
import type { Placement, PoolHost, PoolTypes } from '../pool/worker-pool.js';
import { backoff } from '../pool/worker-process.js';
import { failedOutcome } from '../outcome.js';
import type { FromChildBatch, WireDone, WireRun } from './module-protocol.js';

/** One place for a child. */
export interface Slot {
  index: number;
  child: PoolChild<ModuleTypes> | null;
  /** The pool closed: the slot is never filled again. */
  closed: boolean;
  /** Consecutive failed starts; drives the back-off and `worker_start_failed`. */
  startFailures: number;
  /** Consecutive crashes soon after start. */
  quickCrashes: number;
  /** What the last child that failed to start printed. */
  tail: string;
  respawnTimer: NodeJS.Timeout | null;
}

export interface ModuleTypes extends PoolTypes {
  run: WireRun;
  end: WireDone;
  batch: FromChildBatch;
  tag: Slot;
}

/** A child that crashes sooner than this after start counts towards the crash back-off. */
const QUICK_CRASH_MS = 2000;

export class FixedSlots implements Placement<ModuleTypes> {
  readonly #host: PoolHost<ModuleTypes>;
  readonly #count: number;
  readonly #slots: Slot[] = [];

  constructor(host: PoolHost<ModuleTypes>, count: number) {
    this.#host = host;
    this.#count = Math.max(1, count);
  }

  start(): void {
    for (let i = 0; i < this.#count; i++) {
      const slot: Slot = { index: i, child: null, closed: false, startFailures: 0, quickCrashes: 0, tail: '', respawnTimer: null };
      this.#slots.push(slot);
      this.#spawn(slot);
    }
  }

  place(f: Flight<ModuleTypes>): void {
    let best: PoolChild<ModuleTypes> | null = null;
    for (const s of this.#slots) {
      const c = s.child;
      if (c !== null && c.state === 'ready' && (best === null || c.inflight.size < best.inflight.size)) best = c;
    }
    if (best !== null) {
      this.#host.assign(f, best);
      return;
    }
    if (this.#slots.some(canServeSoon)) {
      this.#host.queue.add(f);
      return;
    }
    this.#host.finish(f, failedOutcome(this.#host.clock, 'worker_start_failed', 'no worker process could be started', { output: this.#lastTail() }));
  }

  ready(child: PoolChild<ModuleTypes>): void {
    child.tag.startFailures = 0;
    const queue = this.#host.queue;
    if (queue.size === 0) return;
    const waiting = [...queue];
    queue.clear();
    for (const f of waiting) if (!f.done) this.place(f);
  }

  afterBatch(): void {}

  gone(child: PoolChild<ModuleTypes>, code: number | null): void {
    const slot = child.tag;
    if (slot.child !== child) return;
    slot.child = null;
    if (this.#host.closing) {
      slot.closed = true;
      return;
    }
    if (!child.everReady) {
      this.#startFailed(slot, code, child.stdTail);
      return;
    }
    const lived = performance.now() - child.startedAt;
    slot.quickCrashes = child.killReason === null && lived < QUICK_CRASH_MS ? slot.quickCrashes + 1 : 0;
    // The first crash is replaced at once; a child that keeps dying young backs off.
    this.#respawnLater(slot, slot.quickCrashes <= 1 ? 0 : backoff(slot.quickCrashes - 1));
  }

  // Respawn timers never keep the process alive: a run waits for them only while another child
  // serves soon.
  setRef(): void {}

  close(): void {
    for (const slot of this.#slots) {
      if (slot.respawnTimer !== null) clearTimeout(slot.respawnTimer);
      slot.respawnTimer = null;
      slot.closed = true;
    }
  }

  #spawn(slot: Slot): void {
    slot.respawnTimer = null;
    if (this.#host.closing) {
      slot.closed = true;
      return;
    }
    try {
      slot.child = this.#host.spawn(slot);
      slot.tail = '';
    } catch (err) {
      this.#startFailed(slot, null, `fork failed: ${(err as Error).message}`);
    }
  }

  #startFailed(slot: Slot, code: number | null, tail: string): void {
    slot.child = null;
    slot.startFailures++;
    slot.tail = tail;
    this.#respawnLater(slot, backoff(slot.startFailures));
    // If no child can serve soon, the queued runs fail now rather than wait out the back-off.
    if (!this.#slots.some(canServeSoon)) {
      const queue = this.#host.queue;
      const waiting = [...queue];
      queue.clear();
      for (const f of waiting) {
        this.#host.finish(f, failedOutcome(this.#host.clock, 'worker_start_failed', `the worker process failed to start (exit code ${code})`, { output: tail }));
      }
    }
  }

  #respawnLater(slot: Slot, delayMs: number): void {
    if (delayMs <= 0) {
      this.#spawn(slot);
      return;
    }
    slot.respawnTimer = setTimeout(() => this.#spawn(slot), delayMs);
    slot.respawnTimer.unref();
  }

  #lastTail(): string {
    return this.#slots
      .map((s) => s.tail)
      .filter((t) => t !== '')
      .join('\n')
      .slice(-STD_TAIL_CHARS);
  }
}

/** A slot that serves now or will after a restart that is not a start-failure back-off. */
function canServeSoon(s: Slot): boolean {
  if (s.closed) return false;
  const state = s.child?.state;
  if (state === 'ready' || state === 'starting') return true;
  return s.startFailures === 0;
}
