// Failure tests of a cluster with real processes, real PostgreSQL and real signals:
// a. chaos: three nodes, a random one killed with SIGKILL every 3–12 s for two minutes and
//    started again; nothing lost, nothing fired twice, every execution explained by the history;
// b. PostgreSQL restarted with `-m immediate` under load (a private server): 503 + Retry-After
//    and /readyz 503 while it is away, never a 2xx for what was not committed, ready again
//    within 5 s, runs resume;
// c. one node cut off from the database (a blackhole proxy) while it runs long runs: it fences
//    itself, the other node takes its runs over, and its late writes after the cut are refused.
//
// Everything runs on the real clock. Waiting is polling (`eventually`), except where the time is
// the experiment itself: the chaos intervals, how long the database stays down, how long the
// cut lasts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ADMIN_TOKEN, Cluster, eventually as poll, type ClusterNode } from './cluster-harness.js';
import { createPgInstance, type PgInstance } from './pg-instance.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const LEASE = '3s';
const LEASE_MS = 3000;
/** Every node: one worker process, a short lease, a small pool. */
const NODE_ENV = {
  SUNDIAL_WORKERS: '1',
  SUNDIAL_DATABASE_POOL_SIZE: '6',
  SUNDIAL_DRAIN_GRACE: '2s',
  SUNDIAL_LOG_LEVEL: 'info',
  // Two writers create tasks back to back with one key, thousands a minute while the database is
  // away (503s come fast): the per-key rate limit (SUNDIAL_RATE_LIMIT) would answer 429 to a
  // burst this test means to see answered 503 or 2xx.
  SUNDIAL_RATE_LIMIT: '0',
};

// One line per execution, beside the module: `<idempotencyKey> <attempt>`.
const COUNTING_MODULE = `
import { appendFileSync } from 'node:fs';
export default async function (ctx) {
  appendFileSync(new URL('./executions.log', import.meta.url), ctx.run.idempotencyKey + ' ' + ctx.run.attempt + '\\n');
  return { attempt: ctx.run.attempt };
}`;

// Attempt 1 runs for payload.ms unless its signal aborts; later attempts end at once. Each
// start, abort and end is a line: `<event> <idempotencyKey> <attempt> <node> <epoch ms>`.
const LONG_MODULE = `
import { appendFileSync } from 'node:fs';
const line = (ev, ctx) => appendFileSync(new URL('./long.log', import.meta.url),
  [ev, ctx.run.idempotencyKey, ctx.run.attempt, process.env.TEST_NODE_ID, Date.now()].join(' ') + '\\n');
export default async function (ctx) {
  line('start', ctx);
  const ms = ctx.payload?.ms ?? 0;
  if (ctx.run.attempt === 1 && ms > 0) {
    const aborted = await new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      ctx.signal.addEventListener('abort', () => { clearTimeout(t); resolve(true); }, { once: true });
    });
    if (aborted) { line('abort', ctx); return { aborted: true }; }
  }
  line('end', ctx);
  return { attempt: ctx.run.attempt };
}`;

const RETRY = { maxAttempts: 3, backoff: { type: 'fixed', initial: '1s', jitter: false } };

interface RunView {
  id: string;
  taskId: string;
  taskName: string;
  status: string;
  attempt: number;
  retryOf: string | null;
  trigger: string;
  occurrenceAt: string | null;
  scheduledFor: string;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  lateMs: number | null;
  reason: string | null;
  error: { code: string; message: string } | null;
  node: string | null;
  idempotencyKey: string;
  updatedAt: string;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface TaskView {
  id: string;
  name: string;
  createdAt: string;
  nextRunAt: string | null;
}

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);

// ---- small helpers ----

/** `eventually` that says what it waited for when it gives up. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  try {
    return await poll(fn, timeoutMs, everyMs);
  } catch (err) {
    throw new Error(`${what}: not within ${timeoutMs} ms (${(err as Error).message})`, { cause: err });
  }
}

/** Output of node processes that were replaced (killed and started again), per node id. */
const pastOutput = new Map<string, string[]>();

/** Kills a node with SIGKILL, keeping what its process printed. */
async function kill9(node: ClusterNode): Promise<void> {
  await node.kill9();
  const past = pastOutput.get(node.id) ?? [];
  past.push(...node.output, `---- SIGKILL at ${new Date().toISOString()} ----`);
  pastOutput.set(node.id, past);
}

/**
 * Keeps every node's output (all its processes) and `extra` files in a folder when the test
 * failed, so the failure can be read after the processes and their database are gone.
 */
function keepLogs(name: string, cluster: Cluster, extra: () => Record<string, readonly string[]> = () => ({})): Cleanup {
  return async (failed) => {
    if (!failed) return;
    const dir = mkdtempSync(join(tmpdir(), `sundial-${name}-logs-`));
    for (const n of cluster.nodes.values()) writeFileSync(join(dir, `${n.id}.log`), [...(pastOutput.get(n.id) ?? []), ...n.output].join('\n'));
    for (const [file, text] of Object.entries(extra())) writeFileSync(join(dir, file), text.join('\n'));
    console.log(`# ${name}: node logs kept in ${dir}`);
  };
}

/** A clean-up step; `failed` says whether the test failed (or timed out). */
type Cleanup = (failed: boolean) => Promise<unknown>;

/** Runs `fn` with a list of clean-ups that run when it ends, failed or not (and at exit). */
async function withCleanup(fn: (defer: (c: Cleanup) => void) => Promise<void>): Promise<void> {
  const mine: Cleanup[] = [];
  const defer = (c: Cleanup): void => {
    mine.push(c);
    cleanups.push(c);
  };
  let failed = true;
  try {
    await fn(defer);
    failed = false;
  } finally {
    for (const c of mine.reverse()) {
      const i = cleanups.indexOf(c);
      if (i < 0) continue; // already run by the `after` hook (the test timed out)
      cleanups.splice(i, 1);
      await c(failed).catch((err: unknown) => console.error('cleanup failed:', err));
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const ms = (iso: string | null): number => (iso === null ? NaN : Date.parse(iso));
const randomBetween = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);

function stats(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number): number => (v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.floor(q * v.length))]!);
  return { n: v.length, p50: at(0.5), p99: at(0.99), max: v.length === 0 ? NaN : v[v.length - 1]! };
}

/** How long any one API call may take before the test says which one hung. */
const CALL_TIMEOUT_MS = 20_000;

/** One API call to a node, with a deadline (a node that stops answering fails the test clearly). */
async function call<T>(node: ClusterNode, method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(node.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  }).catch((err: unknown) => {
    throw new Error(`${method} ${path} on ${node.id}: ${(err as Error).message}`, { cause: err });
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T, headers: res.headers };
}

/** Every run the cluster knows, through one node's API (paginated). */
async function allRuns(node: ClusterNode, query = ''): Promise<RunView[]> {
  const out: RunView[] = [];
  let cursor: string | null = null;
  do {
    const path: string = `/v1/runs?limit=500${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await call<Page<RunView>>(node, 'GET', path);
    assert.equal(res.status, 200, `GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

async function allTasks(node: ClusterNode): Promise<TaskView[]> {
  const out: TaskView[] = [];
  let cursor: string | null = null;
  do {
    const path: string = `/v1/tasks?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await call<Page<TaskView>>(node, 'GET', path);
    assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

/** Lines of a file the task modules append to (empty when nothing ran yet). */
function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

/** The pino lines of a node's output with this message (and their time). */
function logged(node: ClusterNode, msg: string): { time: number; line: Record<string, unknown> }[] {
  const out: { time: number; line: Record<string, unknown> }[] = [];
  for (const text of node.output) {
    if (!text.includes(msg)) continue;
    try {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (typeof line.msg === 'string' && line.msg.includes(msg)) out.push({ time: Number(line.time), line });
    } catch {
      // not JSON
    }
  }
  return out;
}

/**
 * Creates an every-second task whose occurrences run from `startAt` to `endAt` (inclusive), and
 * says which occurrence comes first: `startAt`, or the first second after its creation when the
 * machine was so slow that it was created after `startAt`.
 */
async function createTicker(node: ClusterNode, name: string, file: string, startAt: number, endAt: number): Promise<HistoryOptions['tasks'][number]> {
  const res = await call<TaskView>(node, 'POST', '/v1/tasks', {
    name,
    kind: 'module',
    spec: { file },
    schedule: { type: 'interval', every: '1s', startAt: new Date(startAt).toISOString(), endAt: new Date(endAt).toISOString() },
    policies: { retry: RETRY },
  });
  assert.equal(res.status, 201, `create ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  const first = ms(res.body.nextRunAt);
  const createdAt = ms(res.body.createdAt);
  const expected = createdAt <= startAt ? startAt : startAt + Math.ceil((createdAt - startAt) / 1000) * 1000;
  assert.equal(first, expected, `${name}: first occurrence ${res.body.nextRunAt} (created ${res.body.createdAt}, startAt ${new Date(startAt).toISOString()})`);
  return { id: res.body.id, name, startAt: first, endAt };
}

/** Restarts a node id whose process died; retries while the id is still held by its dead instance. */
async function restartWhenFree(node: ClusterNode, deadlineMs: number): Promise<{ attempts: number; refused: number }> {
  let attempts = 0;
  let refused = 0;
  for (;;) {
    attempts++;
    try {
      await node.restart();
      return { attempts, refused };
    } catch (err) {
      const text = (err as Error).message;
      if (!text.includes('node_id_taken') || Date.now() > deadlineMs) throw err;
      refused++;
      await sleep(300);
    }
  }
}

// ---- the history check: what every test asserts about its schedule occurrences ----

interface HistoryOptions {
  /** Tasks with their first and last occurrence (every second in between). */
  tasks: { id: string; name: string; startAt: number; endAt: number }[];
  /**
   * Occurrences due in this window (the database away: no node could run them) may be skipped
   * (`misfire`, or `overlap` behind a run whose state the outage left behind) without more ado.
   * Outside it a `misfire` skip is a loss, and an `overlap` skip needs another run of the task
   * running at the time.
   */
  outage?: { from: number; to: number };
  /** `<idempotencyKey> <attempt>` per execution of the counting module. */
  executions: string[];
}

interface HistoryReport {
  problems: string[];
  occurrences: number;
  succeeded: number;
  lost: number;
  retries: number;
  skipped: Record<string, number>;
  executedTwice: number;
  /**
   * Overlap skips by what the run in the way was: one a dead or cut-off node still held
   * (`behindLost`), one really running (`behindRunning`), or one that had ended already but whose
   * outcome was not written yet when the start was refused (`behindUnwritten`: write lag).
   */
  overlap: { behindLost: number; behindRunning: number; behindUnwritten: number };
  lateMs: ReturnType<typeof stats>;
}

/**
 * Checks the run history of every-second tasks:
 * - every occurrence from the first to the last has a row (no gap), attempts 1..n chained by
 *   retryOf, each earlier attempt failed, the last one final;
 * - no (task, occurrence, attempt) twice, no occurrence succeeded twice;
 * - skips: `misfire` only where allowed; `overlap` only while another run of the task ran;
 * - executions: each (occurrence, attempt) at most once; each succeeded attempt exactly once;
 *   an executed attempt that did not succeed was lost (its node died) and retried or out of
 *   attempts; nothing executed that the history does not show.
 */
function checkHistory(runs: RunView[], opts: HistoryOptions): HistoryReport {
  const problems: string[] = [];
  const report: HistoryReport = {
    problems,
    occurrences: 0,
    succeeded: 0,
    lost: 0,
    retries: 0,
    skipped: {},
    executedTwice: 0,
    overlap: { behindLost: 0, behindRunning: 0, behindUnwritten: 0 },
    lateMs: stats([]),
  };
  const execCount = new Map<string, number>();
  for (const l of opts.executions) execCount.set(l, (execCount.get(l) ?? 0) + 1);
  const explained = new Set<string>();
  const late: number[] = [];

  for (const task of opts.tasks) {
    const mine = runs.filter((r) => r.taskId === task.id);
    const byKey = new Map<string, RunView[]>();
    const seen = new Set<string>();
    for (const r of mine) {
      const k = `${r.idempotencyKey} ${r.attempt}`;
      if (seen.has(k)) problems.push(`${task.name}: (occurrence, attempt) ${k} has two rows`);
      seen.add(k);
      const list = byKey.get(r.idempotencyKey) ?? [];
      list.push(r);
      byKey.set(r.idempotencyKey, list);
    }
    // Occurrence times, from attempt 1 of each key.
    const times: number[] = [];
    for (const [key, list] of byKey) {
      list.sort((a, b) => a.attempt - b.attempt);
      const first = list[0]!;
      if (first.attempt !== 1 || first.trigger !== 'schedule') problems.push(`${task.name}: ${key} starts with attempt ${first.attempt} (${first.trigger})`);
      times.push(ms(first.occurrenceAt ?? first.scheduledFor));
      if (list.filter((r) => r.status === 'succeeded').length > 1) problems.push(`${task.name}: ${key} succeeded twice`);
      for (let i = 0; i < list.length; i++) {
        const r = list[i]!;
        const execs = execCount.get(`${key} ${r.attempt}`) ?? 0;
        if (execs > 0) explained.add(`${key} ${r.attempt}`);
        if (!FINAL.has(r.status)) problems.push(`${task.name}: ${key} attempt ${r.attempt} still ${r.status}`);
        if (i > 0) {
          report.retries++;
          if (r.attempt !== list[i - 1]!.attempt + 1 || r.retryOf !== list[i - 1]!.id || r.trigger !== 'retry') {
            problems.push(`${task.name}: ${key} attempt ${r.attempt} is no retry of attempt ${list[i - 1]!.attempt} (retryOf ${r.retryOf}, ${r.trigger})`);
          }
        }
        if (i < list.length - 1 && r.status !== 'failed' && r.status !== 'timed_out') {
          problems.push(`${task.name}: ${key} attempt ${r.attempt} ended ${r.status} yet has a retry`);
        }
        if (r.status === 'failed' && r.reason === 'lost') report.lost++;
        else if (r.status === 'failed' || r.status === 'timed_out' || r.status === 'cancelled') {
          problems.push(`${task.name}: ${key} attempt ${r.attempt} ended ${r.status} (${r.reason ?? ''} ${r.error?.code ?? ''} ${r.error?.message ?? ''})`);
        }
        if (r.status === 'succeeded') {
          report.succeeded++;
          if (r.attempt === 1 && r.lateMs !== null) late.push(r.lateMs);
          if (execs !== 1) problems.push(`${task.name}: ${key} attempt ${r.attempt} succeeded but executed ${execs} times`);
        } else if (r.status === 'skipped') {
          report.skipped[r.reason ?? '?'] = (report.skipped[r.reason ?? '?'] ?? 0) + 1;
          if (execs > 0) problems.push(`${task.name}: ${key} skipped (${r.reason}) but executed ${execs} times`);
          const due = ms(r.occurrenceAt ?? r.scheduledFor);
          const inOutage = opts.outage !== undefined && due >= opts.outage.from && due <= opts.outage.to;
          if (r.reason === 'misfire' && !inOutage) problems.push(`${task.name}: ${key} skipped as misfire though a node was up`);
          if (r.reason === 'overlap' && !inOutage) {
            // Justified only while another run of the task was running (here or on another node).
            // (the skip is written when the start was refused; the run in the way may have ended
            // just before, its outcome not yet written: hence the slack).
            const at = ms(r.finishedAt);
            const started = mine.filter((o) => o.id !== r.id && o.startedAt !== null && ms(o.startedAt) <= at + 50);
            const inTheWay = started.filter((o) => o.finishedAt === null || ms(o.finishedAt) >= at - 2000);
            if (inTheWay.length === 0) problems.push(`${task.name}: ${key} skipped (overlap) at ${r.finishedAt} while no other run of the task was running`);
            else if (inTheWay.some((o) => o.reason === 'lost')) report.overlap.behindLost++;
            else if (inTheWay.some((o) => o.finishedAt === null || ms(o.finishedAt) >= at)) report.overlap.behindRunning++;
            else report.overlap.behindUnwritten++;
          } else if (r.reason !== 'misfire' && r.reason !== 'overlap') {
            problems.push(`${task.name}: ${key} skipped with reason ${r.reason}`);
          }
        } else if (execs > 1) {
          problems.push(`${task.name}: ${key} attempt ${r.attempt} (${r.status}) executed ${execs} times`);
        }
        if (execs > 1) report.executedTwice++;
      }
      const last = list[list.length - 1]!;
      if (last.status === 'failed' && last.reason === 'lost' && last.attempt < RETRY.maxAttempts) {
        problems.push(`${task.name}: ${key} attempt ${last.attempt} was lost and not retried (attempts left)`);
      }
    }
    times.sort((a, b) => a - b);
    report.occurrences += times.length;
    if (times[0] !== task.startAt) problems.push(`${task.name}: first occurrence ${new Date(times[0] ?? NaN).toISOString()}, expected ${new Date(task.startAt).toISOString()}`);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      if (gap !== 1000) problems.push(`${task.name}: ${gap === 0 ? 'duplicate occurrence' : `gap of ${gap} ms`} after ${new Date(times[i - 1]!).toISOString()}`);
    }
    const lastAt = times[times.length - 1] ?? NaN;
    if (lastAt !== task.endAt) problems.push(`${task.name}: last occurrence ${new Date(lastAt).toISOString()}, expected ${new Date(task.endAt).toISOString()}`);
  }
  const taskIds = new Set(opts.tasks.map((t) => t.id));
  for (const [k, n] of execCount) {
    if (explained.has(k)) continue;
    if ([...taskIds].some((id) => k.startsWith(`${id}:`))) problems.push(`execution ${k} (${n}x) has no run row that explains it`);
  }
  report.lateMs = stats(late);
  return report;
}

function assertClean(report: HistoryReport, what: string): void {
  const { problems } = report;
  assert.equal(problems.length, 0, `${what}: ${problems.length} problems:\n  ${problems.slice(0, 30).join('\n  ')}`);
}

// ---- the tests ----

// Whatever a test leaves behind goes here, and is cleaned up even when it fails half-way.
const cleanups: Cleanup[] = [];
after(async () => {
  // Only what a test that timed out left: it failed.
  for (const c of cleanups.splice(0).reverse()) await c(true).catch((err: unknown) => console.error('cleanup failed:', err));
});

describe('cluster failures (real processes, real PostgreSQL, real SIGKILL)', () => {
  it('chaos: a random node of three killed every 3–12 s for two minutes loses nothing and fires nothing twice', { timeout: 230_000 }, () => withCleanup(async (defer) => {
    const cluster = await Cluster.create({ prefix: 'chaos', modules: { 'count.mjs': COUNTING_MODULE }, lease: LEASE, env: NODE_ENV });
    defer(() => cluster.close());
    defer(keepLogs('chaos', cluster));
    // All three at once: they migrate the schema one at a time among themselves.
    const all = await cluster.startAll([{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }]);
    const first = all[0]!;

    const CHAOS_MS = 120_000;
    const startAt = Math.ceil((Date.now() + 3000) / 1000) * 1000;
    const endAt = startAt + CHAOS_MS + 2000;
    const tasks: HistoryOptions['tasks'] = [];
    for (let i = 0; i < 50; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => createTicker(all[(i + j) % 3]!, `chaos-${i + j}`, 'count.mjs', startAt, endAt));
      tasks.push(...(await Promise.all(batch)));
    }
    await sleep(startAt - Date.now());

    // One node down at a time: the next kill waits for the last victim to be back.
    const kills: { node: string; at: number; restartedAt: number; attempts: number; refused: number }[] = [];
    let lastRestartAt = Date.now();
    while (Date.now() < startAt + CHAOS_MS) {
      const due = (kills.at(-1)?.at ?? Date.now()) + randomBetween(3000, 12_000);
      await sleep(due - Date.now());
      if (Date.now() >= startAt + CHAOS_MS) break;
      for (const n of all) {
        if (!n.alive) assert.fail(`node ${n.id} exited by itself (${JSON.stringify(await n.proc.exited)}):\n${n.output.slice(-20).join('\n')}`);
      }
      const victim = all[Math.floor(Math.random() * all.length)]!;
      const at = Date.now();
      await kill9(victim);
      // Its id is free two leases after its last heartbeat; a process takes seconds to start
      // and register, so it is started a lease early and started again if refused.
      await sleep(LEASE_MS - (Date.now() - at));
      const r = await restartWhenFree(victim, at + 10 * LEASE_MS);
      lastRestartAt = Date.now();
      kills.push({ node: victim.id, at, restartedAt: lastRestartAt, ...r });
    }
    const chaosEndedAt = Date.now();

    // Everything due ends within a lease (takeover) plus 10 s of the last restart.
    const settleBy = Math.max(lastRestartAt, endAt) + LEASE_MS + 10_000;
    let runs: RunView[] = [];
    await eventually(
      'every chaos run finished',
      async () => {
        runs = await allRuns(first);
        return runs.length > 0 && runs.every((r) => FINAL.has(r.status)) && runs.some((r) => ms(r.occurrenceAt ?? r.scheduledFor) >= endAt - 1000);
      },
      Math.max(1000, settleBy - Date.now()),
      500,
    ).catch(() => {
      const open = runs.filter((r) => !FINAL.has(r.status));
      throw new Error(`${open.length} runs not finished ${LEASE_MS + 10_000} ms after the last restart, e.g.:\n${JSON.stringify(open.slice(0, 5), null, 1)}`);
    });
    const settledAt = Date.now();

    const report = checkHistory(runs, { tasks, executions: lines(join(cluster.tasksDir, 'executions.log')) });
    // Takeover: how long after a kill its runs that were running were recovered (failed `lost`).
    const takeover: number[] = [];
    for (const r of runs) {
      if (r.reason !== 'lost' || r.startedAt === null) continue;
      const k = kills.find((x) => x.at >= ms(r.startedAt) && x.at - ms(r.startedAt) < 10_000);
      if (k) takeover.push(ms(r.finishedAt) - k.at);
    }
    // Lateness of occurrences due right after a kill (their claims died with the node).
    const lateAfterKill = runs
      .filter((r) => r.attempt === 1 && r.lateMs !== null && kills.some((k) => ms(r.scheduledFor) >= k.at - 1000 && ms(r.scheduledFor) <= k.at + LEASE_MS))
      .map((r) => r.lateMs!);
    console.log(
      JSON.stringify(
        {
          test: 'chaos',
          kills: kills.length,
          victims: kills.map((k) => k.node).join(' '),
          restartRefusals: kills.reduce((n, k) => n + k.refused, 0),
          downMs: stats(kills.map((k) => k.restartedAt - k.at)),
          chaosMs: chaosEndedAt - startAt,
          settledAfterLastRestartMs: settledAt - Math.max(lastRestartAt, endAt),
          runs: runs.length,
          occurrences: report.occurrences,
          succeeded: report.succeeded,
          lost: report.lost,
          retries: report.retries,
          skipped: report.skipped,
          overlapSkips: report.overlap,
          executedTwice: report.executedTwice,
          takeoverMs: stats(takeover),
          lateMs: report.lateMs,
          lateAfterKillMs: stats(lateAfterKill),
        },
        null,
        1,
      ),
    );
    assertClean(report, 'chaos history');
    const expected = tasks.reduce((n, t) => n + (t.endAt - t.startAt) / 1000 + 1, 0);
    assert.equal(report.occurrences, expected, 'every occurrence of every task has a row');
    assert.ok(kills.length >= 6, `only ${kills.length} kills in two minutes`);
  }));

  it('PostgreSQL restarted with -m immediate: 503 + Retry-After while away, ready within 5 s after, nothing lost', { timeout: 120_000 }, () => withCleanup(async (defer) => {
    const pgi: PgInstance = await createPgInstance();
    defer(() => pgi.cleanup());
    await pgi.start();
    const url = await pgi.createDatabase('sundial');
    const cluster = await Cluster.create({
      prefix: 'pgrestart',
      modules: { 'count.mjs': COUNTING_MODULE },
      lease: LEASE,
      env: { ...NODE_ENV, SUNDIAL_DATABASE_URL: url },
    });
    defer(() => cluster.close());
    defer(keepLogs('pgrestart', cluster, () => ({ 'postgres.log': pgi.log })));
    const nodes = await cluster.startAll([{ id: 'r1' }, { id: 'r2' }]);
    const n1 = nodes[0]!;

    const startAt = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    const endAt = startAt + 20_000;
    const tasks: HistoryOptions['tasks'] = [];
    for (let i = 0; i < 10; i++) tasks.push(await createTicker(nodes[i % 2]!, `tick-${i}`, 'count.mjs', startAt, endAt));

    // Load: two writers create tasks without pause, on both nodes; every answer is kept.
    type Answer = { at: number; took: number; node: string; status: number; retryAfter: string | null; type: string | null; id: string | null; error?: string };
    const answers: Answer[] = [];
    let writing = true;
    let seq = 0;
    const writer = async (w: number): Promise<void> => {
      while (writing) {
        const node = nodes[(seq + w) % 2]!;
        const name = `load-${w}-${seq++}`;
        const at = Date.now();
        try {
          const res = await call<{ id?: string; type?: string }>(node, 'POST', '/v1/tasks', {
            name,
            kind: 'module',
            spec: { file: 'count.mjs' },
            schedule: { type: 'cron', expression: '0 0 1 1 *', timezone: 'UTC' },
          });
          answers.push({ at, took: Date.now() - at, node: node.id, status: res.status, retryAfter: res.headers.get('retry-after'), type: res.body.type ?? null, id: res.body.id ?? null });
        } catch (err) {
          answers.push({ at, took: Date.now() - at, node: node.id, status: 0, retryAfter: null, type: null, id: null, error: (err as Error).message });
        }
        await sleep(20);
      }
    };
    const writers = [writer(0), writer(1)];
    // Readiness of both nodes, ten times a second.
    const ready: { at: number; node: string; status: number }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        await Promise.all(
          nodes.map(async (n) => {
            const res = await fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
            ready.push({ at: Date.now(), node: n.id, status: res?.status ?? 0 });
          }),
        );
        await sleep(100);
      }
    })();

    try {
      await eventually('20 runs succeeded before the restart', async () => (await allRuns(n1, '&status=succeeded')).length >= 20, 20_000, 200);
      const downAt = Date.now();
      await pgi.stop('immediate');
      // While it is away: /readyz 503 on both, writes 503 with Retry-After.
      await eventually('/readyz 503 on both nodes while the database is down', async () => nodes.every((n) => ready.some((r) => r.node === n.id && r.at > downAt && r.status === 503)), 8000, 100);
      await eventually('a write answered 503 while the database is down', async () => answers.some((a) => a.at > downAt && a.status === 503), 8000, 100);
      // The downtime is the experiment: two leases, so leases lapse and nodes fence themselves.
      await sleep(downAt + 2 * LEASE_MS - Date.now());
      await pgi.start();
      const upAt = pgi.readyAt!;
      const readyAfter: Record<string, number> = {};
      await eventually('/readyz 200 on both nodes after the restart', async () => {
        for (const n of nodes) {
          const ok = ready.find((r) => r.node === n.id && r.at > upAt && r.status === 200);
          if (ok && readyAfter[n.id] === undefined) readyAfter[n.id] = ok.at - upAt;
        }
        return Object.keys(readyAfter).length === nodes.length;
      }, 10_000, 50);
      // Runs resume: a run of every task succeeds after the database came back.
      await eventually('a run of every task succeeded after the restart', async () => {
        const recent = await allRuns(n1, `&status=succeeded&from=${encodeURIComponent(new Date(upAt).toISOString())}`);
        return tasks.every((t) => recent.some((r) => r.taskId === t.id && ms(r.startedAt) > upAt));
      }, 15_000, 200);
      const resumedAfter = Date.now() - upAt;
      writing = false;
      await Promise.all(writers);
      probing = false;
      await prober;

      // Every task acknowledged with a 2xx exists; every refusal was a 503 with Retry-After.
      const known = new Set((await allTasks(n1)).map((t) => t.id));
      const acked = answers.filter((a) => a.status >= 200 && a.status < 300);
      const missing = acked.filter((a) => a.id === null || !known.has(a.id));
      assert.deepEqual(missing, [], 'tasks acknowledged with 2xx are missing after the restart');
      const refused = answers.filter((a) => a.status < 200 || a.status >= 300);
      const bad = refused.filter((a) => a.status !== 503 || a.retryAfter === null || a.type === null || !a.type.includes('database_unavailable'));
      assert.deepEqual(bad.slice(0, 10), [], `${bad.length} write answers were not 503 database_unavailable with Retry-After`);
      assert.ok(refused.length > 0, 'some writes were refused while the database was away');
      for (const n of nodes) {
        const over5 = readyAfter[n.id]! > 5000;
        assert.ok(!over5, `${n.id}: /readyz 200 only ${readyAfter[n.id]} ms after the database accepted connections`);
      }
      const unreadyFrom = Object.fromEntries(nodes.map((n) => [n.id, (ready.find((r) => r.node === n.id && r.at > downAt && r.status === 503)?.at ?? NaN) - downAt]));

      // Nothing lost: every occurrence of the tickers has a row (misfire skips allowed: no node
      // could run while the database was away), every execution explained.
      let runs: RunView[] = [];
      await eventually('every ticker run finished', async () => {
        runs = (await allRuns(n1)).filter((r) => tasks.some((t) => t.id === r.taskId));
        return runs.every((r) => FINAL.has(r.status)) && runs.some((r) => ms(r.occurrenceAt ?? r.scheduledFor) >= endAt);
      }, Math.max(5000, endAt + LEASE_MS + 10_000 - Date.now()), 500);
      // Occurrences due from the stop until the nodes claim again (a lease after the restart, at
      // most) could not run on time; their fate is the misfire policy's.
      const outage = { from: downAt - 1000, to: upAt + LEASE_MS + 2000 };
      const report = checkHistory(runs, { tasks, outage, executions: lines(join(cluster.tasksDir, 'executions.log')) });
      console.log(
        JSON.stringify(
          {
            test: 'pg-restart',
            downMs: upAt - downAt,
            unreadyAfterDownMs: unreadyFrom,
            readyAfterUpMs: readyAfter,
            resumedAfterUpMs: resumedAfter,
            writes: answers.length,
            acked: acked.length,
            refused: refused.length,
            refusedByStatus: refused.reduce<Record<string, number>>((m, a) => ({ ...m, [a.status]: (m[a.status] ?? 0) + 1 }), {}),
            answerMs: stats(answers.map((a) => a.took)),
            occurrences: report.occurrences,
            succeeded: report.succeeded,
            lost: report.lost,
            skipped: report.skipped,
            lateMs: report.lateMs,
          },
          null,
          1,
        ),
      );
      assertClean(report, 'history across the database restart');
    } finally {
      writing = false;
      probing = false;
    }
  }));

  it('a node cut off from the database fences itself; the other takes over; its late writes are refused', { timeout: 120_000 }, () => withCleanup(async (defer) => {
    const cluster = await Cluster.create({
      prefix: 'partition',
      modules: { 'count.mjs': COUNTING_MODULE, 'long.mjs': LONG_MODULE },
      lease: LEASE,
      env: NODE_ENV,
    });
    defer(() => cluster.close());
    defer(keepLogs('partition', cluster, () => ({ 'long.log': lines(join(cluster.tasksDir, 'long.log')) })));
    const dbUrl = new URL(cluster.db.url);
    const proxy: TcpProxy = await startTcpProxy({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
    defer(() => proxy.close());

    // B (behind the proxy) starts alone and takes the long runs; then A joins.
    const b = await cluster.start({ id: 'cut', env: { SUNDIAL_DATABASE_URL: proxy.rewrite(cluster.db.url) } });
    const long = await call<TaskView>(b, 'POST', '/v1/tasks', {
      name: 'long',
      kind: 'module',
      spec: { file: 'long.mjs' },
      policies: { retry: { maxAttempts: 2, backoff: { type: 'fixed', initial: '500ms', jitter: false } } },
    });
    assert.equal(long.status, 201);
    const victims: RunView[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call<RunView>(b, 'POST', '/v1/tasks/long/runs', { payload: { ms: 120_000 } });
      assert.equal(res.status, 201);
      victims.push(res.body);
    }
    await eventually('the long runs running on the node to cut', async () => {
      for (const v of victims) {
        const r = (await call<RunView>(b, 'GET', `/v1/runs/${v.id}`)).body;
        if (r.status !== 'running' || r.node !== 'cut') return false;
      }
      return true;
    });
    const a = await cluster.start({ id: 'other' });
    // Tickers both nodes run, through the cut and after it: three, a third of a second apart, so
    // B soon claims an occurrence (whichever node polls first claims what is due).
    const startAt = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    const endAt = startAt + 22_000;
    const tickers: HistoryOptions['tasks'] = [];
    for (let i = 0; i < 3; i++) tickers.push(await createTicker(b, `tick-${i}`, 'count.mjs', startAt + i * 333, endAt + i * 333));
    await sleep(startAt + 2000 - Date.now());

    // The cut: B's connections stay open, nothing passes; three leases long. It lands at the
    // worst moment: inside a claim transaction of B (right after its statement that locks the
    // ticker's task row), which the database then holds open with its locks.
    const cut = await proxy.blackholeAfter('sundial_claim_tasks', 6000);
    const cutAt = cut.at;
    const fence = await eventually('the fence log line of the cut node', async () => logged(b, 'could not renew leases in time')[0], 2 * LEASE_MS, 50);
    const longLog = join(cluster.tasksDir, 'long.log');
    const events = (): { ev: string; key: string; attempt: number; node: string; at: number }[] =>
      lines(longLog).map((l) => {
        const [ev, key, attempt, node, at] = l.split(' ');
        return { ev: ev!, key: key!, attempt: Number(attempt), node: node!, at: Number(at) };
      });
    // Its runs' signals abort.
    await eventually('ctx.signal aborted for every run of the cut node', async () => victims.every((v) => events().some((e) => e.ev === 'abort' && e.key === v.idempotencyKey && e.node === 'cut')), 5000, 50);
    // The other node takes them over: failed `lost`, retried there.
    const lostRows = await eventually('the cut node\'s runs recovered as failed lost', async () => {
      const rows = await Promise.all(victims.map(async (v) => (await call<RunView>(a, 'GET', `/v1/runs/${v.id}`)).body));
      return rows.every((r) => r.status === 'failed' && r.reason === 'lost') ? rows : null;
    }, 4 * LEASE_MS, 100);
    const retries = await eventually('the retries succeeded on the other node', async () => {
      const runs = await allRuns(a, `&task=${long.body.id}`);
      const done = victims.map((v) => runs.find((r) => r.retryOf === v.id && r.status === 'succeeded'));
      return done.every((r) => r !== undefined) ? (done as RunView[]) : null;
    }, 4 * LEASE_MS, 100);
    const readyWhileCut = await fetch(`${b.url}/readyz`, { signal: AbortSignal.timeout(3000) }).then((r) => r.status, () => 0);

    // The cut lasts three leases; then the network heals and B's held-back writes arrive.
    await sleep(cutAt + 3 * LEASE_MS - Date.now());
    const before = await Promise.all(victims.map(async (v) => (await call<RunView>(a, 'GET', `/v1/runs/${v.id}`)).body));
    const errorsDuringCut = logged(b, 'scheduler error').filter((e) => e.time > cutAt);
    const healAt = Date.now();
    await proxy.setMode('pass');
    const unfence = await eventually('the unfence log line after the heal', async () => logged(b, 'leases renewed again').find((e) => e.time > healAt), 6 * LEASE_MS, 100);
    const readyAgain = await eventually('/readyz 200 on the healed node', async () => {
      const res = await fetch(`${b.url}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.status === 200 ? Date.now() : null;
    }, 10_000, 100);
    const afterRows = await Promise.all(victims.map(async (v) => (await call<RunView>(a, 'GET', `/v1/runs/${v.id}`)).body));

    // The tickers: nothing lost or doubled through the cut (A carried them alone meanwhile).
    let runs: RunView[] = [];
    await eventually('every run finished after the heal', async () => {
      runs = await allRuns(a);
      return runs.every((r) => FINAL.has(r.status)) && tickers.every((t) => runs.some((r) => r.taskId === t.id && ms(r.occurrenceAt ?? r.scheduledFor) >= t.endAt));
    }, Math.max(5000, endAt + 1000 + LEASE_MS + 10_000 - Date.now()), 500);
    const report = checkHistory(runs, {
      tasks: tickers,
      executions: lines(join(cluster.tasksDir, 'executions.log')),
    });

    const ev = events();
    const takeoverAt = Math.min(...lostRows.map((r) => ms(r.finishedAt)));
    console.log(
      JSON.stringify(
        {
          test: 'partition',
          cutInsideClaim: cut.matched,
          fenceAfterCutMs: fence.time - cutAt,
          abortsAfterCutMs: stats(victims.map((v) => ev.find((e) => e.ev === 'abort' && e.key === v.idempotencyKey)!.at - cutAt)),
          takeoverAfterCutMs: stats(lostRows.map((r) => ms(r.finishedAt) - cutAt)),
          retryStartAfterCutMs: stats(retries.map((r) => ms(r.startedAt) - cutAt)),
          readyzWhileCut: readyWhileCut,
          schedulerErrorsOnCutNodeDuringCut: errorsDuringCut.length,
          unfenceAfterHealMs: unfence.time - healAt,
          readyAfterHealMs: readyAgain - healAt,
          proxy: proxy.stats,
          tick: { occurrences: report.occurrences, succeeded: report.succeeded, lost: report.lost, skipped: report.skipped, lateMs: report.lateMs },
        },
        null,
        1,
      ),
    );

    // Fenced before anyone could take over, and every run stopped before its retry started.
    assert.ok(fence.time < takeoverAt, `fenced at ${fence.time - cutAt} ms after the cut, but the runs were taken over at ${takeoverAt - cutAt} ms`);
    for (let i = 0; i < victims.length; i++) {
      const v = victims[i]!;
      const lost = lostRows[i]!;
      const retry = retries[i]!;
      assert.equal(lost.node, 'other', `${v.id} was recovered by the other node`);
      assert.equal(lost.error?.code, 'lost');
      assert.equal(retry.attempt, 2);
      assert.equal(retry.node, 'other');
      const abort = ev.find((e) => e.ev === 'abort' && e.key === v.idempotencyKey && e.attempt === 1)!;
      assert.ok(abort.at <= ms(retry.startedAt), `${v.id}: attempt 1 still ran on the cut node when attempt 2 started on the other`);
      // One start per attempt: attempt 1 on the cut node, attempt 2 on the other.
      const starts = ev.filter((e) => e.ev === 'start' && e.key === v.idempotencyKey).map((e) => `${e.attempt}@${e.node}`).sort();
      assert.deepEqual(starts, ['1@cut', '2@other'], `${v.id}: executions`);
      // Nothing the cut node wrote after the heal changed the run: the other node's outcome stands.
      assert.deepEqual(
        { status: afterRows[i]!.status, reason: afterRows[i]!.reason, node: afterRows[i]!.node, finishedAt: afterRows[i]!.finishedAt, updatedAt: afterRows[i]!.updatedAt },
        { status: before[i]!.status, reason: before[i]!.reason, node: before[i]!.node, finishedAt: before[i]!.finishedAt, updatedAt: before[i]!.updatedAt },
        `${v.id}: changed after the heal`,
      );
    }
    // The stall of the cut says nothing about the clocks (its round trips took seconds).
    assert.deepEqual(logged(b, "this node's clock differs").map((e) => e.line), [], 'a clock warning from a round trip through the cut');
    const allLong = await allRuns(a, `&task=${long.body.id}`);
    assert.equal(allLong.length, 8, 'four lost attempts and four retries, nothing more');
    assertClean(report, 'ticker history through the cut');
  }));
});
