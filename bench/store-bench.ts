// Store throughput on the scheduler's hot path: insert due runs, then claim → running → complete
// in batches until the queue is drained, and print runs/s per phase.
//
//   node --import tsx bench/store-bench.ts [--runs=100000] [--batch=5000] [--tasks=10] [--trigger=api|schedule]
//
// `--trigger=schedule` makes every run a schedule occurrence, so each claim also calls a plan that
// inserts the task's next occurrence (far in the future, so it is not claimed again).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { newId } from '../src/core/ids.js';
import type { Policies } from '../src/core/types.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { NewRun, PlanOccurrence, RunCompletion } from '../src/store/store.js';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k ?? '', v ?? ''] as const;
  }),
);
const RUNS = Number(args.get('runs') ?? 100_000);
const BATCH = Number(args.get('batch') ?? 5_000);
const TASKS = Number(args.get('tasks') ?? 10);
const TRIGGER = (args.get('trigger') ?? 'api') as 'api' | 'schedule';

const POLICIES: Policies = {
  retry: { maxAttempts: 1, backoff: { type: 'exponential', initialMs: 1000, maxMs: 300_000, jitter: true } },
  timeoutMs: 300_000,
  overlap: 'allow_all',
  misfire: { policy: 'run_once', catchupWindowMs: 3_600_000 },
  priority: 0,
  concurrency: null,
  concurrencyKey: null,
};

const dir = mkdtempSync(join(tmpdir(), 'sundial-bench-'));
const store = await openSqliteStore({ dir });
await store.migrate();
const now = Date.now();
const audit = { namespace: 'bench', at: now, actor: 'bench', ip: null, action: 'task.create', targetType: 'task', targetId: '' };

const taskIds: string[] = [];
const taskNames = new Map<string, string>();
for (let i = 0; i < TASKS; i++) {
  const id = newId(now);
  taskIds.push(id);
  taskNames.set(id, `task-${i}`);
  await store.createTask(
    {
      id,
      namespace: 'bench',
      name: `task-${i}`,
      description: null,
      kind: 'http',
      spec: { url: 'https://example.com/hook', method: 'POST' },
      schedule: TRIGGER === 'schedule' ? { type: 'interval', every: '1s' } : null,
      policies: POLICIES,
      payload: null,
      status: 'active',
      nextRunAt: null,
      createdAt: now,
      updatedAt: now,
      createdBy: 'bench',
      updatedBy: 'bench',
    },
    null,
    { ...audit, targetId: id },
  );
}

function newRun(i: number, taskId: string, at: number): NewRun {
  return {
    id: newId(now),
    namespace: 'bench',
    taskId,
    taskName: taskNames.get(taskId)!,
    status: 'scheduled',
    attempt: 1,
    retryOf: null,
    trigger: TRIGGER,
    occurrenceAt: TRIGGER === 'schedule' ? at : null,
    scheduledFor: at,
    priority: i % 3,
    payload: null,
    idempotencyKey: TRIGGER === 'schedule' ? `${taskId}:${at}` : `bench-${i}`,
    createdAt: now,
    createdBy: 'bench',
  };
}

// The plan a real planner would make for an interval schedule: fire, and insert the next one.
const FAR = now + 365 * 86_400_000;
let planned = 0;
const plan: PlanOccurrence = (task) => {
  planned++;
  const next = newRun(RUNS + planned, task.id, FAR + planned);
  return { claimed: 'run', inserts: [next], firedCount: task.firedCount + 1, nextRunAt: next.scheduledFor };
};

// ---- insert ----
let t0 = performance.now();
const CHUNK = 10_000;
for (let i = 0; i < RUNS; i += CHUNK) {
  const writes: Promise<unknown>[] = [];
  for (let j = i; j < Math.min(RUNS, i + CHUNK); j++) {
    const taskId = taskIds[j % TASKS]!;
    writes.push(store.createRun(newRun(j, taskId, now - RUNS + j), null));
  }
  await Promise.all(writes);
}
const insertMs = performance.now() - t0;

// ---- claim → running → complete ----
let claimMs = 0;
let runningMs = 0;
let completeMs = 0;
let done = 0;
const cycleStart = performance.now();
for (;;) {
  t0 = performance.now();
  const claimed = await store.claimDueRuns({ node: 'bench-node', now, horizon: now, limit: BATCH, leaseUntil: now + 30_000, plan });
  claimMs += performance.now() - t0;
  if (claimed.length === 0) break;

  t0 = performance.now();
  const { stale } = await store.markRunning(claimed.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: now })));
  runningMs += performance.now() - t0;
  if (stale.length > 0) throw new Error(`${stale.length} stale starts`);

  t0 = performance.now();
  const completions: RunCompletion[] = claimed.map((c) => ({
    runId: c.run.id,
    leaseEpoch: c.run.leaseEpoch,
    status: 'succeeded',
    startedAt: now,
    finishedAt: now + 5,
    result: { status: 200 },
    cpuMs: 1.5,
    peakRssBytes: 50_000_000,
  }));
  const res = await store.completeRuns(completions);
  completeMs += performance.now() - t0;
  if (res.stale.length > 0) throw new Error(`${res.stale.length} stale completions`);
  done += claimed.length;
}
const cycleMs = performance.now() - cycleStart;

const counts = await store.countRuns('*', now);
await store.close();
const dbBytes = statSync(join(dir, 'sundial.db')).size;
rmSync(dir, { recursive: true, force: true });

const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} runs/s`;
console.log(`store bench: ${RUNS.toLocaleString('en-US')} runs, ${TASKS} tasks, batch ${BATCH}, trigger ${TRIGGER}`);
console.log(`  insert (createRun, group commit) ${rate(RUNS, insertMs)}  (${insertMs.toFixed(0)} ms)`);
console.log(`  claimDueRuns                     ${rate(done, claimMs)}  (${claimMs.toFixed(0)} ms)`);
console.log(`  markRunning                      ${rate(done, runningMs)}  (${runningMs.toFixed(0)} ms)`);
console.log(`  completeRuns                     ${rate(done, completeMs)}  (${completeMs.toFixed(0)} ms)`);
console.log(`  claim→running→complete cycle     ${rate(done, cycleMs)}  (${cycleMs.toFixed(0)} ms)`);
console.log(`  succeeded ${counts.byStatus.succeeded ?? 0}, database ${(dbBytes / 1e6).toFixed(1)} MB`);
if (done !== RUNS) throw new Error(`drained ${done} runs, expected ${RUNS}`);
