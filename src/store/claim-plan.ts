// The planning half of a due-run claim, free of any database: given the runs a claim just took (in
// due order) and their tasks, it asks the planner about every schedule occurrence and says what
// the store must write in the same transaction. A store runs it between its claim statement and
// its writes (the PostgreSQL store does; the SQLite store interleaves the same steps with its
// statements in ./sqlite/claims.ts, where one writer makes per-row statements cheap).
import { runError } from '../core/run-errors.js';
import type { Millis, Run, Task } from '../core/types.js';
import type { ClaimedRun, NewRun, OccurrencePlan, PlanOccurrence } from './store.js';
import { RunCountTally } from './run-count-tally.js';

/** A claimed run that ends within the claim, with the column values to write. */
export interface EndedClaim {
  run: Run;
  status: 'cancelled' | 'failed' | 'skipped';
  reason: string;
  /** JSON text of the error (plan failures only). */
  error: string | null;
}

/** What the claim's transaction must write after planning. */
export interface ClaimPlan {
  /** The runs handed to the caller, in due order: queued ones, and the planned skips (already final). */
  out: ClaimedRun[];
  /** Claimed runs that end now: cancelled (task deleted), failed (plan threw) or skipped (planned). */
  ended: EndedClaim[];
  /** Rows the plans insert, in plan order (insert-or-ignore on the occurrence key). */
  inserts: NewRun[];
  /** Tasks whose counters the plans moved, with their final `firedCount` and `nextRunAt`. */
  counters: Task[];
  /** Count changes of the ended runs (inserted rows are counted by the store, once inserted). */
  counts: RunCountTally;
}

/**
 * Plans claimed runs (in due order) at `now`. `taskOf` gives each run's task as the claim read it
 * (null: deleted). Runs are changed in place for planned skips, as the store's write leaves them.
 */
export function planClaims(runs: readonly Run[], taskOf: (taskId: string) => Task | null, plan: PlanOccurrence, now: Millis): ClaimPlan {
  const result: ClaimPlan = { out: [], ended: [], inserts: [], counters: [], counts: new RunCountTally() };
  // The task as this claim sees it: plans of earlier occurrences in the batch move its counters,
  // and a later occurrence of the same task must be planned from there.
  const tasks = new Map<string, Task | null>();
  const planned = new Map<string, Task>();
  for (const run of runs) {
    let task = tasks.get(run.taskId);
    if (task === undefined) {
      task = taskOf(run.taskId);
      tasks.set(run.taskId, task);
    }
    if (task === null) {
      result.ended.push({ run, status: 'cancelled', reason: 'deleted', error: null });
      result.counts.add(run.namespace, 'cancelled');
      continue;
    }
    if (run.trigger !== 'schedule') {
      result.out.push({ run, task });
      continue;
    }
    let p: OccurrencePlan;
    try {
      p = plan(task, run, now);
    } catch (err) {
      // A planner bug for one task must not wedge every claim behind it: that occurrence fails
      // (visibly, with the error) and the rest of the batch goes on.
      const message = err instanceof Error ? err.message : String(err);
      result.ended.push({ run, status: 'failed', reason: 'plan_failed', error: JSON.stringify(runError('plan_failed', message)) });
      result.counts.add(run.namespace, 'failed');
      continue;
    }
    for (const ins of p.inserts) result.inserts.push(ins);
    if (p.firedCount !== task.firedCount || p.nextRunAt !== task.nextRunAt) {
      task = { ...task, firedCount: p.firedCount, nextRunAt: p.nextRunAt };
      tasks.set(task.id, task);
      planned.set(task.id, task);
    }
    if (p.claimed !== 'run') {
      const reason = p.claimed.skip;
      result.ended.push({ run, status: 'skipped', reason, error: null });
      result.counts.add(run.namespace, 'skipped');
      run.status = 'skipped';
      run.reason = reason;
      run.finishedAt = now;
      run.leaseUntil = null;
      run.updatedAt = now;
    }
    result.out.push({ run, task });
  }
  result.counters = [...planned.values()];
  return result;
}
