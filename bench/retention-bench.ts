// History retention on SQLite: how long each pruneHistory batch holds the writer, and what that
// does to the claim path running at the same time.
//
//   node --import tsx bench/retention-bench.ts [--runs=100000] [--tasks=100] [--batch=1000] [--logs=2] [--target=20]
//
// 1. Fills a store with `runs` finished runs (each with `logs` log lines and one sample), all
//    finished 40 days ago, spread over `tasks` tasks.
// 2. Age limit: deletes them all in batches of `batch`, timing each call (queue → commit: the
//    time the writer is held, fsync included).
// 3. Count limit: refills, then trims every task to `keep` = 90% of its runs.
// 4. Claim latency: claims 100 due runs at a time in a loop, alone, then while batches of `batch`
//    are deleted back to back, then while the retention loop (src/scheduler/retention.ts) deletes
//    with its batch size following `target` ms a call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { newId } from '../src/core/ids.js';
import { DEFAULT_POLICIES } from '../src/core/policies.js';
import type { Policies } from '../src/core/types.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { EventBus } from '../src/core/events.js';
import { HistoryRetention } from '../src/scheduler/retention.js';
import type { NewRun, RunCompletion, Store } from '../src/store/store.js';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k ?? '', v ?? ''] as const;
  }),
);
const RUNS = Number(args.get('runs') ?? 100_000);
const TASKS = Number(args.get('tasks') ?? 100);
const BATCH = Number(args.get('batch') ?? 1000);
const LOGS = Number(args.get('logs') ?? 2);
const TARGET = Number(args.get('target') ?? 20);

const DAY = 86_400_000;
const now = Date.now();
const POLICIES: Policies = { ...DEFAULT_POLICIES, overlap: 'allow_all' };

const dir = mkdtempSync(join(tmpdir(), 'sundial-retention-bench-'));
const store = await openSqliteStore({ dir });
await store.migrate();

const tasks: { id: string; name: string }[] = [];
for (let i = 0; i < TASKS; i++) {
  const id = newId(now);
  tasks.push({ id, name: `task-${i}` });
  await store.createTask(
    {
      id,
      namespace: 'bench',
      name: `task-${i}`,
      description: null,
      kind: 'http',
      spec: { url: 'https://example.com/hook', method: 'POST' },
      schedule: null,
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
    { namespace: 'bench', at: now, actor: 'bench', ip: null, action: 'task.create', targetType: 'task', targetId: id },
  );
}

function newRun(i: number, at: number): NewRun {
  const task = tasks[i % TASKS]!;
  return {
    id: newId(at),
    namespace: 'bench',
    taskId: task.id,
    taskName: task.name,
    status: 'scheduled',
    attempt: 1,
    retryOf: null,
    trigger: 'api',
    occurrenceAt: null,
    scheduledFor: at,
    priority: 0,
    payload: null,
    idempotencyKey: `bench-${at}-${i}`,
    createdAt: at,
    createdBy: 'bench',
  };
}

/** Adds `n` runs due from `from` on, 10 ms apart, and finishes them (with logs and a sample). */
async function fill(n: number, from: number): Promise<void> {
  for (let i = 0; i < n; i += 10_000) {
    const writes: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) writes.push(store.createRun(newRun(j, from + j * 10), null));
    await Promise.all(writes);
  }
  const horizon = from + n * 10;
  for (;;) {
    const claimed = await store.claimDueRuns({ node: 'bench', now: horizon, horizon, limit: 5000, leaseUntil: horizon + 60_000, plan: () => { throw new Error('no plans'); } });
    if (claimed.length === 0) break;
    await store.markRunning(claimed.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: c.run.scheduledFor })));
    await store.appendRunSamples(claimed.map((c) => ({ runId: c.run.id, at: c.run.scheduledFor, cpuMs: 1, rssBytes: 1e7, diskWriteBytes: 0 })));
    const completions: RunCompletion[] = claimed.map((c) => ({
      runId: c.run.id,
      leaseEpoch: c.run.leaseEpoch,
      status: 'succeeded',
      startedAt: c.run.scheduledFor,
      finishedAt: c.run.scheduledFor + 5,
      result: { status: 200, body: 'ok' },
      logs: Array.from({ length: LOGS }, (_, k) => ({ at: c.run.scheduledFor + k, level: 'info' as const, message: `log line ${k} of a finished run` })),
    }));
    await store.completeRuns(completions);
  }
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms (${s.length} calls)`;
}

/** Calls pruneHistory until a batch comes back short; returns each call's time. */
async function drain(
  s: Store,
  opts: { finishedBefore: number | null; keepPerTask: number | null },
  at: number,
): Promise<{ times: number[]; cpu: number[]; deleted: number }> {
  const times: number[] = [];
  const cpu: number[] = [];
  let deleted = 0;
  for (;;) {
    const t0 = performance.now();
    const c0 = cpuMs();
    const n = await s.pruneHistory({ ...opts, limit: BATCH }, at);
    times.push(performance.now() - t0);
    cpu.push(cpuMs() - c0);
    deleted += n;
    if (n < BATCH) return { times, cpu, deleted };
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const old = now - 40 * DAY;
let t0 = performance.now();
await fill(RUNS, old);
console.log(`retention bench: ${RUNS.toLocaleString('en-US')} runs over ${TASKS} tasks, ${LOGS} log lines + 1 sample each, batch ${BATCH}`);
console.log(`  fill ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// ---- age ----
t0 = performance.now();
const age = await drain(store, { finishedBefore: now - 30 * DAY, keepPerTask: null }, now);
const ageMs = performance.now() - t0;
console.log(`  age limit: deleted ${age.deleted.toLocaleString('en-US')} in ${(ageMs / 1000).toFixed(2)} s`);
console.log(`    wall per batch ${stats(age.times)}`);
console.log(`    CPU per batch  ${stats(age.cpu)}`);
console.log(`    ${((ageMs * 1000) / age.deleted).toFixed(1)} µs per run (with its logs and sample)`);

// ---- per task ----
await fill(RUNS, old);
const keep = Math.floor((RUNS / TASKS) * 0.9);
t0 = performance.now();
const count = await drain(store, { finishedBefore: null, keepPerTask: keep }, now);
const countMs = performance.now() - t0;
console.log(`  count limit (keep ${keep} of ${RUNS / TASKS} per task): deleted ${count.deleted.toLocaleString('en-US')} in ${(countMs / 1000).toFixed(2)} s`);
console.log(`    wall per batch ${stats(count.times)}`);
console.log(`    CPU per batch  ${stats(count.cpu)}`);
// A steady-state call: every task within its limit, nothing new finished.
const idle = await drain(store, { finishedBefore: null, keepPerTask: keep }, now);
console.log(`  count limit, nothing to do: ${stats(idle.times)}`);

// ---- claim latency, alone and while pruning ----
let claimRound = 0;
async function claimLatency(during: (() => Promise<unknown>) | null): Promise<number[]> {
  const due = now + (10 + claimRound++) * DAY;
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 20_000; i++) writes.push(store.createRun(newRun(i, due + i), null));
  await Promise.all(writes);
  let pruning = true;
  const bg = during === null ? Promise.resolve() : during().finally(() => (pruning = false));
  const times: number[] = [];
  for (let i = 0; i < 200 && (during === null || pruning || i < 20); i++) {
    const at = due + 20_000;
    const t = performance.now();
    const claimed = await store.claimDueRuns({ node: 'bench', now: at, horizon: at, limit: 100, leaseUntil: at + 60_000, plan: () => { throw new Error('no plans'); } });
    times.push(performance.now() - t);
    if (claimed.length === 0) break;
    await store.completeRuns(claimed.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, status: 'cancelled', finishedAt: now })));
    // The dispatcher polls; this loop waits a tick, as a timer would.
    await new Promise<void>((resolve) => setTimeout(resolve, 2));
  }
  await bg;
  return times;
}

console.log(`  claim (100 runs) alone:          ${stats(await claimLatency(null))}`);
await fill(RUNS, old);
console.log(`  claim (100 runs) while pruning with batches of ${BATCH}:  ${stats(await claimLatency(() => drain(store, { finishedBefore: now - 30 * DAY, keepPerTask: null }, now)))}`);
await fill(RUNS, old);
const loop = new HistoryRetention(
  { maxAgeMs: 30 * DAY, maxPerTask: 0, batch: BATCH, budgetMs: 60_000, targetBatchMs: TARGET },
  { store, clock: { now: () => now }, bus: new EventBus() },
);
const during = async (): Promise<void> => {
  const r = await loop.runOnce();
  console.log(`    (the loop deleted ${r.deleted.toLocaleString('en-US')} in ${r.batches} calls, ${(r.ms / 1000).toFixed(1)} s; batch size settled at ${loop.batchSize})`);
};
console.log(`  claim (100 runs) while the retention loop prunes (target ${TARGET} ms a call): ${stats(await claimLatency(during))}`);

await store.close();
rmSync(dir, { recursive: true, force: true });
