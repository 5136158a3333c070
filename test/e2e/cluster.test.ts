// A Sundial cluster of real `sundial serve` processes on the real local PostgreSQL behaves as one
// scheduler: nodes see each other (and notice a death), roles split the work, each occurrence
// fires once across nodes, cancels, overlap and concurrency caps, live events, log follows and
// key revocations reach across nodes, and every API node serves the dashboard.
//
// Three clusters, each on a fresh database (dropped in `after`): `main` (three full nodes) and
// `roles` (an api-only node and a worker node) are exercised concurrently; `members` (three full
// nodes, killed and restarted) goes last, alone, so its process starts do not skew the timings
// measured by the others. Every figure worth knowing is reported with t.diagnostic().
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster, ClusterNode, eventually, request, SseStream, type SseEvent } from './cluster-harness.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const UI_INDEX = join(ROOT, 'dist', 'ui', 'index.html');

interface RunView {
  id: string;
  taskId: string;
  taskName: string;
  namespace: string;
  status: string;
  attempt: number;
  retryOf: string | null;
  trigger: string;
  occurrenceAt: string | null;
  scheduledFor: string;
  startedAt: string | null;
  finishedAt: string | null;
  lateMs: number | null;
  reason: string | null;
  node: string | null;
  error: { code: string; message: string } | null;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface NodeView {
  id: string;
  host: string;
  pid: number;
  version: string;
  roles: string[];
  startedAt: string;
  lastHeartbeatAt: string;
  status: 'up' | 'suspect' | 'down';
  runsInFlight: number;
}
interface TransitionData {
  runId: string;
  from: string | null;
  to: string;
}

// ---- task modules (one tasks directory per cluster, shared by its nodes) ----

/** Records each execution (task, run id, attempt) in a file, so user code is counted apart from the server's word. */
const COUNTING_MODULE = `
import { appendFileSync } from 'node:fs';
export default async function (ctx) {
  appendFileSync(new URL('./executions.log', import.meta.url), ctx.task.name + ' ' + ctx.run.id + ' ' + ctx.run.attempt + '\\n');
  return { attempt: ctx.run.attempt };
}`;

/** Attempt 1 waits for ctx.signal (and records when it saw the abort); later attempts succeed at once. */
const WAIT_FOR_ABORT_MODULE = `
import { appendFileSync } from 'node:fs';
export default async function (ctx) {
  if (ctx.run.attempt > 1) return 'attempt ' + ctx.run.attempt;
  await new Promise((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener('abort', resolve, { once: true });
  });
  appendFileSync(new URL('./aborts.log', import.meta.url), ctx.run.id + ' ' + Date.now() + '\\n');
  return 'aborted';
}`;

/** Sleeps `ms` and records the interval it really executed (all nodes share this machine's clock). */
function slowModule(ms: number): string {
  return `
import { appendFileSync } from 'node:fs';
export default async function (ctx) {
  const start = Date.now();
  await new Promise((r) => setTimeout(r, ${ms}));
  const end = Date.now();
  appendFileSync(new URL('./intervals.log', import.meta.url), ctx.task.name + ' ' + ctx.run.id + ' ' + start + ' ' + end + '\\n');
  return { start, end };
}`;
}

/** Twenty log lines 100 ms apart. */
const DRIP_MODULE = `
export default async function (ctx) {
  for (let i = 0; i < 20; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    ctx.log('line ' + i);
  }
  return 'dripped';
}`;

const NOOP_MODULE = `export default async () => 'ok';`;

// ---- helpers ----

async function listRuns(node: ClusterNode, query: string): Promise<RunView[]> {
  const out: RunView[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: Page<RunView> } = await node.api<Page<RunView>>('GET', `/v1/runs?limit=500&${query}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, `GET /v1/runs?${query}`);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

async function getRun(node: ClusterNode, id: string): Promise<RunView> {
  const res = await node.api<RunView>('GET', `/v1/runs/${id}`);
  assert.equal(res.status, 200, `GET /v1/runs/${id}: ${res.text}`);
  return res.body;
}

/** Polls a run on `node` until `pred` holds; on timeout, says what the run looked like last. */
async function waitForRun(node: ClusterNode, id: string, pred: (r: RunView) => boolean, timeoutMs = 15_000, everyMs = 50): Promise<RunView> {
  let last: RunView | undefined;
  try {
    return await eventually(async () => {
      last = await getRun(node, id);
      return pred(last) ? last : null;
    }, timeoutMs, everyMs);
  } catch {
    throw new Error(`run ${id} (asked on ${node.id}) did not get there in ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
  }
}

async function listNodes(node: ClusterNode): Promise<NodeView[]> {
  const res = await node.api<{ items: NodeView[] }>('GET', '/v1/cluster/nodes');
  assert.equal(res.status, 200, res.text);
  return res.body.items;
}

async function createTask(node: ClusterNode, body: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const res = await node.api<{ id: string; name: string }>('POST', '/v1/tasks', body);
  assert.equal(res.status, 201, `create ${String(body.name)}: ${res.text}`);
  return res.body;
}

async function startRun(node: ClusterNode, task: string): Promise<RunView> {
  const res = await node.api<RunView>('POST', `/v1/tasks/${task}/runs`, {});
  assert.equal(res.status, 201, `run ${task}: ${res.text}`);
  return res.body;
}

/**
 * Pauses the tasks (ids or names in `default`), then waits until none of the runs `queries`
 * select is in flight (queued or running). A paused task's pending occurrence is cancelled by the
 * pause; tests check separately that none is left `scheduled`.
 */
async function pauseAndSettle(nodes: ClusterNode[], tasks: string[], queries: string[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(
    tasks.map(async (t, i) => {
      const res = await nodes[i % nodes.length]!.api('POST', `/v1/tasks/${t}/pause`);
      assert.equal(res.status, 200, `pause ${t}: ${res.text}`);
    }),
  );
  let left: RunView[] = [];
  try {
    await eventually(
      async () => {
        left = (await Promise.all(queries.map((q) => listRuns(nodes[0]!, `${q}&status=queued,running`)))).flat();
        return left.length === 0;
      },
      timeoutMs,
      200,
    );
  } catch {
    const now = Date.now();
    const what = left.map((r) => `${r.taskName} ${r.status} on ${r.node} due ${r.scheduledFor} (${now - ms(r.scheduledFor)} ms ago) started ${r.startedAt}`);
    throw new Error(`runs still in flight ${timeoutMs} ms after pausing:\n  ${what.join('\n  ')}`);
  }
}

const ms = (iso: string | null): number => (iso === null ? NaN : Date.parse(iso));

/** Asserts that no run of these (paused) tasks is still waiting to fire. */
function assertNothingPending(runs: RunView[]): void {
  const pending = runs.filter((r) => r.status === 'scheduled');
  assert.deepEqual(
    pending.map((r) => `${r.taskName} due ${r.scheduledFor}`),
    [],
    'a paused task still has a pending occurrence',
  );
}

/** Pairs of intervals that overlap (sorted by start): [earlier, later]. */
function overlapping<T extends { start: number; end: number }>(intervals: T[]): [T, T][] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const out: [T, T][] = [];
  let latest: T | undefined;
  for (const cur of sorted) {
    if (latest !== undefined && cur.start < latest.end) out.push([latest, cur]);
    if (latest === undefined || cur.end > latest.end) latest = cur;
  }
  return out;
}

/** Intervals the slow module recorded for these tasks. */
function moduleIntervals(cluster: Cluster, tasks: string[]): { task: string; runId: string; start: number; end: number }[] {
  const file = join(cluster.tasksDir, 'intervals.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => tasks.includes(f[0]!))
    .map(([task, runId, start, end]) => ({ task: task!, runId: runId!, start: Number(start), end: Number(end) }));
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** True for a `run:transition` event of run `runId` to `to`. */
function isTransition(e: SseEvent, runId: string, to: string): boolean {
  if (e.event !== 'run:transition') return false;
  const d = JSON.parse(e.data) as TransitionData;
  return d.runId === runId && d.to === to;
}

/** Follows a run's log on `node` until `event: end`. */
async function followLog(node: ClusterNode, runId: string, timeoutMs = 20_000): Promise<SseEvent[]> {
  const stream = await SseStream.open(node.url, `/v1/runs/${runId}/logs?follow=1`);
  try {
    await stream.waitFor((e) => e.event === 'end', timeoutMs);
    return stream.events;
  } finally {
    stream.close();
  }
}

/** Asserts a followed log is lines 0..19 of the drip module, each once, in order, then `end`. */
function assertDripLog(events: SseEvent[]): void {
  const lines = events.filter((e) => e.event === 'message');
  const end = events.find((e) => e.event === 'end');
  assert.deepEqual(
    lines.map((e) => (JSON.parse(e.data) as { message: string }).message),
    Array.from({ length: 20 }, (_, i) => `line ${i}`),
    `every line once, in order; the stream was: ${events.map((e) => `${e.event}${e.id === undefined ? '' : `#${e.id}`} ${e.data}`).join(' | ').slice(0, 2000)}`,
  );
  assert.deepEqual(
    lines.map((e) => e.id),
    Array.from({ length: 20 }, (_, i) => String(i)),
    'event ids are the line indexes',
  );
  assert.ok(end, 'the stream ends with `event: end`');
  assert.equal(events.at(-1), end, 'nothing after `end`');
  assert.equal((JSON.parse(end.data) as { status: string }).status, 'succeeded');
}

/** GET / answers the dashboard's index.html, its script loads, and its API answers, on this node. */
async function assertDashboard(n: ClusterNode): Promise<void> {
  const page = await request<string>(n.url, 'GET', '/', { token: null, headers: { accept: 'text/html' } });
  assert.equal(page.status, 200, `${n.id} GET /: ${page.text.slice(0, 200)}`);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.text, /<div id="root"><\/div>/, `${n.id} does not serve the app's index.html`);
  const script = /<script type="module" crossorigin src="([^"]+)"/.exec(page.text)?.[1];
  assert.ok(script, `${n.id}: no script in index.html`);
  const asset = await request(n.url, 'GET', script, { token: null });
  assert.equal(asset.status, 200, `${n.id} GET ${script}`);
  assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  // A client-side route loads the page too, and the API the page calls answers on this node.
  assert.equal((await request(n.url, 'GET', '/tasks', { token: null, headers: { accept: 'text/html' } })).status, 200, `${n.id} GET /tasks`);
  assert.equal((await n.api('GET', '/v1/me')).status, 200);
}

// ---- the clusters ----

/**
 * SUNDIAL_E2E_CLUSTERS=main,roles runs only those groups: Node 20's --test-name-pattern still runs
 * the `before` hooks (the cluster starts) of groups it filters out.
 */
const only = process.env.SUNDIAL_E2E_CLUSTERS?.split(',');

/**
 * The lease of the clusters where no node dies. With a 3 s lease a node fences itself when one
 * lease renewal is 500 ms late (renewals every second, fence 1.5 s before the lease ends), which
 * a 2-core machine running other suites does now and then: its runs then end `failed` (lost),
 * which is right for a fenced node but not what these tests are about. `members` keeps 3 s.
 */
const CALM_LEASE = '10s';
const skip = (group: string): boolean => only !== undefined && !only.includes(group);

let main: Cluster | undefined;
let roles: Cluster | undefined;
let members: Cluster | undefined;
let startupMs = 0;

// All clusters start at once, before any test: a node's start costs seconds of CPU (tsx), and
// tests that measure latencies should not share the machine with starting processes. Each group
// closes its cluster when it is done, so `members` (last) runs on a quieter machine.
before(
  async () => {
    // The dashboard is served from dist/ui, read at start: build it first if `pretest` did not.
    if (!existsSync(UI_INDEX)) execFileSync('npm', ['run', 'build:ui'], { cwd: ROOT, stdio: 'ignore', timeout: 180_000 });
    const starts: Promise<unknown>[] = [];
    if (!skip('roles')) {
      // A long poll: a run created on the api node starts promptly only through the wake hint.
      starts.push(
        Cluster.create({ prefix: 'roles', lease: CALM_LEASE, pollInterval: '5s', modules: { 'noop.mjs': NOOP_MODULE, 'drip.mjs': DRIP_MODULE } }).then((c) =>
          (roles = c).startAll([
            { id: 'api-only', roles: 'api' },
            { id: 'worker', roles: 'executor,scheduler' },
          ]),
        ),
      );
    }
    if (!skip('main')) {
      const modules = {
        'count.mjs': COUNTING_MODULE,
        'abortable.mjs': WAIT_FOR_ABORT_MODULE,
        'slow-2500.mjs': slowModule(2500),
        'slow-300.mjs': slowModule(300),
        'drip.mjs': DRIP_MODULE,
      };
      starts.push(Cluster.create({ prefix: 'main', lease: CALM_LEASE, modules }).then((c) => (main = c).startAll([{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }])));
    }
    if (!skip('members')) {
      starts.push(
        Cluster.create({ prefix: 'members', modules: { 'abortable.mjs': WAIT_FOR_ABORT_MODULE } }).then((c) =>
          (members = c).startAll([{ id: 'm1' }, { id: 'm2' }, { id: 'm3' }]),
        ),
      );
    }
    const t0 = Date.now();
    // allSettled: every start is awaited before a failure is reported, so none is left half-started.
    const failed = (await Promise.allSettled(starts)).filter((r) => r.status === 'rejected');
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
    startupMs = Date.now() - t0;
  },
  { timeout: 240_000 },
);

after(async () => {
  // Each group closes its own cluster; this catches whatever a failed hook left behind.
  await Promise.all([main?.close(), roles?.close(), members?.close()]);
});

describe('a cluster is one scheduler', { concurrency: true }, () => {
  describe('roles: an api-only node and a worker node', { concurrency: true, skip: skip('roles') }, () => {
    after(() => roles?.close());

    it('an api-only node serves the API and the dashboard; an executor,scheduler node only health and metrics', async () => {
      const api = roles!.node('api-only');
      const worker = roles!.node('worker');
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        const res = await request(worker.url, 'GET', path, { token: null });
        assert.equal(res.status, 200, `worker ${path}: ${res.text}`);
      }
      assert.match((await request(worker.url, 'GET', '/metrics', { token: null })).text, /^# (HELP|TYPE) /m);
      assert.equal((await worker.api('GET', '/v1/tasks')).status, 404, 'no API on a worker node');
      assert.equal((await worker.api('GET', '/v1/cluster/nodes')).status, 404);
      assert.equal((await api.api('GET', '/v1/tasks')).status, 200);
      assert.equal((await request(api.url, 'GET', '/readyz', { token: null })).status, 200);
      await assertDashboard(api);
      assert.equal((await request(worker.url, 'GET', '/', { token: null, headers: { accept: 'text/html' } })).status, 404, 'a worker node serves no dashboard');
      const nodes = await listNodes(api);
      assert.deepEqual(
        nodes.map((n) => [n.id, n.roles]),
        [
          ['api-only', ['api']],
          ['worker', ['executor', 'scheduler']],
        ],
      );
    });

    it('runs created through the api-only node run on the worker, promptly (wake hint, 5 s poll)', async (t) => {
      const api = roles!.node('api-only');
      await createTask(api, { name: 'noop', kind: 'module', spec: { file: 'noop.mjs' } });
      const late: number[] = [];
      // The first run also pays for cold paths (the worker's first claim, its pool's first job).
      for (let i = 0; i < 6; i++) {
        const created = await startRun(api, 'noop');
        const done = await waitForRun(api, created.id, (r) => r.status === 'succeeded', 10_000);
        assert.equal(done.node, 'worker', 'run on the worker');
        assert.ok(done.lateMs !== null);
        late.push(done.lateMs);
      }
      t.diagnostic(`api → worker lateness (ms): ${late.join(', ')} (the first one cold)`);
      assert.ok(late[0]! < 5000, `the first run waited ${late[0]} ms`);
      assert.ok(Math.max(...late.slice(1)) < 1000, `runs waited for the 5 s poll instead of the wake hint: lateMs ${late.join(', ')}`);
      const all = await listRuns(api, 'task=noop');
      assert.equal(all.length, 6);
      assert.ok(all.every((r) => r.node === 'worker'), 'the api-only node never runs a run');
    });

    it('live events: an SSE client on the api node sees the transitions of runs on the worker', async (t) => {
      const api = roles!.node('api-only');
      await createTask(api, { name: 'seen', kind: 'module', spec: { file: 'noop.mjs' } });
      const stream = await SseStream.open(api.url, '/v1/events');
      try {
        await stream.waitForComment((c) => c === 'connected');
        const connectedAt = Date.now();
        const transitionsOf = (runId: string): string[] =>
          stream.events
            .filter((e) => e.event === 'run:transition')
            .map((e) => JSON.parse(e.data) as TransitionData)
            .filter((d) => d.runId === runId)
            .map((d) => `${d.from}>${d.to}`);
        // The interest handshake (api node → worker) takes up to about a second after connecting.
        let handshakeRuns = 0;
        await eventually(async () => {
          handshakeRuns++;
          const run = await startRun(api, 'seen');
          try {
            await stream.waitFor((e) => isTransition(e, run.id, 'succeeded'), 1500);
            return true;
          } catch {
            return false;
          }
        }, 10_000, 0);
        t.diagnostic(`first relayed transition ${Date.now() - connectedAt} ms after connecting (${handshakeRuns} run(s))`);
        for (let i = 0; i < 3; i++) {
          const run = await startRun(api, 'seen');
          await stream.waitFor((e) => isTransition(e, run.id, 'succeeded'), 5000);
          const seen = transitionsOf(run.id).filter((s) => !s.endsWith('>scheduled'));
          assert.deepEqual(seen, ['scheduled>queued', 'queued>running', 'running>succeeded'], `transitions of ${run.id}`);
          assert.equal((await getRun(api, run.id)).node, 'worker');
        }
      } finally {
        stream.close();
      }
    });

    it('live logs: following a run of the worker on the api node gets every line in order, then end', async (t) => {
      const api = roles!.node('api-only');
      await createTask(api, { name: 'drip', kind: 'module', spec: { file: 'drip.mjs' } });
      const run = await startRun(api, 'drip');
      const events = await followLog(api, run.id);
      assertDripLog(events);
      assert.equal((await getRun(api, run.id)).node, 'worker');
      const at = events.filter((e) => e.event === 'message').map((e) => e.at);
      t.diagnostic(`api-node follow: 20 lines over ${at.at(-1)! - at[0]!} ms, largest gap ${Math.max(...at.slice(1).map((a, i) => a - at[i]!))} ms`);
    });
  });

  describe('main: three full nodes', { concurrency: true, skip: skip('main') }, () => {
    after(() => main?.close());

    it('each occurrence fires once: 20 tasks every second for ~15 s on 3 nodes', async (t) => {
      const nodes = main!.live;
      const names = Array.from({ length: 20 }, (_, i) => `tick-${String(i).padStart(2, '0')}`);
      // Far enough ahead that all 20 exist by then on a machine the rest of the suite loads: a
      // task created after its startAt begins at a later second (3 s ahead was not always enough).
      const t0 = Math.ceil((Date.now() + 8000) / 1000) * 1000;
      const tasks = await Promise.all(
        names.map((name, i) =>
          createTask(nodes[i % nodes.length]!, {
            name,
            namespace: 'ticks',
            kind: 'module',
            spec: { file: 'count.mjs' },
            schedule: { type: 'interval', every: '1s', startAt: new Date(t0).toISOString() },
          }),
        ),
      );
      // ~15 occurrences of each task recorded, however late the machine is.
      await eventually(
        async () => {
          const byTask = countBy(await listRuns(nodes[0]!, 'namespace=ticks&status=succeeded,skipped,failed,timed_out,cancelled'), (r) => r.taskName);
          return names.every((n) => (byTask[n] ?? 0) >= 15);
        },
        60_000,
        500,
      );
      await pauseAndSettle(nodes, tasks.map((x) => x.id), ['namespace=ticks']);
      const runs = await listRuns(nodes[0]!, 'namespace=ticks');
      const succeeded = runs.filter((r) => r.status === 'succeeded');
      const lines = readFileSync(join(main!.tasksDir, 'executions.log'), 'utf8').trim().split('\n').filter((l) => l.startsWith('tick-'));
      const late = succeeded.map((r) => r.lateMs!);
      t.diagnostic(`${runs.length} runs ${JSON.stringify(countBy(runs, (r) => (r.reason === null ? r.status : `${r.status}/${r.reason}`)))}; executed per node ${JSON.stringify(countBy(succeeded, (r) => r.node ?? '?'))}; ${lines.length} executions counted`);
      t.diagnostic(`lateness ms: p50 ${percentile(late, 50)}, p99 ${percentile(late, 99)}, max ${Math.max(...late)}`);

      const keys = runs.map((r) => `${r.taskId} ${r.scheduledFor} ${r.attempt}`);
      assert.equal(new Set(keys).size, keys.length, 'a (task, scheduledFor, attempt) recorded twice');
      for (const name of names) {
        const occ = runs
          .filter((r) => r.taskName === name)
          .map((r) => ms(r.occurrenceAt ?? r.scheduledFor))
          .sort((a, b) => a - b);
        assert.ok(occ.length >= 15, `${name}: ${occ.length} occurrences`);
        assert.ok(occ[0] === t0 || occ[0] === t0 + 1000, `${name} starts at ${new Date(occ[0]!).toISOString()}, not at startAt`);
        const gaps = occ.slice(1).map((o, i) => o - occ[i]!).filter((d) => d !== 1000);
        assert.deepEqual(gaps, [], `${name}: occurrences not 1 s apart (a gap or a repeat)`);
      }
      const unexpected = runs.filter(
        (r) => !['succeeded', 'skipped', 'cancelled', 'scheduled'].includes(r.status) || (r.status === 'cancelled' && r.reason !== 'paused'),
      );
      assert.deepEqual(unexpected.map((r) => `${r.taskName} ${r.status}/${r.reason} on ${r.node}: ${r.error?.message}`), [], 'runs that neither ran, were skipped nor were paused');
      assert.equal(new Set(lines).size, lines.length, 'an attempt executed twice');
      assert.equal(lines.length, succeeded.length, 'executions counted by the module ≠ succeeded runs');
      assert.deepEqual(new Set(lines.map((l) => l.split(' ')[1])), new Set(succeeded.map((r) => r.id)), 'executed runs ≠ succeeded runs');
      assertNothingPending(runs);
    });

    it('cancel across nodes: a run on node A cancelled through node B ends cancelled within 2 s, the module saw the abort', async (t) => {
      const nodes = main!.live;
      await createTask(nodes[0]!, { name: 'abortable', kind: 'module', spec: { file: 'abortable.mjs' } });
      const run = await startRun(nodes[0]!, 'abortable');
      const running = await waitForRun(nodes[0]!, run.id, (r) => r.status === 'running');
      const holder = running.node;
      const other = nodes.find((n) => n.id !== holder)!;
      // Timed from the cancel's answer (it is committed then): on a loaded machine the request
      // itself can take a second, which says nothing about how the cancel reaches node A.
      const sentAt = Date.now();
      const res = await other.api<RunView>('POST', `/v1/runs/${run.id}/cancel`);
      const t0 = Date.now();
      assert.equal(res.status, 200, res.text);
      const ended = await waitForRun(other, run.id, (r) => r.status !== 'running', 5000, 20);
      const seenAfter = Date.now() - t0;
      const endedAfter = ms(ended.finishedAt) - t0;
      const file = join(main!.tasksDir, 'aborts.log');
      const abortLine = await eventually(async () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(run.id + ' ')) : undefined), 2000).catch(() => null);
      const abortAfter = abortLine === null ? null : Number(abortLine.split(' ')[1]) - t0;
      t.diagnostic(
        `run on ${holder}, cancelled through ${other.id} (the POST took ${t0 - sentAt} ms); after its answer: the module saw the abort at +${abortAfter ?? 'never'} ms, ` +
          `the run ended (finishedAt) at +${endedAfter} ms, ${other.id} showed it ${ended.status} by +${seenAfter} ms`,
      );
      assert.equal(ended.status, 'cancelled', JSON.stringify(ended));
      assert.equal(ended.reason, 'cancelled');
      assert.equal(ended.node, holder);
      assert.ok(abortLine !== null, `the module never saw the abort (no line in aborts.log); the run: ${JSON.stringify(ended)}`);
      assert.ok(endedAfter < 2000 && seenAfter < 2000, `the run ended ${endedAfter} ms after the cancel was answered, and showed cancelled after ${seenAfter} ms`);
    });

    it('overlap skip across nodes: never two runs of the task at once; skipped ones say overlap', async (t) => {
      const nodes = main!.live;
      await createTask(nodes[1]!, {
        name: 'overlapping',
        kind: 'module',
        spec: { file: 'slow-2500.mjs' },
        schedule: { type: 'interval', every: '1s', startAt: new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000).toISOString() },
        policies: { overlap: 'skip' },
      });
      await eventually(async () => (await listRuns(nodes[0]!, 'task=overlapping&status=succeeded')).length >= 4, 40_000, 250);
      await pauseAndSettle(nodes, ['overlapping'], ['task=overlapping']);
      const runs = await listRuns(nodes[0]!, 'task=overlapping');
      const ran = runs.filter((r) => r.startedAt !== null);
      const executed = moduleIntervals(main!, ['overlapping']);
      t.diagnostic(`${ran.length} ran (per node ${JSON.stringify(countBy(ran, (r) => r.node ?? '?'))}); statuses ${JSON.stringify(countBy(runs, (r) => `${r.status}${r.reason ? '/' + r.reason : ''}`))}; skips decided on ${JSON.stringify(countBy(runs.filter((r) => r.status === 'skipped'), (r) => r.node ?? '?'))}`);
      const clash = overlapping(ran.map((r) => ({ id: r.id, node: r.node, status: `${r.status}/${r.reason}`, start: ms(r.startedAt), end: ms(r.finishedAt) })));
      assert.deepEqual(
        { recorded: clash, executed: overlapping(executed) },
        { recorded: [], executed: [] },
        `two runs of the task were running at once; module intervals: ${JSON.stringify(executed)}`,
      );
      const skipped = runs.filter((r) => r.status === 'skipped');
      assert.ok(skipped.length >= 4, `only ${skipped.length} skipped`);
      assert.deepEqual([...new Set(skipped.map((r) => r.reason))], ['overlap']);
      assert.deepEqual(ran.filter((r) => r.status !== 'succeeded').map((r) => `${r.id} ${r.status}/${r.reason} on ${r.node}: ${r.error?.message}`), [], 'a run that started did not succeed');
      assertNothingPending(runs);
    });

    it('concurrency key across nodes: two tasks sharing a key with cap 1 never run at once', async (t) => {
      const nodes = main!.live;
      const startAt = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000).toISOString();
      const names = ['keyed-a', 'keyed-b'];
      // When each start and end was committed (a transition is published after its commit), to
      // tell a start admitted too early from a start stamped before it was admitted.
      const events = await SseStream.open(nodes[0]!.url, '/v1/events');
      await Promise.all(
        names.map((name, i) =>
          createTask(nodes[i]!, {
            name,
            kind: 'module',
            spec: { file: 'slow-300.mjs' },
            schedule: { type: 'interval', every: '1s', startAt },
            policies: { concurrency: 1, concurrencyKey: 'shared-key' },
          }),
        ),
      );
      await eventually(async () => {
        const [a, b] = await Promise.all(names.map((n) => listRuns(nodes[0]!, `task=${n}&status=succeeded`)));
        return a!.length >= 5 && b!.length >= 5;
      }, 40_000, 250);
      await pauseAndSettle(nodes, names, names.map((n) => `task=${n}`)).finally(() => events.close());
      const runs = (await Promise.all(names.map((n) => listRuns(nodes[0]!, `task=${n}`)))).flat();
      const ran = runs.filter((r) => r.startedAt !== null);
      const executed = moduleIntervals(main!, names);
      const waited = ran.filter((r) => (r.lateMs ?? 0) >= 250);
      const committed = new Map<string, { running?: number; ended?: number }>();
      for (const e of events.events.filter((x) => x.event === 'run:transition')) {
        const d = JSON.parse(e.data) as TransitionData & { at: string };
        const c = committed.get(d.runId) ?? {};
        if (d.to === 'running') c.running = ms(d.at);
        if (d.from === 'running') c.ended = ms(d.at);
        committed.set(d.runId, c);
      }
      const startLag = ran.flatMap((r) => (committed.get(r.id)?.running === undefined ? [] : [committed.get(r.id)!.running! - ms(r.startedAt)]));
      t.diagnostic(`${ran.length} ran (per node ${JSON.stringify(countBy(ran, (r) => r.node ?? '?'))}), ${waited.length} waited ≥ 250 ms for the key; statuses ${JSON.stringify(countBy(runs, (r) => `${r.status}${r.reason ? '/' + r.reason : ''}`))}`);
      t.diagnostic(`start committed (published) minus recorded startedAt, ms: ${startLag.sort((a, b) => a - b).join(', ')} (${startLag.length} of ${ran.length} runs seen)`);
      const skews = await Promise.all(nodes.map(async (n) => `${n.id} ${/^sundial_clock_skew_seconds (\S+)$/m.exec((await request(n.url, 'GET', '/metrics', { token: null })).text)?.[1] ?? '?'} s`));
      t.diagnostic(`clock skew measured against the database: ${skews.join(', ')}`);
      const clash = overlapping(
        ran.map((r) => ({
          id: r.id,
          task: r.taskName,
          node: r.node,
          status: `${r.status}/${r.reason}`,
          start: ms(r.startedAt),
          end: ms(r.finishedAt),
          startPublished: committed.get(r.id)?.running,
          endPublished: committed.get(r.id)?.ended,
        })),
      );
      const clashExecuted = overlapping(executed);
      assert.deepEqual(
        { recorded: clash, executed: clashExecuted },
        { recorded: [], executed: [] },
        `runs sharing the key were running at once; module intervals: ${JSON.stringify(executed)}`,
      );
      // Both tasks are due at the same instants: each second one of them must have waited for the key.
      assert.ok(waited.length > 0, 'no run waited for the key: the cap was never exercised');
      assertNothingPending(runs);
    });

    it('live logs: following a run of node A on node B mid-run gets every line in order, then end', async (t) => {
      const nodes = main!.live;
      await createTask(nodes[2]!, { name: 'drip', kind: 'module', spec: { file: 'drip.mjs' } });
      const run = await startRun(nodes[2]!, 'drip');
      const running = await waitForRun(nodes[2]!, run.id, (r) => r.status === 'running', 15_000, 20);
      const follower = nodes.find((n) => n.id !== running.node)!;
      const events = await followLog(follower, run.id);
      assertDripLog(events);
      t.diagnostic(`run on ${running.node}, followed on ${follower.id} from mid-run`);
    });

    it('a revoked API key stops working on every node within a second', async (t) => {
      const [a, b, c] = main!.live as [ClusterNode, ClusterNode, ClusterNode];
      const minted = await a.api<{ id: string; secret: string }>('POST', '/v1/api-keys', { name: 'roaming', role: 'viewer' });
      assert.equal(minted.status, 201, minted.text);
      const { id, secret } = minted.body;
      for (const n of [a, b, c]) assert.equal((await n.api('GET', '/v1/me', undefined, secret)).status, 200, `key works on ${n.id}`);
      const sent = Date.now();
      const revoked = await a.api('DELETE', `/v1/api-keys/${id}`);
      const t0 = Date.now();
      assert.equal(revoked.status, 200, revoked.text);
      assert.equal((await a.api('GET', '/v1/me', undefined, secret)).status, 401, 'refused at once where it was revoked');
      // Each probe is timed from the moment it was sent: a 200 to a probe sent 1 s after the
      // revocation was answered is a key still accepted after a second, however slow the machine.
      const probes = await Promise.all(
        [b, c].map(async (n) => {
          const seen: { sentAt: number; doneAt: number; status: number }[] = [];
          await eventually(
            async () => {
              const sentAt = Date.now();
              const { status } = await n.api('GET', '/v1/me', undefined, secret);
              seen.push({ sentAt: sentAt - t0, doneAt: Date.now() - t0, status });
              return status === 401;
            },
            5000,
            10,
          );
          const accepted = seen.filter((p) => p.status === 200);
          return { node: n.id, lastAcceptedSentAt: accepted.at(-1)?.sentAt ?? null, refusedBy: seen.at(-1)!.doneAt, probes: seen.length };
        }),
      );
      t.diagnostic(`DELETE took ${t0 - sent} ms; then ${probes.map((p) => `${p.node}: last 200 to a probe sent at +${p.lastAcceptedSentAt ?? '-'} ms, 401 by +${p.refusedBy} ms (${p.probes} probes)`).join('; ')}`);
      for (const p of probes) assert.ok((p.lastAcceptedSentAt ?? -1) < 1000, `${p.node} still accepted the key in a probe sent ${p.lastAcceptedSentAt} ms after the revocation`);
    });

    it('the dashboard works against any API node', async () => {
      for (const n of main!.live) await assertDashboard(n);
    });
  });
});

describe('membership: heartbeats, deaths, ids', { skip: skip('members') }, () => {
  after(() => members?.close());

  it('GET /v1/cluster/nodes on any node lists every node with its fields', async (t) => {
    t.diagnostic(`the ${[main, roles, members].reduce((n, c) => n + (c?.nodes.size ?? 0), 0)} nodes of all clusters started in ${startupMs} ms`);
    for (const n of members!.live) {
      const nodes = await eventually(async () => {
        const list = await listNodes(n);
        return list.length === 3 && list.every((x) => x.status === 'up') ? list : null;
      }, 5000);
      assert.deepEqual(nodes.map((x) => x.id), ['m1', 'm2', 'm3']);
      for (const x of nodes) {
        assert.equal(x.host, hostname());
        assert.deepEqual(x.roles, ['api', 'executor', 'scheduler']);
        assert.equal(x.version, VERSION);
        assert.equal(x.pid, members!.node(x.id).proc.child.pid);
        assert.ok(Number.isInteger(x.runsInFlight) && x.runsInFlight >= 0);
        assert.ok(ms(x.startedAt) <= ms(x.lastHeartbeatAt), `${x.id}: started after its heartbeat`);
        assert.ok(Math.abs(Date.now() - ms(x.lastHeartbeatAt)) < members!.leaseMs, `${x.id}: heartbeat ${x.lastHeartbeatAt} is stale`);
      }
    }
  });

  it('a second process with the id of a live node exits non-zero with node_id_taken', async () => {
    const m1 = members!.node('m1');
    const before = (await listNodes(m1)).find((x) => x.id === 'm1')!;
    const dup = await members!.tryStart({ id: 'm1' });
    if (!dup.refused) {
      await dup.proc.kill('SIGKILL');
      assert.fail('a second node with the id m1 started');
    }
    assert.notEqual(dup.exit.code, 0);
    assert.match(dup.output, /another live node uses the id "m1"/);
    assert.match(dup.output, /node_id_taken/, `the output does not name the error code:\n${dup.output}`);
    // The refused process did not take over the row of the live one.
    const m2 = members!.node('m2');
    const now = (await listNodes(m2)).find((x) => x.id === 'm1')!;
    assert.equal(now.pid, before.pid);
    assert.equal(now.startedAt, before.startedAt);
    assert.equal(now.status, 'up');
  });

  it('kill -9: the node goes suspect, then down; its running run is taken over; its id is free two leases later', async (t) => {
    const lease = members!.leaseMs;
    const [first] = members!.live;
    await createTask(first!, {
      name: 'fragile',
      kind: 'module',
      spec: { file: 'abortable.mjs' },
      policies: { retry: { maxAttempts: 2, backoff: { type: 'fixed', initial: '200ms', jitter: false } } },
    });
    const run = await startRun(first!, 'fragile');
    const running = await waitForRun(first!, run.id, (r) => r.status === 'running');
    const victim = members!.node(running.node!);
    const observer = members!.live.find((n) => n !== victim)!;
    await eventually(async () => ((await listNodes(observer)).find((x) => x.id === victim.id)?.runsInFlight ?? 0) >= 1, 5000);

    const killedAt = Date.now();
    await victim.kill9();
    // Restart at once: the id must not be accepted before its last heartbeat is two leases old.
    const early = members!.tryStart(victim.spec);

    // The victim's status as another node reports it, until down.
    const seen: { at: number; status: string; heartbeat: number }[] = [];
    await eventually(async () => {
      const x = (await listNodes(observer)).find((n) => n.id === victim.id);
      assert.ok(x, 'a killed node stays listed');
      seen.push({ at: Date.now(), status: x.status, heartbeat: ms(x.lastHeartbeatAt) });
      return x.status === 'down';
    }, 15_000, 100);
    const statuses = seen.map((s) => s.status).filter((s, i, all) => i === 0 || all[i - 1] !== s);
    assert.deepEqual(statuses.slice(statuses.indexOf('suspect')), ['suspect', 'down'], `statuses after kill -9: ${statuses.join(' → ')}`);
    const lastHeartbeat = Math.max(...seen.map((s) => s.heartbeat));
    const suspectAt = seen.find((s) => s.status === 'suspect')!.at;
    const downAt = seen.find((s) => s.status === 'down')!.at;
    assert.ok(downAt - lastHeartbeat >= lease, 'down before its lease could have lapsed');

    // Its run: failed (lost) once the lease lapsed, then retried elsewhere.
    const lost = await waitForRun(observer, run.id, (r) => r.status !== 'running', 15_000, 50);
    const takeover = Date.now() - killedAt;
    assert.equal(lost.status, 'failed');
    assert.equal(lost.reason, 'lost');
    assert.ok(takeover < 2 * lease + 1000, `run taken over ${takeover} ms after the kill (lease ${lease} ms)`);
    const retry = await eventually(async () => (await listRuns(observer, 'task=fragile')).find((r) => r.retryOf === run.id && r.status === 'succeeded'), 15_000);
    assert.equal(retry.attempt, 2);
    assert.notEqual(retry.node, victim.id);

    // The early restart was refused while the id was taken, or started only once it was free.
    const outcome = await early;
    const settledAt = Date.now();
    let earlyNote: string;
    if (outcome.refused) {
      assert.notEqual(outcome.exit.code, 0);
      assert.match(outcome.output, /node_id_taken|another live node uses the id/);
      earlyNote = `refused ${settledAt - killedAt} ms after the kill`;
      await eventually(async () => Date.now() >= lastHeartbeat + 2 * lease, 3 * lease, 50);
      const restartAt = Date.now();
      await victim.restart();
      earlyNote += `; restarted with its id ${restartAt - lastHeartbeat} ms after its last heartbeat (start took ${Date.now() - restartAt} ms)`;
    } else {
      assert.ok(settledAt >= lastHeartbeat + 2 * lease, `the id was taken again ${settledAt - lastHeartbeat} ms after its last heartbeat`);
      victim.adopt(outcome.proc);
      earlyNote = `the at-once restart came up ${settledAt - lastHeartbeat} ms after the last heartbeat (its start outlasted two leases)`;
    }
    const back = await eventually(async () => {
      const x = (await listNodes(observer)).find((n) => n.id === victim.id);
      return x?.status === 'up' && x.pid === victim.proc.child.pid ? x : null;
    }, 5000);
    assert.ok(ms(back.startedAt) > killedAt, 'the restarted node has a new startedAt');
    assert.equal((await request(victim.url, 'GET', '/readyz', { token: null })).status, 200);
    t.diagnostic(
      `kill -9 of ${victim.id}: suspect ${suspectAt - lastHeartbeat} ms and down ${downAt - lastHeartbeat} ms after its last heartbeat; ` +
        `run taken over (failed/lost) ${takeover} ms after the kill, retry on ${retry.node}; ${earlyNote}`,
    );
  });

  it('SIGTERM: the node deregisters and disappears from the list at once', async () => {
    const live = members!.live;
    const leaving = live[live.length - 1]!;
    const stays = live.filter((n) => n !== leaving);
    assert.ok((await listNodes(stays[0]!)).some((x) => x.id === leaving.id));
    const exit = await leaving.term();
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
    for (const n of stays) {
      const ids = (await listNodes(n)).map((x) => x.id);
      assert.ok(!ids.includes(leaving.id), `${n.id} still lists ${leaving.id}: ${ids.join(', ')}`);
    }
  });
});
