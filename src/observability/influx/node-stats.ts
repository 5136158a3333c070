// The figures of `sundial_node`, gathered from run transitions between two reports: runs started,
// finished and failed, and the lateness of the starts (a uniform sample of at most `reservoir`
// of them, so a busy interval costs bounded memory and a sort of that size).

import type { RunTransition } from '../../core/events.js';
import { TERMINAL_STATUSES } from '../../core/types.js';

export interface IntervalStats {
  runsStarted: number;
  runsFinished: number;
  runsFailed: number;
  latenessP50Ms: number | null;
  latenessP99Ms: number | null;
  latenessMaxMs: number | null;
}

/** Counts one interval's transitions; `take()` returns them and starts the next interval. */
export class NodeStats {
  #started = 0;
  #finished = 0;
  #failed = 0;
  #maxLate = 0;
  readonly #sample: Float64Array;
  #seen = 0;
  readonly #random: () => number;

  constructor(opts: { reservoir?: number; random?: () => number } = {}) {
    this.#sample = new Float64Array(opts.reservoir ?? 4096);
    this.#random = opts.random ?? Math.random;
  }

  record(t: RunTransition): void {
    if (t.to === 'running') {
      this.#started++;
      const late = t.startedAt === null ? 0 : Math.max(0, t.startedAt - t.scheduledFor);
      if (late > this.#maxLate) this.#maxLate = late;
      // Reservoir sampling (Algorithm R): every start is equally likely to be kept.
      const n = this.#seen++;
      if (n < this.#sample.length) this.#sample[n] = late;
      else {
        const j = Math.floor(this.#random() * (n + 1));
        if (j < this.#sample.length) this.#sample[j] = late;
      }
    } else if (TERMINAL_STATUSES.has(t.to) && t.from === 'running') {
      this.#finished++;
      if (t.to === 'failed' || t.to === 'timed_out') this.#failed++;
    }
  }

  take(): IntervalStats {
    const kept = Math.min(this.#seen, this.#sample.length);
    const sorted = this.#sample.slice(0, kept).sort();
    const out: IntervalStats = {
      runsStarted: this.#started,
      runsFinished: this.#finished,
      runsFailed: this.#failed,
      latenessP50Ms: kept === 0 ? null : quantile(sorted, 0.5),
      latenessP99Ms: kept === 0 ? null : quantile(sorted, 0.99),
      latenessMaxMs: kept === 0 ? null : this.#maxLate,
    };
    this.#started = this.#finished = this.#failed = this.#maxLate = this.#seen = 0;
    return out;
  }
}

/** The value at quantile `q` of sorted values (nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? 0;
}
