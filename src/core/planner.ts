// The planner: pure decisions about schedule occurrences. Given a task, the run just claimed and
// the time, it says what to run, what to record as skipped, and which occurrence is pending
// next. The store applies the plan in the claim's transaction, so firing an occurrence and
// planning the next one cannot come apart.
import { parseDuration } from './duration.js';
import { hasAttemptsLeft, retryDelay } from './retry.js';
import { nextOccurrence, recentOccurrences } from './schedule/occurrences.js';
import type { Millis, NewRun, Run, Schedule, Task } from './types.js';

/**
 * What to do with one claimed schedule occurrence, decided by the planner (pure code) inside
 * the claim's transaction, so firing an occurrence and inserting the next happen together.
 */
export interface OccurrencePlan {
  /** Run the claimed occurrence, or record it as skipped with a reason (e.g. `misfire`). */
  claimed: 'run' | { skip: string };
  /** Rows to insert with the claim: missed occurrences as `skipped`, catch-up runs, the next pending occurrence. */
  inserts: NewRun[];
  /** The task's fired-occurrence count after this claim. */
  firedCount: number;
  /** Due time of the task's pending occurrence after this claim (null: none left). */
  nextRunAt: Millis | null;
}

/** Called by the store's `claimDueRuns` for each claimed run whose trigger is `schedule`. */
export type PlanOccurrence = (task: Task, run: Run, now: Millis) => OccurrencePlan;

export interface PlannerOptions {
  /** A schedule run claimed later than this after its due time counts as missed. */
  misfireThresholdMs: number;
  /** Makes run ids (newId in production). */
  newId: (now: Millis) => string;
  /** [0, 1); Math.random in production. */
  random: () => number;
}

/**
 * Most missed occurrences one claim records as `skipped` rows (the most recent ones). Older
 * ones leave no row: a month of a 1-second schedule must not become 2.6 million inserts.
 */
export const MAX_MISFIRE_SKIPPED_ROWS = 1000;
/** Most catch-up runs one claim creates under `run_all` (the most recent eligible occurrences). */
export const MAX_CATCHUP_RUNS = 1000;
/**
 * `reason` of a catch-up run inserted under `run_all`. Its own claim must not plan again: its
 * occurrence was counted and the next pending one inserted by the claim that created it.
 */
export const CATCHUP_REASON = 'catch_up';
/** `reason` of a claimed occurrence skipped because the schedule's `maxRuns` is used up. */
export const MAX_RUNS_REASON = 'max_runs';

type PlannableTask = Omit<Task, 'lastRunAt' | 'lastRunStatus' | 'version'>;

function jitterMs(schedule: Schedule): number {
  return schedule.jitter === undefined ? 0 : (parseDuration(schedule.jitter) ?? 0);
}

// A `once` schedule has one occurrence: once it fired, re-planning it (resume, a PATCH that
// keeps it) must not fire it again. A new schedule starts a new count (the API resets firedCount).
function maxRunsOf(schedule: Schedule): number {
  return Math.min(schedule.maxRuns ?? Number.POSITIVE_INFINITY, schedule.type === 'once' ? 1 : Number.POSITIVE_INFINITY);
}

/** A `schedule` run row for one occurrence; the idempotency key names the occurrence. */
function occurrenceRun(
  task: PlannableTask,
  occurrenceAt: Millis,
  fields: { status: 'scheduled' | 'skipped'; scheduledFor: Millis; reason: string | null; now: Millis; createdBy: string },
  opts: PlannerOptions,
): NewRun {
  return {
    id: opts.newId(fields.now),
    namespace: task.namespace,
    taskId: task.id,
    taskName: task.name,
    status: fields.status,
    attempt: 1,
    retryOf: null,
    trigger: 'schedule',
    occurrenceAt,
    scheduledFor: fields.scheduledFor,
    priority: task.policies.priority,
    payload: task.payload,
    idempotencyKey: `${task.id}:${occurrenceAt}`,
    reason: fields.reason,
    createdAt: fields.now,
    createdBy: fields.createdBy,
  };
}

/** The pending row for an occurrence, its due time spread by the schedule's jitter. */
function pendingRun(task: PlannableTask, schedule: Schedule, occurrenceAt: Millis, now: Millis, createdBy: string, opts: PlannerOptions): NewRun {
  const spread = Math.floor(opts.random() * jitterMs(schedule));
  return occurrenceRun(task, occurrenceAt, { status: 'scheduled', scheduledFor: occurrenceAt + spread, reason: null, now, createdBy }, opts);
}

/**
 * The first pending occurrence of a task's schedule at or after `now` (null when the task has
 * no schedule, is paused, or the schedule has no occurrence left).
 */
export function planFirstRun(task: Omit<Task, 'lastRunAt' | 'lastRunStatus' | 'version'>, now: Millis, opts: PlannerOptions): NewRun | null {
  const schedule = task.schedule;
  if (schedule === null || task.status === 'paused') return null;
  if (task.firedCount >= maxRunsOf(schedule)) return null;
  // A one-off time already past still gets its run: the misfire policy decides its fate when
  // it is claimed, and that decision is then on record.
  const occurrence = schedule.type === 'once' ? nextOccurrence(schedule, Number.NEGATIVE_INFINITY) : nextOccurrence(schedule, now - 1);
  if (occurrence === null) return null;
  return pendingRun(task, schedule, occurrence, now, task.updatedBy, opts);
}

/** The planner that `Store.claimDueRuns` calls for each claimed schedule occurrence. */
export function createOccurrencePlanner(opts: PlannerOptions): PlanOccurrence {
  return (task, run, now) => planOccurrence(task, run, now, opts);
}

function planOccurrence(task: Task, run: Run, now: Millis, opts: PlannerOptions): OccurrencePlan {
  const schedule = task.schedule;
  if (schedule === null) return { claimed: { skip: 'unscheduled' }, inserts: [], firedCount: task.firedCount, nextRunAt: null };
  if (run.reason === CATCHUP_REASON) {
    return { claimed: 'run', inserts: [], firedCount: task.firedCount, nextRunAt: task.nextRunAt };
  }
  const occurrenceAt = run.occurrenceAt ?? run.scheduledFor;
  const maxRuns = maxRunsOf(schedule);
  if (task.firedCount >= maxRuns) {
    // Only reachable when maxRuns was lowered under a pending row: the budget is spent.
    return { claimed: { skip: MAX_RUNS_REASON }, inserts: [], firedCount: task.firedCount, nextRunAt: null };
  }

  if (now - run.scheduledFor <= opts.misfireThresholdMs) {
    const firedCount = task.firedCount + 1;
    const inserts: NewRun[] = [];
    const next = firedCount < maxRuns ? nextOccurrence(schedule, occurrenceAt) : null;
    if (next !== null) inserts.push(pendingRun(task, schedule, next, now, 'system', opts));
    return { claimed: 'run', inserts, firedCount, nextRunAt: inserts[0]?.scheduledFor ?? null };
  }
  return planMissed(task, schedule, run, occurrenceAt, now, opts);
}

/**
 * A claim that came too late: the claimed occurrence and every later one up to `now` were
 * missed. Work is bounded by the row caps however many were missed.
 */
function planMissed(task: Task, schedule: Schedule, run: Run, occurrenceAt: Millis, now: Millis, opts: PlannerOptions): OccurrencePlan {
  const { policy, catchupWindowMs } = task.policies.misfire;
  const eligibleFrom = now - catchupWindowMs;
  const budget = maxRunsOf(schedule) - task.firedCount;

  // The most recent missed occurrences after the claimed one: enough to fill both caps.
  const { occurrences: later } = recentOccurrences(schedule, occurrenceAt, now, MAX_MISFIRE_SKIPPED_ROWS + MAX_CATCHUP_RUNS);
  const newest = later.length > 0 ? later[later.length - 1]! : occurrenceAt;

  // Which of the missed occurrences run: `toRun` holds those among `later`, `claimedRuns` the claim.
  let claimedRuns = false;
  let toRun: Millis[] = [];
  if (policy === 'run_once') {
    // The claimed row stands for the single catch-up run; the newest occurrence is the one whose
    // eligibility matters, since the window counts back from now.
    claimedRuns = newest >= eligibleFrom;
  } else if (policy === 'run_all') {
    const eligible = later.filter((t) => t >= eligibleFrom);
    const cap = Math.min(MAX_CATCHUP_RUNS, budget);
    const claimedEligible = occurrenceAt >= eligibleFrom;
    // Under a cap the most recent occurrences win; the claimed one is the oldest of all.
    toRun = eligible.slice(Math.max(0, eligible.length - cap));
    claimedRuns = claimedEligible && toRun.length < cap;
  }

  const inserts: NewRun[] = [];
  const runSet = new Set(toRun);
  const skipped = later.filter((t) => !runSet.has(t)).slice(-MAX_MISFIRE_SKIPPED_ROWS);
  for (const t of skipped) {
    inserts.push(occurrenceRun(task, t, { status: 'skipped', scheduledFor: t, reason: 'misfire', now, createdBy: 'system' }, opts));
  }
  for (const t of toRun) {
    // Due now, so its own claim is on time; marked so that claim does not plan again.
    inserts.push(occurrenceRun(task, t, { status: 'scheduled', scheduledFor: now, reason: CATCHUP_REASON, now, createdBy: 'system' }, opts));
  }

  const firedCount = task.firedCount + toRun.length + (claimedRuns ? 1 : 0);
  let nextRunAt: Millis | null = null;
  if (firedCount < maxRunsOf(schedule)) {
    const next = nextOccurrence(schedule, Math.max(now, newest));
    if (next !== null) {
      const pending = pendingRun(task, schedule, next, now, 'system', opts);
      inserts.push(pending);
      nextRunAt = pending.scheduledFor;
    }
  }
  return { claimed: claimedRuns ? 'run' : { skip: 'misfire' }, inserts, firedCount, nextRunAt };
}

/** The retry attempt to insert after `run` ended failed/timed out, or null when none is left. */
export function planRetry(task: Task, run: Run, now: Millis, opts: PlannerOptions): NewRun | null {
  // queued/running count too: a run lost with its node is a failed attempt.
  const retryable = run.status === 'failed' || run.status === 'timed_out' || run.status === 'queued' || run.status === 'running';
  if (!retryable || !hasAttemptsLeft(task.policies.retry, run.attempt)) return null;
  return {
    id: opts.newId(now),
    namespace: run.namespace,
    taskId: run.taskId,
    taskName: task.name,
    status: 'scheduled',
    attempt: run.attempt + 1,
    retryOf: run.id,
    trigger: 'retry',
    occurrenceAt: run.occurrenceAt,
    scheduledFor: now + retryDelay(task.policies.retry, run.attempt, opts.random),
    priority: run.priority,
    payload: run.payload,
    idempotencyKey: run.idempotencyKey,
    reason: null,
    createdAt: now,
    createdBy: 'system',
  };
}
