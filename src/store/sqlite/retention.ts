// History retention of the SQLite store (Store.pruneHistory): deletes finished runs past the age
// and per-task limits, with their logs and samples, and takes them off `run_counts`, inside one
// operation of the group-commit writer. Everything it does holds the writer, which the claim
// path waits on, so every call is bounded twice: by `limit` runs deleted and by an estimated
// amount of reading (WORK_BUDGET_US) spent finding them.
//
// - Age: the oldest finishes first, straight from the runs_finished index (migration V5); without
//   it, finding 1,000 old runs among 300,000 was a scan and a sort of the whole table (~85 ms).
// - Per task: RetentionTracker (../retention-tracker.ts) says which task to count; a count reads
//   the task's runs_task_time entries (the index alone) and, only for a task over its limit, its
//   `keep` newest finished runs, to find where its history may be cut.
//
// A run is finished when `finished_at` is set: every write that ends a run sets it, the only write
// that reopens one (reviveCancelledRun) clears it, and the status test below is a second guard so
// that a pending or running run is never deleted whatever a future write does.
import type Database from 'better-sqlite3';
import type { Millis } from '../../core/types.js';
import { RetentionTracker, type RunKey, type TrackerOptions, type TrackerStep } from '../retention-tracker.js';
import type { PruneOptions } from '../store.js';
import { RunCountDelta } from './run-counts.js';
import type { Statements } from './statements.js';

// Costs as measured on the 2-core development machine (bench/retention-bench.ts), in µs: an entry
// of an index walked alone ~0.2–1, a row looked up through an index ~1.5–7 (the spread is the
// machine's load). Estimates, not clocks: the store never reads one, and a test gets the same
// call boundaries every time.
/**
 * Reading one call may spend finding runs to delete, in estimated µs (the deletes not counted):
 * a base, plus an allowance per run it may delete. Trimming a task reads ~10 rows per run it
 * deletes (its `keep` newest to find the cut, for `keep / 10` runs past it), so a call can fill
 * its `limit` from the count limit; a call that stops on the base (nothing found, e.g. the first
 * pass over tasks within their limits) returns less than `limit` and the caller's next round
 * goes on where it stopped.
 */
const WORK_BUDGET_US = 5_000;
const WORK_PER_RUN_US = 40;
/** Estimated cost of one index entry read without its row (an index-only walk). */
const INDEX_STEP_US = 0.25;
/** Estimated cost of one row read through an index (a lookup in the table b-tree). */
const ROW_LOOKUP_US = 3;

// OR, not IN: see the note on the runs table's CHECK in migrations.ts.
const FINISHED = "finished_at IS NOT NULL AND status <> 'scheduled' AND status <> 'queued' AND status <> 'running'";

/** A run picked for deletion. */
interface Victim {
  rid: number;
  id: string;
  namespace: string;
  status: string;
  task_id: string;
}

function prepare(db: Database.Database) {
  const p = <R = unknown>(sql: string) => db.prepare<unknown[], R>(sql);
  const n = <R = unknown>(sql: string) => db.prepare<Record<string, unknown>, R>(sql);
  return {
    oldest: n<Victim>(
      `SELECT rowid AS rid, id, namespace, status, task_id FROM runs INDEXED BY runs_finished WHERE finished_at < @before AND ${FINISHED} ` +
        'ORDER BY finished_at LIMIT @limit',
    ),
    // Index-only (runs_task_time covers task_id): how many runs the task has, any status, capped.
    countRuns: p<number>('SELECT count(*) FROM (SELECT 1 FROM runs INDEXED BY runs_task_time WHERE task_id = ? LIMIT ?)').pluck(true),
    // The task's `keep`-th newest finished run, in listRuns order: where its history may be cut.
    cutoff: p<{ sf: number; id: string }>(
      `SELECT scheduled_for AS sf, id FROM runs INDEXED BY runs_task_time WHERE task_id = ? AND ${FINISHED} ` +
        'ORDER BY scheduled_for DESC, id DESC LIMIT 1 OFFSET ?',
    ),
    olderThan: n<Victim>(
      `SELECT rowid AS rid, id, namespace, status, task_id FROM runs INDEXED BY runs_task_time WHERE task_id = @task AND ${FINISHED} ` +
        'AND (scheduled_for, id) < (@sf, @id) ORDER BY scheduled_for, id LIMIT @limit',
    ),
    allFinished: n<Victim>(
      `SELECT rowid AS rid, id, namespace, status, task_id FROM runs INDEXED BY runs_task_time WHERE task_id = @task AND ${FINISHED} ` +
        'ORDER BY scheduled_for, id LIMIT @limit',
    ),
    window: n<{ taskId: string; n: number; last: number }>(
      'SELECT task_id AS taskId, count(*) AS n, max(finished_at) AS last FROM (SELECT task_id, finished_at FROM runs INDEXED BY runs_finished ' +
        'WHERE finished_at >= @from AND finished_at < @to ORDER BY finished_at LIMIT @rows) GROUP BY task_id',
    ),
    // One step of a loose index scan: the next task id that has runs.
    nextTask: p<string | null>('SELECT min(task_id) FROM runs WHERE task_id > ?').pluck(true),
    deleteRuns: p('DELETE FROM runs WHERE rowid IN (SELECT value FROM json_each(?))'),
    deleteLogs: p('DELETE FROM run_logs WHERE run_id IN (SELECT value FROM json_each(?))'),
    deleteSamples: p('DELETE FROM run_samples WHERE run_id IN (SELECT value FROM json_each(?))'),
  };
}

/** Retention for one SQLite database: its statements and the per-task tracker. */
export class SqliteRetention {
  readonly #s: ReturnType<typeof prepare>;
  readonly #trackerOptions: TrackerOptions;
  #tracker: RetentionTracker | null = null;

  /** Prepares the statements; the schema must be migrated (V5 adds the index they use). */
  constructor(db: Database.Database, trackerOptions: TrackerOptions = {}) {
    this.#s = prepare(db);
    this.#trackerOptions = trackerOptions;
  }

  /** Store.pruneHistory's body; runs inside a writer operation (its transaction). */
  prune(st: Statements, opts: PruneOptions, now: Millis): number {
    const limit = Math.max(0, Math.floor(opts.limit));
    if (limit === 0) return 0;
    const victims: Victim[] = [];
    if (opts.finishedBefore !== null) {
      victims.push(...this.#s.oldest.all({ before: opts.finishedBefore, limit }));
    }
    if (opts.keepPerTask !== null && victims.length < limit) {
      const keep = Math.max(0, Math.floor(opts.keepPerTask));
      if (this.#tracker?.keep !== keep) this.#tracker = new RetentionTracker(keep, this.#trackerOptions);
      const tracker = this.#tracker;
      // Runs the age limit takes now do not count toward a task's total any more.
      const byTask = new Map<string, number>();
      for (const v of victims) byTask.set(v.task_id, (byTask.get(v.task_id) ?? 0) + 1);
      for (const [task, n] of byTask) tracker.deletedElsewhere(task, n);
      this.#perTask(tracker, now, limit, victims);
    }
    if (victims.length === 0) return 0;
    this.#delete(st, victims);
    return victims.length;
  }

  /** Adds victims of the per-task limit until `limit` or the work budget is reached. */
  #perTask(tracker: RetentionTracker, now: Millis, limit: number, victims: Victim[]): void {
    const taken = new Set(victims.map((v) => v.rid));
    const budget = WORK_BUDGET_US + WORK_PER_RUN_US * limit;
    let spent = 0;
    while (victims.length < limit && spent < budget) {
      const step: TrackerStep = tracker.next(now);
      if (step.kind === 'idle') return;
      if (step.kind === 'window') {
        const rows = this.#s.window.all({ from: step.from, to: step.to, rows: step.rows });
        let read = 0;
        let last: number | null = null;
        for (const r of rows) {
          read += r.n;
          if (last === null || r.last > last) last = r.last;
        }
        tracker.windowRead(step, rows, read >= step.rows, last);
        spent += read * ROW_LOOKUP_US;
      } else if (step.kind === 'pass') {
        const ids: string[] = [];
        let after = step.after ?? '';
        for (let i = 0; i < step.tasks; i++) {
          const id = this.#s.nextTask.get(after);
          if (id == null) break;
          ids.push(id);
          after = id;
        }
        tracker.passRead(step, ids);
        spent += ids.length * 20 * INDEX_STEP_US;
      } else {
        spent += this.#check(tracker, step.taskId, limit - victims.length, victims, taken);
      }
    }
  }

  /**
   * Counts one task and picks its finished runs past `keep`, oldest first, at most `room`.
   * Returns the estimated cost of the reads.
   */
  #check(tracker: RetentionTracker, taskId: string, room: number, victims: Victim[], taken: Set<number>): number {
    const keep = tracker.keep;
    let cost = 0;
    let cut: RunKey | null = tracker.cutOf(taskId);
    if (cut === null) {
      // Runs of any status bound the finished ones from above: at most `keep` of them and
      // there is nothing to delete, which the index alone tells.
      const all = this.#s.countRuns.get(taskId, keep + 1) ?? 0;
      cost += all * INDEX_STEP_US;
      if (all <= keep) {
        tracker.checked(taskId, all, true);
        return cost;
      }
      if (keep > 0) {
        const row = this.#s.cutoff.get(taskId, keep - 1);
        cost += keep * ROW_LOOKUP_US;
        if (row === undefined) {
          // Fewer than `keep` finished runs (the rest are pending or running). Counted as
          // `keep` so that the next count waits for `slack` more finishes.
          tracker.checked(taskId, keep, true);
          return cost;
        }
        cut = row;
      }
    }
    // Runs of this task the age limit picked already may come back: ask for as many more.
    let overlap = 0;
    for (const v of victims) if (v.task_id === taskId) overlap++;
    const ask = room + overlap;
    const picked =
      cut === null
        ? this.#s.allFinished.all({ task: taskId, limit: ask })
        : this.#s.olderThan.all({ task: taskId, sf: cut.sf, id: cut.id, limit: ask });
    cost += picked.length * ROW_LOOKUP_US;
    let added = 0;
    let left = 0;
    for (const v of picked) {
      if (taken.has(v.rid)) continue;
      if (added === room) {
        left++;
        continue;
      }
      taken.add(v.rid);
      victims.push(v);
      added++;
    }
    // Fewer rows than asked for, all of them taken: everything past the cutoff goes now.
    // Otherwise more may be left, and the task stays first in line for the next call.
    const done = picked.length < ask && left === 0;
    tracker.checked(taskId, done ? keep : keep + tracker.slack + 1, done, cut);
    return cost;
  }

  /** Deletes the victims, their logs and samples, and takes them off run_counts. */
  #delete(st: Statements, victims: Victim[]): void {
    const rids = JSON.stringify(victims.map((v) => v.rid));
    const ids = JSON.stringify(victims.map((v) => v.id));
    this.#s.deleteRuns.run(rids);
    this.#s.deleteLogs.run(ids);
    this.#s.deleteSamples.run(ids);
    const counts = new RunCountDelta();
    for (const v of victims) counts.add(v.namespace, v.status, -1);
    counts.apply(st);
  }
}
