// `npm run bench`: the scheduler's numbers on this machine, through the real code paths.
//
//   S1 burst     20,000 runs due at one instant: lateness of the last start.
//   S2 steady    10,000/min and 100,000/min for 60 s from interval schedules: lateness
//                p50/p99/p99.9/max, nothing left behind, peak RSS.
//   S3 drain     200,000 no-op module runs due at once: completed runs/s, durably.
//   S4 create    task creation through the HTTP API, 32 concurrent clients in another process.
//   S5 script    20,000 no-op `script` runs (QuickJS sandbox) due at once: completed runs/s.
//   S6 script    10,000/min `script` runs for 60 s from interval schedules: lateness, nothing left.
//   S7 hostile   20 hostile scripts running at once (loops, memory bombs, floods) while
//                10,000/min module runs are due and an API client reads: API p99, lateness p99.
//   S3-INFLUX    S3 with the InfluxDB sink writing to a loopback server: the sink's cost per run.
//   S2-INFLUX-STALLED  S2 at 100,000/min with the sink pointed at a server that never answers:
//                lateness beside S2's, memory, points dropped.
//   N1 notify    10,000 notifications (200 webhook channels) to a loopback receiver: deliveries/s.
//   F1 fairness  one namespace floods 50,000 runs due at once while another's task fires every
//                second: that task's lateness during the flood (issue 12: at most 100 ms).
//
// Each scenario starts a fresh server (SQLite in a temp dir, the module worker pool, the
// scheduler, the API) in this process, exactly as `sundial serve` would. Runs are inserted
// through the store (S1–S3) so setup time is not measured as scheduling time. Lateness is
// startedAt − scheduledFor of every run, read from the committed run rows.
//
// Options: --only S1,S3 (or S2-100k)   --quick (smaller sizes, for a smoke run)   --out <file.json>
//          --backend postgres (each scenario on a fresh database of the local PostgreSQL)
//          --nodes 3 (with postgres: two more nodes as `sundial serve` processes; S2 only)
//          --set claimBatch=500 (a server setting for every scenario, as a config key; repeatable)

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveConfig, type ConfigSource } from '../src/config/config.js';
import { newId } from '../src/core/ids.js';
import { anchorSchedule } from '../src/core/schedule/validate.js';
import { planFirstRun } from '../src/core/planner.js';
import { DEFAULT_POLICIES } from '../src/core/policies.js';
import type { Run, Task } from '../src/core/types.js';
import { startServer, type RunningServer } from '../src/server.js';
import type { NewAudit, NewRun, Store } from '../src/store/store.js';
import { PROJECT_ROOT, VERSION } from '../src/version.js';
import { startResourceSampler, stats, type LatenessStats, type ResourceReport } from './measure.js';
import { startPointsServer, startStalledServer, startWebhookReceiver } from './loopback-sinks.js';
import { bulkInsertRuns, createBenchDatabase, readsBetween, startNodeProcess, type BenchDatabase, type NodeProcess } from './pg-cluster.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    scenario: { type: 'string' },
    backend: { type: 'string', default: 'sqlite' },
    nodes: { type: 'string', default: '1' },
    set: { type: 'string', multiple: true },
  },
});
/** Server settings from --set key=value, applied before each scenario's own. */
const settings: ConfigSource = Object.fromEntries(
  (args.set ?? []).map((kv) => {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`--set wants key=value, got ${kv}`);
    const v = kv.slice(at + 1);
    return [kv.slice(0, at), /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v];
  }),
);
const only = args.only ? new Set(args.only.split(',').map((s) => s.trim().toUpperCase())) : null;
const quick = args.quick ?? false;
const TOKEN = 'sdl_bench-admin-token-for-local-benchmarks-only-000000';
const backend = args.backend === 'postgres' ? 'postgres' : 'sqlite';
const nodeCount = Math.max(1, Number(args.nodes ?? 1));
if (nodeCount > 1 && backend !== 'postgres') throw new Error('--nodes needs --backend postgres');

interface Result {
  scenario: string;
  [k: string]: unknown;
}

interface Booted {
  server: RunningServer;
  dir: string;
  db: BenchDatabase | null;
  others: NodeProcess[];
}

async function boot(extra: ConfigSource = {}, nodes = 1): Promise<Booted> {
  const dir = mkdtempSync(join(tmpdir(), 'sundial-bench-'));
  const db = backend === 'postgres' ? await createBenchDatabase() : null;
  const config = resolveConfig({
    env: {},
    flags: {
      port: 0,
      dataDir: join(dir, 'data'),
      tasksDir: join(PROJECT_ROOT, 'bench/tasks'),
      adminToken: TOKEN,
      logLevel: 'warn',
      nodeId: 'bench',
      // The load generators send thousands of requests a second with one key: no per-key limit
      // (SUNDIAL_RATE_LIMIT), measured here is the server, not its throttle. --set rateLimit=… overrides.
      rateLimit: 0,
      ...(db !== null && { databaseUrl: db.url }),
      ...settings,
      ...extra,
    },
  });
  const server = await startServer(config);
  const others: NodeProcess[] = [];
  for (let i = 2; i <= nodes && db !== null; i++) {
    const env: Record<string, string> = { SUNDIAL_ADMIN_TOKEN: TOKEN, SUNDIAL_LOG_LEVEL: 'warn', SUNDIAL_DATA_DIR: join(dir, `data-${i}`), SUNDIAL_RATE_LIMIT: '0' };
    for (const [k, v] of Object.entries({ ...settings, ...extra })) env[`SUNDIAL_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`] = String(v);
    others.push(await startNodeProcess(db.url, `bench-${i}`, env));
  }
  return { server, dir, db, others };
}

async function shutdown(b: Booted): Promise<void> {
  await Promise.all(b.others.map((o) => o.stop()));
  await b.server.close();
  await b.db?.drop();
  rmSync(b.dir, { recursive: true, force: true });
}

const audit = (at: number, id: string): NewAudit => ({
  namespace: 'default', at, actor: 'bench', ip: null, action: 'task.create', targetType: 'task', targetId: id,
});

/** The stamp task as a script: returns when user code ran. */
const STAMP_SCRIPT = { code: 'export default () => Date.now();' };

function taskRow(
  name: string,
  now: number,
  schedule: Task['schedule'],
  what: Pick<Task, 'kind' | 'spec'> = { kind: 'module', spec: { file: 'stamp.mjs' } },
  policies: Partial<Task['policies']> = {},
): Omit<Task, 'lastRunAt' | 'lastRunStatus' | 'version'> {
  return {
    id: newId(now),
    namespace: 'default',
    name,
    description: null,
    kind: what.kind,
    spec: what.spec,
    schedule,
    policies: { ...DEFAULT_POLICIES, overlap: 'allow_all', ...policies },
    payload: null,
    status: 'active',
    firedCount: 0,
    nextRunAt: null,
    createdAt: now,
    updatedAt: now,
    createdBy: 'bench',
    updatedBy: 'bench',
  };
}

function manualRun(task: Task, at: number, now: number): NewRun {
  const id = newId(now);
  return {
    id, namespace: task.namespace, taskId: task.id, taskName: task.name, status: 'scheduled', attempt: 1, retryOf: null,
    trigger: 'api', occurrenceAt: null, scheduledFor: at, priority: 0, payload: null, idempotencyKey: id, createdAt: now, createdBy: 'bench',
  };
}

/** Inserts `n` runs of `task` due at `at`, in concurrent chunks (the store group-commits them). */
async function insertRuns(store: Store, task: Task, n: number, at: number, db: BenchDatabase | null = null): Promise<void> {
  if (db !== null) {
    const now = Date.now();
    return bulkInsertRuns(db.url, task, Array.from({ length: n }, () => newId(now)), at, now);
  }
  const chunk = 2000;
  for (let i = 0; i < n; i += chunk) {
    const now = Date.now();
    await Promise.all(Array.from({ length: Math.min(chunk, n - i) }, () => store.createRun(manualRun(task, at, now), null)));
  }
}

/** Reads every run of `task` (from the store, after all is committed). */
async function runsOf(store: Store, taskId?: string, from?: number, to?: number): Promise<Run[]> {
  const out: Run[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listRuns({ namespaces: '*', taskId, from, to, limit: 5000, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** Resolves once `n` runs due in [from, to) have ended (or after two minutes). */
async function windowFinished(store: Store, from: number, to: number, n: number): Promise<void> {
  const FINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'] as const;
  const giveUp = Date.now() + 120_000;
  while (Date.now() < giveUp) {
    const minutes = await store.countRunsPerMinute('*', from, to);
    const ended = minutes.reduce((sum, m) => sum + FINAL.reduce((s, st) => s + (m.byStatus[st] ?? 0), 0), 0);
    if (ended >= n) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Resolves when `n` runs have reached a final state (counted from the bus). */
function finished(server: RunningServer, n: number): Promise<number> {
  let done = 0;
  return new Promise((resolve) => {
    const off = server.bus.on('run:transition', (t) => {
      if (t.to === 'succeeded' || t.to === 'failed' || t.to === 'timed_out' || t.to === 'skipped' || t.to === 'cancelled') {
        if (++done >= n) {
          off();
          resolve(performance.now());
        }
      }
    });
  });
}

function lateness(runs: Run[]): LatenessStats {
  return stats(runs.filter((r) => r.startedAt !== null).map((r) => r.startedAt! - r.scheduledFor));
}

/** When user code really ran (the stamp task's result) minus the due time. */
function invokeLateness(runs: Run[]): Record<string, number> {
  const stamped = runs.filter((r) => typeof r.result === 'number');
  const s = stats(stamped.map((r) => (r.result as number) - r.scheduledFor));
  // From the recorded start to the user code: the start's commit, the IPC hop, the worker's queue.
  const hop = stats(stamped.filter((r) => r.startedAt !== null).map((r) => (r.result as number) - r.startedAt!));
  return { codeLateP50Ms: s.p50, codeLateP99Ms: s.p99, codeLateMaxMs: s.max, startToCodeP50Ms: hop.p50, startToCodeP99Ms: hop.p99 };
}

function summarizeResources(r: ResourceReport): Record<string, number> {
  return {
    wallS: round(r.wallMs / 1000, 1),
    cpuMainS: round(r.cpuMainMs / 1000, 1),
    cpuWorkersS: round(r.cpuWorkersMs / 1000, 1),
    machineCores: round(r.machineCores, 2),
    peakRssMainMB: round(r.peakRssMainBytes / 2 ** 20, 0),
    peakRssAllMB: round(r.peakRssWithWorkersBytes / 2 ** 20, 0),
    peakHeapMB: round(r.peakHeapBytes / 2 ** 20, 0),
    loopDelayP99Ms: round(r.loopDelayP99Ms, 1),
    loopDelayMaxMs: round(r.loopDelayMaxMs, 1),
    ...(backend === 'postgres' && { cpuDatabaseS: round(r.cpuDatabaseMs / 1000, 1) }),
  };
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

async function s1Burst(): Promise<Result> {
  const n = quick ? 5000 : 20_000;
  const b = await boot({ maxConcurrentRuns: n });
  const { store } = b.server;
  const now = Date.now();
  const task = await store.createTask(taskRow('burst', now, null), null, audit(now, 'burst'));
  const due = Date.now() + 4000 + n / 10;
  await insertRuns(store, task, n, due, b.db);
  if (Date.now() > due - 1500) throw new Error('S1 setup too slow: runs were due before they were all inserted');
  const sampler = startResourceSampler();
  const done = finished(b.server, n);
  b.server.scheduler.dispatcher.wake(due);
  await done;
  const res = sampler.stop();
  await b.server.scheduler.dispatcher.idle();
  const runs = await runsOf(store, task.id);
  const ok = runs.filter((r) => r.status === 'succeeded').length;
  const l = lateness(runs);
  const lastStart = Math.max(...runs.map((r) => r.startedAt ?? Infinity)) - due;
  const lastFinish = Math.max(...runs.map((r) => r.finishedAt ?? Infinity)) - due;
  await shutdown(b);
  return { scenario: 'S1 burst', runs: n, succeeded: ok, lastStartMs: lastStart, lastFinishMs: lastFinish, ...lat(l), ...invokeLateness(runs), ...summarizeResources(res) };
}

function lat(l: LatenessStats): Record<string, number> {
  return { lateP50Ms: l.p50, lateP99Ms: l.p99, lateP999Ms: l.p999, lateMaxMs: l.max };
}

/** Creates `n` tasks that each fire once a minute from `t0`, spread evenly over the minute. */
async function createSteadyTasks(store: Store, n: number, t0: number, windowMs: number, what?: Pick<Task, 'kind' | 'spec'>): Promise<void> {
  const created: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const now = Date.now();
    const startAt = new Date(t0 + Math.floor((i * windowMs) / n)).toISOString();
    const row = taskRow(`steady-${i}`, now, anchorSchedule({ type: 'interval', every: '1m', startAt }, now), what);
    const first = planFirstRun(row, now, { misfireThresholdMs: 5000, newId, random: Math.random });
    created.push(store.createTask({ ...row, nextRunAt: first?.scheduledFor ?? null }, first, audit(now, row.id)));
    // PostgreSQL: a transaction each, taking turns on the audit chain's head lock; 2,000 at once
    // would wait for a pooled connection longer than its 5 s timeout.
    if (created.length >= (backend === 'postgres' ? 200 : 2000)) await Promise.all(created.splice(0));
  }
  await Promise.all(created);
}

async function s2Steady(
  perMinute: number,
  what?: Pick<Task, 'kind' | 'spec'>,
  label = 'S2 steady',
  extra: ConfigSource = {},
  more?: (b: Booted) => Promise<Record<string, unknown>>,
): Promise<Result> {
  const n = quick ? Math.min(perMinute, 10_000) : perMinute;
  const windowMs = 60_000;
  const b = await boot(extra, nodeCount);
  const { store } = b.server;
  // Every task fires once a minute; their first occurrences are spread evenly over the window.
  // Each task is one transaction on PostgreSQL (no group commit across requests), and its audit
  // row takes the hash chain's head lock (one writer at a time): more set-up time.
  const t0 = Date.now() + 5000 + Math.ceil(n * (backend === 'postgres' ? 2 : 0.25));
  await createSteadyTasks(store, n, t0, windowMs, what);
  const setupLeftMs = t0 - Date.now();
  if (setupLeftMs < 1000) throw new Error(`S2 setup too slow (${-setupLeftMs} ms past t0)`);
  await new Promise((r) => setTimeout(r, setupLeftMs - 500));
  const reads0 = await b.db?.tableReads();
  const sampler = startResourceSampler();
  await new Promise((r) => setTimeout(r, windowMs + 2000));
  const reads1 = await b.db?.tableReads();
  // The window's runs all ended (the tasks go on firing every minute, so waiting for an idle
  // writer would measure the next minute's runs too, on every node).
  await windowFinished(store, t0, t0 + windowMs, n);
  const res = sampler.stop();
  const runs = await runsOf(store, undefined, t0, t0 + windowMs);
  const ok = runs.filter((r) => r.status === 'succeeded').length;
  const l = lateness(runs);
  const extraFigures = (await more?.(b)) ?? {};
  await shutdown(b);
  return {
    scenario: `${label} ${perMinute.toLocaleString('en')}/min${nodeCount > 1 ? ` on ${nodeCount} nodes` : ''}`,
    runs: n,
    succeeded: ok,
    leftBehind: n - ok,
    ...lat(l),
    ...invokeLateness(runs),
    ...summarizeResources(res),
    ...extraFigures,
    ...(reads0 && reads1 && { databaseReads: readsBetween(reads0, reads1).slice(0, 5) }),
  };
}

async function s3Drain(
  n = quick ? 20_000 : 200_000,
  what?: Pick<Task, 'kind' | 'spec'>,
  label = 'S3 drain',
  extra: ConfigSource = {},
  more?: () => Record<string, unknown>,
): Promise<Result> {
  const b = await boot({ maxConcurrentRuns: 5000, ...extra });
  const { store } = b.server;
  const now = Date.now();
  const task = await store.createTask(taskRow('drain', now, null, what), null, audit(now, 'drain'));
  const due = Date.now() + 3000 + n / 20;
  await insertRuns(store, task, n, due, b.db);
  if (Date.now() > due - 500) throw new Error('S3 setup too slow');
  const done = finished(b.server, n);
  await new Promise((r) => setTimeout(r, due - Date.now()));
  const sampler = startResourceSampler();
  const t0 = performance.now();
  const t1 = await done;
  await b.server.scheduler.dispatcher.idle();
  const res = sampler.stop();
  const counts = await store.countRuns('*', Date.now());
  await shutdown(b);
  const seconds = (t1 - t0) / 1000;
  return {
    scenario: label,
    runs: n,
    succeeded: counts.byStatus.succeeded ?? 0,
    runsPerSecond: Math.round(n / seconds),
    ...summarizeResources(res),
    ...more?.(),
  };
}

/** A node's figure from its own /metrics (summed over the series of `name`). */
async function metricOf(b: Booted, name: string): Promise<number> {
  const text = await (await fetch(`${b.server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** S3 with the InfluxDB sink writing to a loopback server that takes every write: the sink's cost per run. */
async function s3Influx(): Promise<Result> {
  const influx = await startPointsServer();
  try {
    return await s3Drain(undefined, undefined, 'S3 drain, InfluxDB sink on', { influxUrl: influx.url }, () => ({ pointsReceived: influx.points() }));
  } finally {
    await influx.close();
  }
}

/** S2 at 100,000/min with the InfluxDB sink pointed at a server that never answers. */
async function s2InfluxStalled(): Promise<Result> {
  const stalled = await startStalledServer();
  try {
    return await s2Steady(100_000, undefined, 'S2 steady, InfluxDB sink stalled', { influxUrl: stalled.url }, async (b) => ({
      sinkDropped: await metricOf(b, 'sundial_sink_dropped_total'),
      sinkBuffered: await metricOf(b, 'sundial_sink_buffered_points'),
    }));
  } finally {
    await stalled.close();
  }
}

/**
 * Notifications delivered to a loopback webhook: 200 channels (the per-channel rate limit,
 * 100 at once and 1,200 a minute, is not what is measured), a task each notifying on success,
 * 50 runs of each due at one instant; from the due time until the receiver has every
 * notification once (by webhook-id).
 */
async function n1Notify(): Promise<Result> {
  const channels = 200;
  const perChannel = quick ? 10 : 50;
  const total = channels * perChannel;
  const receiver = await startWebhookReceiver();
  const b = await boot({ outboundAllow: '127.0.0.1', maxConcurrentRuns: 5000 });
  try {
    const api = async (method: string, path: string, body: unknown): Promise<void> => {
      const res = await fetch(`${b.server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    };
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const tasks: Task[] = [];
    for (let i = 0; i < channels; i++) {
      await api('POST', '/v1/channels', { name: `hook-${i}`, type: 'webhook', url: `${receiver.url}/hook`, secret });
      await api('POST', '/v1/tasks', {
        name: `notify-${i}`,
        kind: 'module',
        spec: { file: 'stamp.mjs' },
        policies: { notify: [{ on: ['succeeded'], channel: `hook-${i}` }] },
      });
      tasks.push((await b.server.store.getTaskByName('default', `notify-${i}`))!);
    }
    const due = Date.now() + 3000;
    for (const t of tasks) await insertRuns(b.server.store, t, perChannel, due, b.db);
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    const sampler = startResourceSampler();
    const giveUp = Date.now() + 180_000;
    while (receiver.received() < total && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 50));
    const res = sampler.stop();
    const first = receiver.arrivals[0] ?? NaN;
    const last = receiver.arrivals.at(-1) ?? NaN;
    return {
      scenario: 'N1 notifications to a loopback webhook',
      notifications: total,
      delivered: receiver.received(),
      firstDeliveryMs: first - due,
      lastDeliveryMs: last - due,
      deliveriesPerSecond: Math.round(receiver.received() / ((last - first) / 1000)),
      ...summarizeResources(res),
    };
  } finally {
    await shutdown(b);
    await receiver.close();
  }
}

async function s4Create(): Promise<Result> {
  const total = quick ? 5000 : 30_000;
  const concurrency = 32;
  const b = await boot();
  const sampler = startResourceSampler();
  const loadgen = join(PROJECT_ROOT, 'dist/bench/loadgen.js');
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [loadgen, b.server.url, TOKEN, String(concurrency), String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`loadgen exited ${code}`))));
  });
  const res = sampler.stop();
  const r = JSON.parse(out) as { created: number; errors: number; seconds: number; p50Ms: number; p99Ms: number };
  const { items } = await b.server.store.listTasks({ namespaces: '*', limit: 1 });
  await shutdown(b);
  return {
    scenario: 'S4 create via API',
    clients: concurrency,
    created: r.created,
    errors: r.errors,
    tasksPerSecond: Math.round(r.created / r.seconds),
    reqP50Ms: r.p50Ms,
    reqP99Ms: r.p99Ms,
    stored: items.length > 0,
    ...summarizeResources(res),
  };
}

/** Hostile scripts for S7: each keeps its sandbox busy or full until a limit stops it. */
const HOSTILE = [
  'export default () => { for (;;) {} }',
  "export default () => /^(a+)+$/.test('a'.repeat(40) + 'b')",
  'export default async () => { for (;;) await null; }',
  "export default () => { let s = 'x'; for (;;) s += s; }",
  'export default () => { const k = []; for (;;) k.push(new Array(1e6).fill(1.5)); }',
  "export default (ctx) => { const l = 'x'.repeat(1000); for (;;) ctx.log(l); }",
  'export default () => { const f = (n) => f(n + 1) + 1; return f(0); }',
  'export default () => ({ toJSON() { for (;;) {} } })',
];

async function s7Hostile(): Promise<Result> {
  const perMinute = quick ? 2000 : 10_000;
  const windowMs = quick ? 20_000 : 60_000;
  const b = await boot();
  const { store } = b.server;
  const t0 = Date.now() + 5000 + Math.ceil(perMinute / 4);
  await createSteadyTasks(store, perMinute, t0, 60_000);
  // 20 hostile tasks, each re-fired every second (overlap skip), so 20 run at any moment.
  for (let i = 0; i < 20; i++) {
    const now = Date.now();
    const row = taskRow(
      `hostile-${i}`,
      now,
      anchorSchedule({ type: 'interval', every: '1s', startAt: new Date(t0 - 2000).toISOString() }, now),
      { kind: 'script', spec: { code: HOSTILE[i % HOSTILE.length]! } },
      { overlap: 'skip', timeoutMs: 10_000 },
    );
    const first = planFirstRun(row, now, { misfireThresholdMs: 5000, newId, random: Math.random });
    await store.createTask({ ...row, nextRunAt: first?.scheduledFor ?? null }, first, audit(now, row.id));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, t0 - Date.now())));
  const sampler = startResourceSampler();
  const probe = join(PROJECT_ROOT, 'dist/bench/api-probe.js');
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [probe, b.server.url, TOKEN, String(windowMs / 1000)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`api-probe exited ${code}`))));
  });
  const res = sampler.stop();
  const api = JSON.parse(out) as { requests: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number };
  const steady = (await runsOf(store, undefined, t0, t0 + windowMs)).filter((r) => r.taskName.startsWith('steady-'));
  const hostile = (await runsOf(store, undefined, t0, t0 + windowMs)).filter((r) => r.taskName.startsWith('hostile-'));
  const ended = hostile.filter((r) => r.finishedAt !== null);
  const l = lateness(steady);
  await shutdown(b);
  return {
    scenario: `S7 hostile: 20 hostile scripts + ${perMinute.toLocaleString('en')}/min module runs + API reads`,
    apiRequests: api.requests,
    apiErrors: api.errors,
    apiP50Ms: api.p50Ms,
    apiP99Ms: api.p99Ms,
    apiMaxMs: api.maxMs,
    dueRuns: steady.length,
    dueSucceeded: steady.filter((r) => r.status === 'succeeded').length,
    ...lat(l),
    hostileRunsEnded: ended.length,
    hostileSucceeded: ended.filter((r) => r.status === 'succeeded').length,
    ...summarizeResources(res),
  };
}

/**
 * One namespace floods 50,000 no-op runs due at one instant; another namespace's task fires every
 * second through the flood. What matters is the second task's lateness while the flood drains.
 */
async function f1Fairness(): Promise<Result> {
  const n = quick ? 10_000 : 50_000;
  // The default settings (1,000 runs at once): a higher cap queues more runs inside the workers,
  // ahead of any other namespace's run that starts meanwhile.
  const b = await boot();
  const { store } = b.server;
  const now = Date.now();
  const flood = await store.createTask({ ...taskRow('flood', now, null), namespace: 'flooding' }, null, audit(now, 'flood'));
  const due = Date.now() + 3000 + n / 20;
  await insertRuns(store, flood, n, due, b.db);
  if (Date.now() > due - 1500) throw new Error('F1 setup too slow');
  // Its first occurrence 200 ms after the flood is due, then every second until well after it drained.
  const row = { ...taskRow('steady', now, anchorSchedule({ type: 'interval', every: '1s', startAt: new Date(due + 200).toISOString() }, now)), namespace: 'steady' };
  const first = planFirstRun(row, Date.now(), { misfireThresholdMs: 5000, newId, random: Math.random });
  const steady = await store.createTask({ ...row, nextRunAt: first?.scheduledFor ?? null }, first, audit(now, 'steady'));
  const done = finished(b.server, n);
  await new Promise((r) => setTimeout(r, due - Date.now()));
  const sampler = startResourceSampler();
  const t0 = performance.now();
  const t1 = await done;
  const drainedAt = Date.now();
  // Two more occurrences after the flood, so every one during it has ended.
  await new Promise((r) => setTimeout(r, 2000));
  await b.server.scheduler.dispatcher.idle();
  const res = sampler.stop();
  const during = (await runsOf(store, steady.id)).filter((r) => r.scheduledFor <= drainedAt);
  await shutdown(b);
  const l = lateness(during);
  return {
    scenario: `F1 fairness: ${n.toLocaleString('en')} runs of one namespace due at once, another's task every second`,
    floodRuns: n,
    floodDrainS: round((t1 - t0) / 1000, 2),
    steadyRunsDuringFlood: during.length,
    steadyStarted: during.filter((r) => r.startedAt !== null).length,
    steadyLateP50Ms: l.p50,
    steadyLateMaxMs: l.max,
    // Each occurrence: recorded start, and user code, minus the due time.
    steadyEach: during.map((r) => `${r.startedAt === null ? '-' : r.startedAt - r.scheduledFor}/${typeof r.result === 'number' ? r.result - r.scheduledFor : '-'}`).join(' '),
    ...invokeLateness(during),
    ...summarizeResources(res),
  };
}

const scenarios: [string, string, () => Promise<Result>][] = [
  ['S1', 'S1', s1Burst],
  ['S2', 'S2-10k', () => s2Steady(10_000)],
  ['S2', 'S2-100k', () => s2Steady(100_000)],
  ['S3', 'S3', s3Drain],
  ['S3-INFLUX', 'S3-INFLUX', s3Influx],
  ['S2-INFLUX-STALLED', 'S2-INFLUX-STALLED', s2InfluxStalled],
  ['N1', 'N1', n1Notify],
  ['F1', 'F1', f1Fairness],
  ['S4', 'S4', s4Create],
  ['S5', 'S5', () => s3Drain(quick ? 5000 : 20_000, { kind: 'script', spec: STAMP_SCRIPT }, 'S5 script drain')],
  ['S6', 'S6', () => s2Steady(10_000, { kind: 'script', spec: STAMP_SCRIPT }, 'S6 script steady')],
  ['S7', 'S7', s7Hostile],
];

// Each scenario runs in a fresh process: memory a process once took is not given back, so
// a shared process would report one scenario's peak RSS as the next one's.
if (args.scenario) {
  const entry = scenarios.find(([, key]) => key === args.scenario);
  if (!entry) throw new Error(`unknown scenario ${args.scenario}`);
  process.stdout.write(JSON.stringify(await entry[2]()) + '\n');
  process.exit(0);
}

const results: Result[] = [];
for (const [id, key] of scenarios) {
  if (only && !only.has(id) && !only.has(key.toUpperCase())) continue;
  process.stderr.write(`running ${key}…\n`);
  const flags = ['--scenario', key, '--backend', backend, '--nodes', String(nodeCount), ...(quick ? ['--quick'] : [])];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${key} exited ${code}`))));
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as Result;
  results.push(r);
  process.stderr.write(JSON.stringify(r) + '\n');
}

console.log('');
for (const r of results) {
  const { scenario, ...rest } = r;
  console.log(`${scenario}\n  ${Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`).join('  ')}`);
}

const report = {
  date: new Date().toISOString(),
  version: VERSION,
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  quick,
  backend,
  nodes: nodeCount,
  results,
};
const dir = join(PROJECT_ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const file = args.out ?? join(dir, `bench-${report.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(report, null, 2));
console.log(`\nwritten: ${file}`);
