// Store throughput on the scheduler's hot path: insert due runs, then claim → running → complete
// in batches until the queue is drained, and print runs/s per phase.
//
//   node --import tsx bench/store-bench.ts [--runs=100000] [--batch=5000] [--tasks=10] [--trigger=api|schedule]
//        [--backend=sqlite|postgres] [--start=claim|separate]
//
// `--start=claim` (the default, what the dispatcher does with runs already due) starts the runs in
// the claim's own write; `separate` writes the start as its own transaction (markRunning), as for
// runs claimed ahead of their time. `--backend=postgres` uses a fresh database of the local server
// and also prints the server's CPU per run.
// `--trigger=schedule` makes every run a schedule occurrence, so each claim also calls a plan that
// inserts the task's next occurrence (far in the future, so it is not claimed again).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { newId } from '../src/core/ids.js';
import type { Policies } from '../src/core/types.js';
import { openPostgresStore } from '../src/store/postgres/pg-store.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { ClaimedRun, NewRun, PlanOccurrence, RunCompletion, Store } from '../src/store/store.js';
import { databaseCpuMs } from './measure.js';
import { createBenchDatabase, type BenchDatabase } from './pg-cluster.js';

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
const BACKEND = args.get('backend') ?? 'sqlite';
const START_IN_CLAIM = (args.get('start') ?? 'claim') === 'claim';

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
let database: BenchDatabase | null = null;
let store: Store;
if (BACKEND === 'postgres') {
  database = await createBenchDatabase();
  store = await openPostgresStore({ url: database.url });
} else {
  store = await openSqliteStore({ dir });
}
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
const dbCpuStart = databaseCpuMs();
const startAll = START_IN_CLAIM ? (due: readonly ClaimedRun[]) => new Set(due) : undefined;
for (;;) {
  t0 = performance.now();
  const claimed = await store.claimDueRuns({
    node: 'bench-node',
    now,
    horizon: now,
    limit: BATCH,
    leaseUntil: now + 30_000,
    plan,
    ...(startAll && { startDue: startAll }),
  });
  claimMs += performance.now() - t0;
  if (claimed.length === 0) break;

  if (!START_IN_CLAIM) {
    t0 = performance.now();
    const { stale } = await store.markRunning(claimed.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: now })));
    runningMs += performance.now() - t0;
    if (stale.length > 0) throw new Error(`${stale.length} stale starts`);
  } else if (claimed.some((c) => c.run.status !== 'running')) {
    throw new Error('a due run was not started by its claim');
  }

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
const dbCpuMs = databaseCpuMs() - dbCpuStart;

const counts = await store.countRuns('*', now);
await store.close();
const dbBytes = database === null ? statSync(join(dir, 'sundial.db')).size : 0;
rmSync(dir, { recursive: true, force: true });
await database?.drop();

const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} runs/s`;
console.log(
  `store bench (${BACKEND}): ${RUNS.toLocaleString('en-US')} runs, ${TASKS} tasks, batch ${BATCH}, trigger ${TRIGGER}, ` +
    `start ${START_IN_CLAIM ? 'in the claim' : 'separate'}`,
);
console.log(`  insert (createRun, group commit) ${rate(RUNS, insertMs)}  (${insertMs.toFixed(0)} ms)`);
console.log(`  claimDueRuns                     ${rate(done, claimMs)}  (${claimMs.toFixed(0)} ms)`);
if (!START_IN_CLAIM) console.log(`  markRunning                      ${rate(done, runningMs)}  (${runningMs.toFixed(0)} ms)`);
console.log(`  completeRuns                     ${rate(done, completeMs)}  (${completeMs.toFixed(0)} ms)`);
console.log(`  claim→running→complete cycle     ${rate(done, cycleMs)}  (${cycleMs.toFixed(0)} ms)`);
console.log(`  succeeded ${counts.byStatus.succeeded ?? 0}${database === null ? `, database ${(dbBytes / 1e6).toFixed(1)} MB` : ''}`);
if (database !== null) console.log(`  PostgreSQL CPU ${((dbCpuMs * 1000) / done).toFixed(1)} µs per run (claim → complete)`);
if (done !== RUNS) throw new Error(`drained ${done} runs, expected ${RUNS}`);
