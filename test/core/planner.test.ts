import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CATCHUP_REASON,
  createOccurrencePlanner,
  MAX_CATCHUP_RUNS,
  MAX_MISFIRE_SKIPPED_ROWS,
  planFirstRun,
  planRetry,
  type OccurrencePlan,
  type PlannerOptions,
} from '../../src/core/planner.js';
import { DEFAULT_POLICIES } from '../../src/core/policies.js';
import type { Millis, NewRun, Policies, Run, Schedule, Task } from '../../src/core/types.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

function options(random = 0.5): PlannerOptions {
  let n = 0;
  return { misfireThresholdMs: 5 * SEC, newId: () => `id-${++n}`, random: () => random };
}

function policies(over: { misfire?: Partial<Policies['misfire']>; retry?: Partial<Policies['retry']> } & Partial<Omit<Policies, 'misfire' | 'retry'>> = {}): Policies {
  const { misfire, retry, ...rest } = over;
  return {
    ...structuredClone(DEFAULT_POLICIES),
    ...rest,
    misfire: { ...DEFAULT_POLICIES.misfire, ...misfire },
    retry: { ...DEFAULT_POLICIES.retry, ...retry },
  };
}

/** A task with a 1-minute interval anchored at T0, unless told otherwise. */
function makeTask(over: Partial<Task> = {}): Task {
  return {
    id: 'task-1',
    namespace: 'team-a',
    name: 'nightly',
    description: null,
    kind: 'http',
    spec: { url: 'https://example.com/hook' },
    schedule: { type: 'interval', every: '1m', startAt: new Date(T0).toISOString() },
    policies: policies({ priority: 7 }),
    payload: { hello: 'world' },
    status: 'active',
    firedCount: 0,
    nextRunAt: null,
    lastRunAt: null,
    lastRunStatus: null,
    version: 1,
    createdAt: T0 - HOUR,
    updatedAt: T0 - HOUR,
    createdBy: 'key:creator',
    updatedBy: 'key:editor',
    ...over,
  };
}

/** The claimed (queued) run of one occurrence of `task`. */
function makeRun(task: Task, occurrenceAt: Millis, over: Partial<Run> = {}): Run {
  return {
    id: `run-${occurrenceAt}`,
    namespace: task.namespace,
    taskId: task.id,
    taskName: task.name,
    status: 'queued',
    attempt: 1,
    retryOf: null,
    trigger: 'schedule',
    occurrenceAt,
    scheduledFor: occurrenceAt,
    priority: task.policies.priority,
    payload: task.payload,
    idempotencyKey: `${task.id}:${occurrenceAt}`,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    node: 'node-1',
    leaseUntil: null,
    leaseEpoch: 1,
    result: null,
    error: null,
    reason: null,
    logsTruncated: false,
    createdAt: occurrenceAt - MIN,
    updatedAt: occurrenceAt - MIN,
    createdBy: 'system',
    cpuMs: null,
    peakRssBytes: null,
    diskWriteBytes: null,
    ...over,
  };
}

/** The rows of a plan in a compact, comparable form. */
function rows(plan: OccurrencePlan): { status: string; at: Millis; for: Millis; reason: string | null | undefined }[] {
  return plan.inserts.map((r) => ({ status: r.status, at: r.occurrenceAt!, for: r.scheduledFor, reason: r.reason }));
}
const skippedRow = (at: Millis): ReturnType<typeof rows>[number] => ({ status: 'skipped', at, for: at, reason: 'misfire' });
const catchupRow = (at: Millis, now: Millis): ReturnType<typeof rows>[number] => ({ status: 'scheduled', at, for: now, reason: CATCHUP_REASON });
const pendingRow = (at: Millis): ReturnType<typeof rows>[number] => ({ status: 'scheduled', at, for: at, reason: null });

// ---- planFirstRun ----------------------------------------------------------------------------

test('planFirstRun: the first occurrence at or after now, as a full NewRun', () => {
  const task = makeTask();
  const run = planFirstRun(task, T0 + 90 * SEC, options());
  assert.deepEqual(run, {
    id: 'id-1',
    namespace: 'team-a',
    taskId: 'task-1',
    taskName: 'nightly',
    status: 'scheduled',
    attempt: 1,
    retryOf: null,
    trigger: 'schedule',
    occurrenceAt: T0 + 2 * MIN,
    scheduledFor: T0 + 2 * MIN,
    priority: 7,
    payload: { hello: 'world' },
    idempotencyKey: `task-1:${T0 + 2 * MIN}`,
    reason: null,
    createdAt: T0 + 90 * SEC,
    createdBy: 'key:editor',
  } satisfies NewRun);
  // An occurrence exactly at now counts.
  assert.equal(planFirstRun(task, T0 + 2 * MIN, options())?.occurrenceAt, T0 + 2 * MIN);
  assert.equal(planFirstRun(task, T0 - HOUR, options())?.occurrenceAt, T0);
});

test('planFirstRun: nothing for no schedule, paused, maxRuns reached, or a finished schedule', () => {
  const at = T0 + 10 * MIN;
  assert.equal(planFirstRun(makeTask({ schedule: null }), at, options()), null);
  assert.equal(planFirstRun(makeTask({ status: 'paused' }), at, options()), null);
  const limited: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), maxRuns: 3 };
  assert.equal(planFirstRun(makeTask({ schedule: limited, firedCount: 3 }), at, options()), null);
  assert.notEqual(planFirstRun(makeTask({ schedule: limited, firedCount: 2 }), at, options()), null);
  const ended: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), endAt: new Date(T0 + 5 * MIN).toISOString() };
  assert.equal(planFirstRun(makeTask({ schedule: ended }), at, options()), null);
});

test('planFirstRun: a once schedule in the past still gets its run at `at`', () => {
  const task = makeTask({ schedule: { type: 'once', at: new Date(T0).toISOString() } });
  const run = planFirstRun(task, T0 + HOUR, options());
  assert.equal(run?.occurrenceAt, T0);
  assert.equal(run?.scheduledFor, T0);
});

test('planFirstRun: jitter spreads scheduledFor within [0, jitter)', () => {
  const schedule: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), jitter: '10s' };
  const task = makeTask({ schedule });
  assert.equal(planFirstRun(task, T0, options(0.5))?.scheduledFor, T0 + 5 * SEC);
  assert.equal(planFirstRun(task, T0, options(0))?.scheduledFor, T0);
  const high = planFirstRun(task, T0, options(0.9999999));
  assert.equal(high?.scheduledFor, T0 + 9999);
  assert.equal(high?.occurrenceAt, T0, 'the occurrence itself does not move');
});

// ---- on time ---------------------------------------------------------------------------------

test('on time: the claim runs, firedCount grows, the next occurrence is inserted', () => {
  const task = makeTask({ firedCount: 4 });
  const plan = createOccurrencePlanner(options())(task, makeRun(task, T0 + 3 * MIN), T0 + 3 * MIN + 5 * SEC);
  assert.equal(plan.claimed, 'run');
  assert.equal(plan.firedCount, 5);
  assert.deepEqual(rows(plan), [pendingRow(T0 + 4 * MIN)]);
  assert.equal(plan.nextRunAt, T0 + 4 * MIN);
  const next = plan.inserts[0]!;
  assert.equal(next.createdBy, 'system');
  assert.equal(next.trigger, 'schedule');
  assert.equal(next.attempt, 1);
  assert.equal(next.idempotencyKey, `task-1:${T0 + 4 * MIN}`);
  assert.equal(next.priority, 7);
  assert.deepEqual(next.payload, { hello: 'world' });
});

test('on time: a run claimed early (lookahead) is on time too', () => {
  const task = makeTask();
  const plan = createOccurrencePlanner(options())(task, makeRun(task, T0 + MIN), T0 + MIN - 800);
  assert.equal(plan.claimed, 'run');
  assert.deepEqual(rows(plan), [pendingRow(T0 + 2 * MIN)]);
});

test('on time: the next occurrence follows the occurrence, not the jittered due time', () => {
  const schedule: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), jitter: '30s' };
  const task = makeTask({ schedule });
  const run = makeRun(task, T0 + MIN, { scheduledFor: T0 + MIN + 20 * SEC });
  for (const r of [0, 0.25, 0.999999]) {
    const plan = createOccurrencePlanner(options(r))(task, run, T0 + MIN + 21 * SEC);
    const next = plan.inserts[0]!;
    assert.equal(next.occurrenceAt, T0 + 2 * MIN);
    assert.ok(next.scheduledFor >= T0 + 2 * MIN && next.scheduledFor < T0 + 2 * MIN + 30 * SEC);
    assert.equal(plan.nextRunAt, next.scheduledFor);
  }
});

test('on time: maxRuns stops the series after the last allowed run', () => {
  const schedule: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), maxRuns: 3 };
  const task = makeTask({ schedule, firedCount: 2 });
  const plan = createOccurrencePlanner(options())(task, makeRun(task, T0 + 2 * MIN), T0 + 2 * MIN);
  assert.deepEqual(plan, { claimed: 'run', inserts: [], firedCount: 3, nextRunAt: null });
});

test('on time: endAt stops the series', () => {
  const schedule: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), endAt: new Date(T0 + 150 * SEC).toISOString() };
  const task = makeTask({ schedule });
  const plan = createOccurrencePlanner(options())(task, makeRun(task, T0 + 2 * MIN), T0 + 2 * MIN);
  assert.deepEqual(plan, { claimed: 'run', inserts: [], firedCount: 1, nextRunAt: null });
});

test('once: runs and has no next occurrence', () => {
  const task = makeTask({ schedule: { type: 'once', at: new Date(T0).toISOString() } });
  assert.deepEqual(createOccurrencePlanner(options())(task, makeRun(task, T0), T0 + SEC), {
    claimed: 'run',
    inserts: [],
    firedCount: 1,
    nextRunAt: null,
  });
});

test('a task without a schedule skips the claim as unscheduled', () => {
  const task = makeTask({ schedule: null, firedCount: 2 });
  assert.deepEqual(createOccurrencePlanner(options())(task, makeRun(task, T0), T0), {
    claimed: { skip: 'unscheduled' },
    inserts: [],
    firedCount: 2,
    nextRunAt: null,
  });
});

test('a cron schedule plans its next occurrence from the expression', () => {
  const task = makeTask({ schedule: { type: 'cron', expression: '30 2 * * *', timezone: 'Europe/Berlin' } });
  const occ = Date.parse('2026-03-28T01:30:00Z');
  const plan = createOccurrencePlanner(options())(task, makeRun(task, occ), occ + SEC);
  assert.deepEqual(rows(plan), [pendingRow(Date.parse('2026-03-29T01:00:00Z'))]);
});

// ---- missed ----------------------------------------------------------------------------------

// The claimed occurrence is T0+1m; the node was down until T0+4m30s, so T0+2m, +3m and +4m
// were missed too. All are inside the default 1h catch-up window.
const CLAIMED = T0 + MIN;
const NOW = T0 + 4 * MIN + 30 * SEC;

function planMissed(policy: Policies['misfire']['policy'], over: Partial<Task> = {}, now = NOW, windowMs = HOUR): OccurrencePlan {
  const task = makeTask({ policies: policies({ priority: 7, misfire: { policy, catchupWindowMs: windowMs } }), ...over });
  return createOccurrencePlanner(options())(task, makeRun(task, CLAIMED), now);
}

test('missed, run_once: the claim is the one catch-up run; the rest are skipped rows', () => {
  const plan = planMissed('run_once', { firedCount: 10 });
  assert.equal(plan.claimed, 'run');
  assert.deepEqual(rows(plan), [skippedRow(T0 + 2 * MIN), skippedRow(T0 + 3 * MIN), skippedRow(T0 + 4 * MIN), pendingRow(T0 + 5 * MIN)]);
  assert.equal(plan.firedCount, 11);
  assert.equal(plan.nextRunAt, T0 + 5 * MIN);
  for (const r of plan.inserts) {
    assert.equal(r.createdBy, 'system');
    assert.equal(r.idempotencyKey, `task-1:${r.occurrenceAt}`);
  }
});

test('missed, run_all: every eligible occurrence runs, catch-ups due now', () => {
  const plan = planMissed('run_all');
  assert.equal(plan.claimed, 'run');
  assert.deepEqual(rows(plan), [catchupRow(T0 + 2 * MIN, NOW), catchupRow(T0 + 3 * MIN, NOW), catchupRow(T0 + 4 * MIN, NOW), pendingRow(T0 + 5 * MIN)]);
  assert.equal(plan.firedCount, 4);
  assert.equal(plan.nextRunAt, T0 + 5 * MIN);
});

test('missed, skip: the claim and every other missed occurrence are skipped', () => {
  const plan = planMissed('skip', { firedCount: 3 });
  assert.deepEqual(plan.claimed, { skip: 'misfire' });
  assert.deepEqual(rows(plan), [skippedRow(T0 + 2 * MIN), skippedRow(T0 + 3 * MIN), skippedRow(T0 + 4 * MIN), pendingRow(T0 + 5 * MIN)]);
  assert.equal(plan.firedCount, 3);
});

test('missed, with a catch-up window: only recent occurrences are eligible', () => {
  // Missed T0+1m .. T0+10m; a 2-minute window from T0+10m30s makes T0+9m and T0+10m eligible.
  const now = T0 + 10 * MIN + 30 * SEC;
  const older = [2, 3, 4, 5, 6, 7, 8].map((m) => skippedRow(T0 + m * MIN));

  const all = planMissed('run_all', {}, now, 2 * MIN);
  assert.deepEqual(all.claimed, { skip: 'misfire' });
  assert.deepEqual(rows(all), [...older, catchupRow(T0 + 9 * MIN, now), catchupRow(T0 + 10 * MIN, now), pendingRow(T0 + 11 * MIN)]);
  assert.equal(all.firedCount, 2);

  const once = planMissed('run_once', {}, now, 2 * MIN);
  assert.equal(once.claimed, 'run');
  assert.deepEqual(rows(once), [...older, skippedRow(T0 + 9 * MIN), skippedRow(T0 + 10 * MIN), pendingRow(T0 + 11 * MIN)]);
  assert.equal(once.firedCount, 1);

  // Nothing inside a 20-second window: even run_once skips.
  const none = planMissed('run_once', {}, now, 20 * SEC);
  assert.deepEqual(none.claimed, { skip: 'misfire' });
  assert.equal(none.firedCount, 0);
  assert.equal(rows(none).filter((r) => r.status === 'skipped').length, 9);
});

test('missed, run_all under maxRuns: the most recent eligible ones use up the budget', () => {
  const schedule: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), maxRuns: 3 };
  const plan = planMissed('run_all', { schedule, firedCount: 1 });
  assert.deepEqual(plan.claimed, { skip: 'misfire' });
  assert.deepEqual(rows(plan), [skippedRow(T0 + 2 * MIN), catchupRow(T0 + 3 * MIN, NOW), catchupRow(T0 + 4 * MIN, NOW)]);
  assert.equal(plan.firedCount, 3);
  assert.equal(plan.nextRunAt, null);
});

test('missed once schedule: runs under run_once inside the window, skipped outside it', () => {
  const task = makeTask({ schedule: { type: 'once', at: new Date(T0).toISOString() } });
  const plan = createOccurrencePlanner(options())(task, makeRun(task, T0), T0 + 10 * MIN);
  assert.deepEqual(plan, { claimed: 'run', inserts: [], firedCount: 1, nextRunAt: null });
  const late = createOccurrencePlanner(options())(task, makeRun(task, T0), T0 + 2 * HOUR);
  assert.deepEqual(late, { claimed: { skip: 'misfire' }, inserts: [], firedCount: 0, nextRunAt: null });
});

test('missed, with endAt in the past: no pending occurrence after the missed ones', () => {
  const schedule: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), endAt: new Date(T0 + 3 * MIN).toISOString() };
  const plan = planMissed('run_once', { schedule });
  assert.deepEqual(rows(plan), [skippedRow(T0 + 2 * MIN), skippedRow(T0 + 3 * MIN)]);
  assert.equal(plan.nextRunAt, null);
});

test('a catch-up run, when claimed, runs without planning again', () => {
  const task = makeTask({ firedCount: 4, nextRunAt: T0 + 5 * MIN });
  const run = makeRun(task, T0 + 2 * MIN, { scheduledFor: NOW, reason: CATCHUP_REASON });
  // Even claimed late, it neither counts twice nor moves the pending occurrence.
  for (const now of [NOW, NOW + HOUR]) {
    assert.deepEqual(createOccurrencePlanner(options())(task, run, now), { claimed: 'run', inserts: [], firedCount: 4, nextRunAt: T0 + 5 * MIN });
  }
});

test('a claim after maxRuns was lowered is skipped', () => {
  const schedule: Schedule = { type: 'interval', every: '1m', startAt: new Date(T0).toISOString(), maxRuns: 2 };
  const task = makeTask({ schedule, firedCount: 2 });
  assert.deepEqual(createOccurrencePlanner(options())(task, makeRun(task, CLAIMED), CLAIMED), {
    claimed: { skip: 'max_runs' },
    inserts: [],
    firedCount: 2,
    nextRunAt: null,
  });
});

// ---- no cliff --------------------------------------------------------------------------------

/** A 1-second interval claimed `missed` seconds late, planned under `policy`. */
function planManyMissed(missed: number, policy: Policies['misfire']['policy'], schedule?: Schedule): { plan: OccurrencePlan; ms: number; now: Millis } {
  const task = makeTask({
    schedule: schedule ?? { type: 'interval', every: '1s', startAt: new Date(T0).toISOString() },
    policies: policies({ misfire: { policy, catchupWindowMs: HOUR } }),
  });
  const now = T0 + missed * SEC + 500;
  const began = performance.now();
  const plan = createOccurrencePlanner(options())(task, makeRun(task, T0), now);
  return { plan, ms: performance.now() - began, now };
}

test('10,000 missed occurrences: bounded rows, the most recent ones', () => {
  const { plan } = planManyMissed(10_000, 'run_once');
  assert.equal(plan.claimed, 'run');
  const skipped = plan.inserts.filter((r) => r.status === 'skipped');
  assert.equal(skipped.length, MAX_MISFIRE_SKIPPED_ROWS);
  assert.equal(skipped[0]!.occurrenceAt, T0 + 9001 * SEC);
  assert.equal(skipped.at(-1)!.occurrenceAt, T0 + 10_000 * SEC);
  assert.deepEqual(rows(plan).at(-1), pendingRow(T0 + 10_001 * SEC));
  assert.equal(plan.firedCount, 1);
});

test('10,000 missed under run_all: at most 1,000 catch-up runs, the most recent eligible', () => {
  const { plan, now } = planManyMissed(10_000, 'run_all');
  // Eligible: the last hour, T0+6401s .. T0+10000s (3,600 occurrences).
  const catchups = plan.inserts.filter((r) => r.reason === CATCHUP_REASON);
  assert.equal(catchups.length, MAX_CATCHUP_RUNS);
  assert.equal(catchups[0]!.occurrenceAt, T0 + 9001 * SEC);
  assert.equal(catchups.at(-1)!.occurrenceAt, T0 + 10_000 * SEC);
  assert.ok(catchups.every((r) => r.scheduledFor === now && r.status === 'scheduled'));
  const skipped = plan.inserts.filter((r) => r.status === 'skipped');
  assert.equal(skipped.length, MAX_MISFIRE_SKIPPED_ROWS);
  assert.equal(skipped[0]!.occurrenceAt, T0 + 8001 * SEC);
  assert.equal(skipped.at(-1)!.occurrenceAt, T0 + 9000 * SEC);
  assert.deepEqual(plan.claimed, { skip: 'misfire' });
  assert.equal(plan.firedCount, MAX_CATCHUP_RUNS);
  assert.equal(plan.inserts.length, MAX_CATCHUP_RUNS + MAX_MISFIRE_SKIPPED_ROWS + 1);
});

/**
 * "Behaves like 10" as a ratio, not a time: the best of five plans of `missed` occurrences
 * against the best of five of a thousand times fewer. A plan that walked every missed occurrence
 * would take about a thousand times longer; a bounded one about as long (the bound leaves room
 * for a collection or a recompilation landing in every try). Measured side by side, so a machine
 * busy with other work slows both.
 */
function growth(missed: number, policy: Policies['misfire']['policy'], schedule?: Schedule): { big: number; small: number; ok: boolean } {
  const best = (n: number) => Math.min(...[0, 1, 2, 3, 4].map(() => planManyMissed(n, policy, schedule).ms));
  const big = best(missed);
  const small = best(missed / 1000);
  return { big, small, ok: big < 50 * small + 20 };
}

test('2,592,000 missed (a 1s interval down for 30 days) behaves like 10', () => {
  for (const policy of ['run_once', 'run_all', 'skip'] as const) {
    const { plan, ms } = planManyMissed(2_592_000, policy);
    const g = growth(2_592_000, policy);
    assert.ok(g.ok, `${policy}: ${g.big} ms for 2,592,000 missed, ${g.small} ms for 2,592 (first plan ${ms} ms)`);
    assert.ok(plan.inserts.length <= MAX_CATCHUP_RUNS + MAX_MISFIRE_SKIPPED_ROWS + 1);
    assert.deepEqual(rows(plan).at(-1), pendingRow(T0 + 2_592_001 * SEC));
    const ats = plan.inserts.map((r) => r.occurrenceAt!);
    assert.equal(new Set(ats).size, ats.length, 'no occurrence twice');
  }
});

test('a per-second cron missed for 30 days is bounded too', () => {
  const cron: Schedule = { type: 'cron', expression: '* * * * * *', timezone: 'Europe/Berlin' };
  const { plan, ms } = planManyMissed(2_592_000, 'run_once', cron);
  const g = growth(2_592_000, 'run_once', cron);
  assert.ok(g.ok, `${g.big} ms for 2,592,000 missed, ${g.small} ms for 2,592 (first plan ${ms} ms)`);
  const skipped = plan.inserts.filter((r) => r.status === 'skipped');
  assert.equal(skipped.length, MAX_MISFIRE_SKIPPED_ROWS);
  assert.equal(skipped.at(-1)!.occurrenceAt, T0 + 2_592_000 * SEC);
  assert.deepEqual(rows(plan).at(-1), pendingRow(T0 + 2_592_001 * SEC));
});

// ---- retries ---------------------------------------------------------------------------------

test('planRetry: the next attempt of the same occurrence, after the backoff', () => {
  const task = makeTask({ policies: policies({ retry: { maxAttempts: 3, backoff: { type: 'exponential', initialMs: 1000, maxMs: 60_000, jitter: true } } }) });
  const run = makeRun(task, T0, { status: 'failed', attempt: 2, priority: 3, payload: { manual: true }, idempotencyKey: 'custom-key' });
  const now = T0 + 10 * SEC;
  assert.deepEqual(planRetry(task, run, now, options(0.5)), {
    id: 'id-1',
    namespace: 'team-a',
    taskId: 'task-1',
    taskName: 'nightly',
    status: 'scheduled',
    attempt: 3,
    retryOf: run.id,
    trigger: 'retry',
    occurrenceAt: T0,
    // Attempt 2 failed: d = 2s, jitter in [1s, 2s): 1s + 0.5·1s.
    scheduledFor: now + 1500,
    priority: 3,
    payload: { manual: true },
    idempotencyKey: 'custom-key',
    reason: null,
    createdAt: now,
    createdBy: 'system',
  } satisfies NewRun);
});

test('planRetry: timed out and lost runs retry; finished or exhausted ones do not', () => {
  const task = makeTask({ policies: policies({ retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 5000, maxMs: 5000, jitter: false } } }) });
  const now = T0 + MIN;
  for (const status of ['failed', 'timed_out', 'queued', 'running'] as const) {
    const retry = planRetry(task, makeRun(task, T0, { status }), now, options());
    assert.equal(retry?.attempt, 2, status);
    assert.equal(retry?.scheduledFor, now + 5000, status);
  }
  for (const status of ['succeeded', 'cancelled', 'skipped', 'scheduled'] as const) {
    assert.equal(planRetry(task, makeRun(task, T0, { status }), now, options()), null, status);
  }
  assert.equal(planRetry(task, makeRun(task, T0, { status: 'failed', attempt: 2 }), now, options()), null);
  assert.equal(planRetry(makeTask(), makeRun(task, T0, { status: 'failed' }), now, options()), null, 'default maxAttempts is 1');
});
