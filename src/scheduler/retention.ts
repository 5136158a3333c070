// The history retention loop: keeps finished runs (with their logs and samples) within the
// configured age and per-task limits by calling Store.pruneHistory in small batches.
//
// It must never hold up the scheduler. On SQLite every batch is one operation of the single
// writer that claims and completions also wait on, so:
// - batches are small, and sized by time: a run costs 20–300 µs to delete depending on how
//   scattered the deleted rows are and how busy the disk is (see docs/deployment.md), so the
//   loop halves or doubles its batch (up to `batch`) to keep each call near `targetBatchMs`;
// - it yields to the event loop (setImmediate) between batches, so queued claims, starts and
//   completions commit in between (the dispatcher starts a run only once its start is written);
// - a round stops after `budgetMs` of wall time even when there is more to delete; the next round
//   then comes after `catchUpPauseMs` instead of a whole interval, so a backlog (a first start on
//   a large history, a limit lowered, or more finishing than one round a minute deletes) is
//   worked off at a bounded share of the time (a third, by default);
// - rounds are `intervalMs` apart with ±10% jitter, so nodes sharing a database do not prune in
//   step.
// Failures are published as `scheduler:error` (where `retention`) and the next round tries again.
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Millis } from '../core/types.js';
import type { PruneOptions, Store } from '../store/store.js';

/** Limits and pacing of the retention loop. */
export interface RetentionOptions {
  /** Finished runs older than this (ms since they finished) are deleted; 0 keeps them forever. */
  maxAgeMs: number;
  /** Finished runs kept per task, newest first; 0 keeps any number. */
  maxPerTask: number;
  /** Time between rounds (default 60 s), jittered by ±10%. */
  intervalMs?: number;
  /** Most runs deleted per store call (default 1,000). */
  batch?: number;
  /** Fewest runs per store call, however slow (default 50: below it the commit's fixed cost dominates). */
  minBatch?: number;
  /** Time one store call should take; the batch size follows it (default 5 ms: on SQLite the call blocks the timers of the process). */
  targetBatchMs?: number;
  /** Wall time a round may spend before it stops (default 1 s). */
  budgetMs?: number;
  /** Pause before the next round when one stopped with work left (default 2 × budgetMs). */
  catchUpPauseMs?: number;
}

/** The loop's limits from the configuration (`historyMaxAge`, `historyMaxPerTask`; 0 turns one off). */
export function retentionOptions(config: Pick<Config, 'historyMaxAge' | 'historyMaxPerTask'>): RetentionOptions {
  return { maxAgeMs: config.historyMaxAge, maxPerTask: config.historyMaxPerTask };
}

/** Timer functions (tests replace them). */
export interface RetentionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the loop needs. */
export interface RetentionDeps {
  store: Pick<Store, 'pruneHistory'>;
  /** The scheduler's clock: retention cutoffs are measured on it. */
  clock: Clock;
  bus: EventBus;
  /** A monotonic time in ms for the round's budget (default performance.now). */
  elapsed?: () => number;
  /** Random source in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
  timers?: RetentionTimers;
}

/** The outcome of one round. */
export interface RetentionRound {
  /** Runs deleted. */
  deleted: number;
  /** Store calls made. */
  batches: number;
  /** The round stopped at its budget (or at stop()) with runs still to delete. */
  more: boolean;
  /** Wall time the round took, ms. */
  ms: number;
}

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_BATCH = 1000;
const DEFAULT_MIN_BATCH = 50;
const DEFAULT_TARGET_BATCH_MS = 5;
const DEFAULT_BUDGET_MS = 1000;
const JITTER = 0.1;

const realTimers: RetentionTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Retention alone must not keep the process alive.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Deletes old history in the background, a few small batches per round (see the file head). */
export class HistoryRetention {
  readonly #opts: Required<RetentionOptions>;
  readonly #d: Required<RetentionDeps>;
  #timer: unknown = null;
  #started = false;
  #stopping = false;
  #inFlight: Promise<RetentionRound> | null = null;
  #last: RetentionRound | null = null;
  /** Runs the next store call may delete (adapted to targetBatchMs). */
  #limit: number;

  constructor(opts: RetentionOptions, deps: RetentionDeps) {
    const budgetMs = opts.budgetMs ?? DEFAULT_BUDGET_MS;
    const batch = Math.max(1, Math.floor(opts.batch ?? DEFAULT_BATCH));
    const minBatch = Math.min(batch, Math.max(1, Math.floor(opts.minBatch ?? DEFAULT_MIN_BATCH)));
    this.#opts = {
      maxAgeMs: opts.maxAgeMs,
      maxPerTask: opts.maxPerTask,
      intervalMs: opts.intervalMs ?? DEFAULT_INTERVAL_MS,
      batch,
      minBatch,
      targetBatchMs: opts.targetBatchMs ?? DEFAULT_TARGET_BATCH_MS,
      budgetMs,
      catchUpPauseMs: opts.catchUpPauseMs ?? 2 * budgetMs,
    };
    // Start small: the first call's cost is unknown, and a slow one is what must not happen.
    this.#limit = Math.max(minBatch, Math.min(batch, 100));
    this.#d = {
      ...deps,
      elapsed: deps.elapsed ?? (() => performance.now()),
      random: deps.random ?? Math.random,
      timers: deps.timers ?? realTimers,
    };
  }

  /** False when both limits are off: start() then does nothing. */
  get enabled(): boolean {
    return this.#opts.maxAgeMs > 0 || this.#opts.maxPerTask > 0;
  }

  /** The last round's outcome (null before the first). */
  get lastRound(): RetentionRound | null {
    return this.#last;
  }

  /** Starts the rounds (the first one after a jittered interval). */
  start(): void {
    if (this.#started || !this.enabled) return;
    this.#started = true;
    this.#stopping = false;
    this.#schedule(this.#jittered());
  }

  /** Stops the rounds; resolves once a round in flight has finished its current batch. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#started = false;
    if (this.#timer !== null) this.#d.timers.clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#inFlight !== null) await this.#inFlight;
  }

  /**
   * Runs one round now (or waits for the one in flight) and resolves with its outcome. Never
   * rejects: a failure is published on the bus and ends the round.
   */
  runOnce(): Promise<RetentionRound> {
    this.#inFlight ??= this.#round().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /** The store call's limits at `now` (with the current batch size). */
  pruneOptions(now: Millis): PruneOptions {
    return {
      finishedBefore: this.#opts.maxAgeMs > 0 ? now - this.#opts.maxAgeMs : null,
      keepPerTask: this.#opts.maxPerTask > 0 ? this.#opts.maxPerTask : null,
      limit: this.#limit,
    };
  }

  /** Runs the next store call may delete. */
  get batchSize(): number {
    return this.#limit;
  }

  async #round(): Promise<RetentionRound> {
    const { store, clock, bus, elapsed } = this.#d;
    const t0 = elapsed();
    const out: RetentionRound = { deleted: 0, batches: 0, more: false, ms: 0 };
    try {
      for (;;) {
        const now = clock.now();
        const opts = this.pruneOptions(now);
        const t = elapsed();
        const n = await store.pruneHistory(opts, now);
        out.deleted += n;
        out.batches++;
        if (n < opts.limit) break;
        this.#adapt(elapsed() - t);
        if (this.#stopping || elapsed() - t0 >= this.#opts.budgetMs) {
          out.more = true;
          break;
        }
        // Let the writes queued behind this batch (claims, completions) go first.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      bus.emit('scheduler:error', { where: 'retention', error: coerceError(err) });
    }
    out.ms = elapsed() - t0;
    this.#last = out;
    return out;
  }

  /** Resizes the batch after a full one that took `ms`. */
  #adapt(ms: number): void {
    const { targetBatchMs: target, minBatch, batch } = this.#opts;
    if (ms > target) this.#limit = Math.max(minBatch, Math.floor((this.#limit * target) / ms));
    else if (ms < target / 2) this.#limit = Math.min(batch, this.#limit * 2);
  }

  #schedule(ms: number): void {
    this.#timer = this.#d.timers.setTimeout(() => {
      this.#timer = null;
      void this.runOnce().then((r) => {
        if (this.#started && !this.#stopping && this.#timer === null) this.#schedule(r.more ? this.#opts.catchUpPauseMs : this.#jittered());
      });
    }, ms);
  }

  /** The interval ±10%. */
  #jittered(): number {
    return Math.round(this.#opts.intervalMs * (1 - JITTER + 2 * JITTER * this.#d.random()));
  }
}
