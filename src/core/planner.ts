// STUB: owned by the core-domain helper; signatures are fixed, bodies to be written.
import type { NewRun, PlanOccurrence } from '../store/store.js';
import type { Millis, Run, Task } from './types.js';

export interface PlannerOptions {
  /** A schedule run claimed later than this after its due time counts as missed. */
  misfireThresholdMs: number;
  /** Makes run ids (newId in production). */
  newId: (now: Millis) => string;
  /** [0, 1); Math.random in production. */
  random: () => number;
}

/**
 * The first pending occurrence of a task's schedule at or after `now` (null when the task has
 * no schedule, is paused, or the schedule has no occurrence left).
 */
export function planFirstRun(task: Omit<Task, 'lastRunAt' | 'lastRunStatus' | 'version'>, now: Millis, opts: PlannerOptions): NewRun | null {
  throw new Error(`not implemented: planFirstRun(${String(task)}, ${now}, ${String(opts)})`);
}

/** The planner that `Store.claimDueRuns` calls for each claimed schedule occurrence. */
export function createOccurrencePlanner(opts: PlannerOptions): PlanOccurrence {
  throw new Error(`not implemented: createOccurrencePlanner(${String(opts)})`);
}

/** The retry attempt to insert after `run` ended failed/timed out, or null when none is left. */
export function planRetry(task: Task, run: Run, now: Millis, opts: PlannerOptions): NewRun | null {
  throw new Error(`not implemented: planRetry(${String(task)}, ${String(run)}, ${now}, ${String(opts)})`);
}
