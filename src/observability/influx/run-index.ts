// `run:logs` and `run:sample` name only the run; their points are keyed by task. The index maps
// the runs this node started to their task, from the `running` transitions, and remembers the
// last resource sample of each (CPU utilization is CPU time over wall time between samples).
// Bounded: runs that ended stay a while for lines that arrive late, then make room; runs that
// never end here (handed to another node) are forgotten oldest first.

import type { Millis } from '../../core/types.js';

export interface RunRef {
  taskId: string;
  taskName: string;
  namespace: string;
  /** When the run started (the first sample's CPU share is measured from here). */
  startedAt: Millis;
  /** The last sample's time and cumulative CPU time, or the start and 0. */
  lastAt: Millis;
  lastCpuMs: number;
}

export interface RunIndexOptions {
  /** Running runs remembered at most (default 100,000). */
  maxRunning?: number;
  /** Ended runs remembered at most (default 10,000). */
  maxEnded?: number;
}

/** Run id → task, for the runs running on this node and those that ended lately. */
export class RunIndex {
  readonly #running = new Map<string, RunRef>();
  readonly #ended = new Map<string, RunRef>();
  readonly #maxRunning: number;
  readonly #maxEnded: number;

  constructor(opts: RunIndexOptions = {}) {
    this.#maxRunning = opts.maxRunning ?? 100_000;
    this.#maxEnded = opts.maxEnded ?? 10_000;
  }

  get size(): number {
    return this.#running.size + this.#ended.size;
  }

  /** A run started. */
  started(runId: string, ref: Omit<RunRef, 'lastAt' | 'lastCpuMs'>): void {
    if (this.#running.size >= this.#maxRunning) evictOldest(this.#running);
    this.#running.set(runId, { ...ref, lastAt: ref.startedAt, lastCpuMs: 0 });
  }

  /** A run left `running` (or never reached it): kept a while for late lines. */
  ended(runId: string): void {
    const ref = this.#running.get(runId);
    if (ref === undefined) return;
    this.#running.delete(runId);
    if (this.#ended.size >= this.#maxEnded) evictOldest(this.#ended);
    this.#ended.set(runId, ref);
  }

  get(runId: string): RunRef | undefined {
    return this.#running.get(runId) ?? this.#ended.get(runId);
  }
}

function evictOldest(map: Map<string, RunRef>): void {
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}
