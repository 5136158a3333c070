// Which tasks the per-task retention limit (`PruneOptions.keepPerTask`) must look at, shared by
// both SQL stores. Counting a task's finished runs costs a walk over its newest `keep` runs in the
// runs_task_time index (neither database keeps order statistics), so doing it for every task on
// every call would cost O(all history) per call. Instead:
//
// - Windows: finishes are read in windows of `finished_at` through the retention index
//   (runs_finished), a few rows per finished run, and added to an estimate per task; a task is
//   counted for real only when its estimate passes `keep + slack`. The window trails `now` by
//   `marginMs`, so runs committed a little after the time they were stamped with are still seen.
// - Slack: after a trim a task holds exactly `keep`; it is trimmed again once it has gained
//   `slack` (a tenth of `keep`) more. One count then pays for `slack` deletions instead of one,
//   at the price of a task going up to 10% over its limit between trims. Below 10 there is no
//   slack: small limits are enforced exactly.
// - One pass over every task id (a loose index scan, one slice at a time, after the windows) finds
//   tasks that were over the limit before this process started and have not finished a run since.
// - A task seen in a window that is not known yet is counted for real once.
//
// Estimates only decide WHEN a task is counted, never WHAT is deleted: the count and the cutoff
// are read from the database at deletion time, so a wrong estimate costs a late or an early
// trim, never a run that should have been kept.
import type { Millis } from '../core/types.js';

/** The next read the retention code should make for the per-task limit. */
export type TrackerStep =
  /** Count this task's finished runs and delete the oldest ones past `keep`. */
  | { kind: 'check'; taskId: string }
  /** Read how many runs of each task finished in [from, to), oldest first, at most `rows` runs. */
  | { kind: 'window'; from: Millis; to: Millis; rows: number }
  /** List up to `tasks` task ids that have runs, in id order after `after` (null: from the start). */
  | { kind: 'pass'; after: string | null; tasks: number }
  /** Nothing to do until more runs finish. */
  | { kind: 'idle' };

/** A position in listRuns order (due time, then id): where a task's history may be cut. */
export interface RunKey {
  sf: number;
  id: string;
}

/** Tuning of the tracker (tests shrink these). */
export interface TrackerOptions {
  /** How far windows trail `now` (default 60 s). */
  marginMs?: number;
  /** Most finished runs one window step reads (default 5,000: ~10 ms of reading on SQLite). */
  windowRows?: number;
  /** Task ids one pass step lists (default 200). */
  passTasks?: number;
}

/** Per-task bookkeeping of the retention limit `keep` (one instance per store and limit). */
export class RetentionTracker {
  /** Finished runs a task may gain past `keep` before it is trimmed again. */
  readonly slack: number;
  readonly #marginMs: number;
  readonly #windowRows: number;
  readonly #passTasks: number;
  /** Finished runs per task as last counted, plus what windows saw finish since (an estimate). */
  readonly #estimate = new Map<string, number>();
  /**
   * Cutoffs of tasks whose trim did not fit in one call: at least `keep` finished runs are at or
   * above it, so the next call goes on deleting below it without walking the task again. Runs
   * above it only go away through the age limit, which forgets the cutoff (deletedElsewhere).
   */
  readonly #cuts = new Map<string, RunKey>();
  /** Tasks to count, in order, with a set for membership. */
  #queue: string[] = [];
  readonly #queued = new Set<string>();
  /** Start of the next window (null until the first step). */
  #windowFrom: Millis | null = null;
  /** The pass's position: the last task id listed; `done` once it reached the end. */
  #passAfter: string | null = null;
  #passDone = false;

  constructor(
    readonly keep: number,
    opts: TrackerOptions = {},
  ) {
    this.slack = Math.floor(keep / 10);
    this.#marginMs = opts.marginMs ?? 60_000;
    this.#windowRows = opts.windowRows ?? 5000;
    this.#passTasks = opts.passTasks ?? 200;
  }

  /** The next step at `now`: counts first, then a window that is due, then the pass. */
  next(now: Millis): TrackerStep {
    const head = this.#queue[0];
    if (head !== undefined) return { kind: 'check', taskId: head };
    const to = now - this.#marginMs;
    if (this.#windowFrom === null || to < this.#windowFrom) {
      // First step, or the clock went back: start (again) here. Windows then may count a few
      // finishes twice, which only makes a count come early.
      this.#windowFrom = to;
    }
    if (to > this.#windowFrom) return { kind: 'window', from: this.#windowFrom, to, rows: this.#windowRows };
    if (!this.#passDone) return { kind: 'pass', after: this.#passAfter, tasks: this.#passTasks };
    return { kind: 'idle' };
  }

  /**
   * Records a window read: per task, how many runs finished. `full` says the read stopped at
   * `rows`; `lastAt` is then the latest finish time it read, where the next window starts.
   */
  windowRead(step: Extract<TrackerStep, { kind: 'window' }>, counts: Iterable<{ taskId: string; n: number }>, full: boolean, lastAt: Millis | null): void {
    for (const { taskId, n } of counts) {
      const est = this.#estimate.get(taskId);
      if (est === undefined) {
        this.#enqueue(taskId);
        continue;
      }
      this.#estimate.set(taskId, est + n);
      if (est + n > this.keep + this.slack) this.#enqueue(taskId);
    }
    if (!full || lastAt === null) this.#windowFrom = step.to;
    // Starting again at the last time read counts its runs twice (harmless, see next()); past
    // it would skip the rest of that millisecond. Only a millisecond holding more finishes than
    // a whole window forces the skip, to make progress.
    else this.#windowFrom = lastAt > step.from ? lastAt : step.from + 1;
  }

  /** Records a pass read: the task ids listed (fewer than asked: the pass is over). */
  passRead(step: Extract<TrackerStep, { kind: 'pass' }>, taskIds: readonly string[]): void {
    for (const id of taskIds) if (!this.#estimate.has(id)) this.#enqueue(id);
    const last = taskIds[taskIds.length - 1];
    if (last !== undefined) this.#passAfter = last;
    if (taskIds.length < step.tasks) this.#passDone = true;
  }

  /**
   * Records a count of `taskId`: it now holds about `finished` finished runs. `done` false means
   * the call's deletion limit stopped the trim, so the task stays first in line, with `cut`
   * remembered for the next call.
   */
  checked(taskId: string, finished: number, done: boolean, cut: RunKey | null = null): void {
    this.#estimate.set(taskId, finished);
    if (!done) {
      if (cut !== null) this.#cuts.set(taskId, cut);
      return;
    }
    this.#cuts.delete(taskId);
    if (this.#queue[0] === taskId) this.#queue.shift();
    else this.#queue = this.#queue.filter((id) => id !== taskId);
    this.#queued.delete(taskId);
  }

  /** Records runs of `taskId` deleted for another reason (age): its estimate goes down. */
  deletedElsewhere(taskId: string, n: number): void {
    this.#cuts.delete(taskId);
    const est = this.#estimate.get(taskId);
    if (est !== undefined) this.#estimate.set(taskId, Math.max(0, est - n));
  }

  /** Up to `n` tasks waiting to be counted, first in line first (to count several in one query). */
  queued(n: number): string[] {
    return this.#queue.slice(0, n);
  }

  /** The cutoff remembered for a task whose trim goes on (see #cuts), else null. */
  cutOf(taskId: string): RunKey | null {
    return this.#cuts.get(taskId) ?? null;
  }

  /** Tasks waiting to be counted (tests, metrics). */
  get pending(): number {
    return this.#queue.length;
  }

  #enqueue(taskId: string): void {
    if (this.#queued.has(taskId)) return;
    this.#queued.add(taskId);
    this.#queue.push(taskId);
  }
}
