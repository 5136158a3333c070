// Real server processes killed with SIGKILL and SIGTERM: nothing accepted is lost, nothing
// fires twice, unfinished runs are recovered, a second server on the same data is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually, makeDirs, startServerProcess } from './server-process.js';

interface RunView {
  id: string;
  status: string;
  attempt: number;
  retryOf: string | null;
  reason: string | null;
  error: { code: string } | null;
  idempotencyKey: string;
  scheduledFor: string;
  trigger: string;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

// Appends one line per execution to a file beside the module, so the test can count how often
// user code really ran, independently of what the server reports.
const COUNTING_MODULE = `
import { appendFileSync } from 'node:fs';
export default async function (ctx) {
  appendFileSync(new URL('./executions.log', import.meta.url), ctx.run.idempotencyKey + ' ' + ctx.run.attempt + '\\n');
  return { attempt: ctx.run.attempt };
}`;

// Attempt 1 hangs; later attempts succeed.
const HANG_FIRST_MODULE = `
export default async function (ctx) {
  if (ctx.run.attempt === 1) await new Promise(() => {});
  return { attempt: ctx.run.attempt };
}`;

const SLOW_MODULE = `export default async function () { await new Promise((r) => setTimeout(r, 600)); return 'slow done'; }`;

async function allRuns(s: { api: <T>(m: string, p: string) => Promise<{ status: number; body: T }> }, task: string): Promise<RunView[]> {
  const out: RunView[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `/v1/runs?task=${encodeURIComponent(task)}&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const res: { status: number; body: Page<RunView> } = await s.api<Page<RunView>>('GET', q);
    assert.equal(res.status, 200);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

describe('crash safety (real processes)', () => {
  it('every task acknowledged with 201 survives kill -9', async () => {
    const dirs = makeDirs({ 'noop.mjs': 'export default () => null;' });
    const s1 = await startServerProcess(dirs);
    const acked: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; i < 40; i++) {
          const res = await s1.api<{ id: string }>('POST', '/v1/tasks', {
            name: `durable-${worker}-${i}`,
            kind: 'module',
            spec: { file: 'noop.mjs' },
            schedule: { type: 'cron', expression: '0 0 1 1 *', timezone: 'Europe/Berlin' },
          });
          assert.equal(res.status, 201);
          acked.push(res.body.id);
        }
      }),
    );
    await s1.kill('SIGKILL');
    const s2 = await startServerProcess(dirs);
    try {
      for (const id of acked) assert.equal((await s2.api('GET', `/v1/tasks/${id}`)).status, 200, `task ${id} lost`);
    } finally {
      await s2.kill('SIGTERM');
    }
  });

  it('each occurrence fires once through kill -9 and restart', async () => {
    const dirs = makeDirs({ 'count.mjs': COUNTING_MODULE });
    const s1 = await startServerProcess(dirs);
    const created = await s1.api<{ id: string }>('POST', '/v1/tasks', {
      name: 'ticker',
      kind: 'module',
      spec: { file: 'count.mjs' },
      schedule: { type: 'interval', every: '1s', startAt: new Date(Date.now() + 200).toISOString() },
    });
    assert.equal(created.status, 201);
    await eventually(async () => (await allRuns(s1, 'ticker')).filter((r) => r.status === 'succeeded').length >= 3);
    await s1.kill('SIGKILL');
    const s2 = await startServerProcess(dirs);
    try {
      const before = (await allRuns(s2, 'ticker')).filter((r) => r.status === 'succeeded').length;
      await eventually(async () => (await allRuns(s2, 'ticker')).filter((r) => r.status === 'succeeded').length >= before + 3);
      const runs = await allRuns(s2, 'ticker');
      const firstAttempts = runs.filter((r) => r.attempt === 1).map((r) => r.idempotencyKey);
      assert.equal(new Set(firstAttempts).size, firstAttempts.length, 'no occurrence has two first attempts');
      const succeededKeys = runs.filter((r) => r.status === 'succeeded').map((r) => r.idempotencyKey);
      assert.equal(new Set(succeededKeys).size, succeededKeys.length, 'no occurrence succeeded twice');
      // User code ran at least once per succeeded occurrence and never twice for one attempt.
      const lines = readFileSync(join(dirs.tasksDir, 'executions.log'), 'utf8').trim().split('\n');
      for (const key of succeededKeys) assert.ok(lines.some((l) => l.startsWith(key + ' ')), `no execution recorded for ${key}`);
      assert.equal(new Set(lines).size, lines.length, 'an attempt executed twice');
    } finally {
      await s2.kill('SIGTERM');
    }
  });

  it('a run cut off by kill -9 ends failed (lost) and its retry runs', async () => {
    const dirs = makeDirs({ 'hang.mjs': HANG_FIRST_MODULE });
    const s1 = await startServerProcess(dirs);
    const created = await s1.api<{ id: string }>('POST', '/v1/tasks', {
      name: 'fragile',
      kind: 'module',
      spec: { file: 'hang.mjs' },
      policies: { retry: { maxAttempts: 2, backoff: { type: 'fixed', initial: '1s', jitter: false } } },
    });
    assert.equal(created.status, 201);
    const started = await s1.api<RunView>('POST', '/v1/tasks/fragile/runs', {});
    assert.equal(started.status, 201);
    await eventually(async () => (await s1.api<RunView>('GET', `/v1/runs/${started.body.id}`)).body.status === 'running');
    await s1.kill('SIGKILL');
    const s2 = await startServerProcess(dirs);
    try {
      const first = await eventually(async () => {
        const r = (await s2.api<RunView>('GET', `/v1/runs/${started.body.id}`)).body;
        return r.status === 'failed' ? r : null;
      });
      assert.equal(first.reason, 'lost');
      assert.equal(first.error?.code, 'lost');
      const retry = await eventually(async () => (await allRuns(s2, 'fragile')).find((r) => r.retryOf === first.id && r.status === 'succeeded'));
      assert.equal(retry.attempt, 2);
      assert.equal(retry.idempotencyKey, first.idempotencyKey);
    } finally {
      await s2.kill('SIGTERM');
    }
  });

  it('occurrences missed while down follow the misfire policy (run_once)', async () => {
    const dirs = makeDirs({ 'noop.mjs': 'export default () => null;' });
    const env = { SUNDIAL_MISFIRE_THRESHOLD: '1s' };
    const s1 = await startServerProcess({ ...dirs, env });
    await s1.api('POST', '/v1/tasks', {
      name: 'every-second',
      kind: 'module',
      spec: { file: 'noop.mjs' },
      schedule: { type: 'interval', every: '1s', startAt: new Date(Date.now() + 200).toISOString() },
      policies: { misfire: { policy: 'run_once', catchupWindow: '1h' } },
    });
    await eventually(async () => (await allRuns(s1, 'every-second')).some((r) => r.status === 'succeeded'));
    await s1.kill('SIGKILL');
    const downAt = Date.now();
    // The downtime is what this test is about: it has to pass on the real clock.
    await new Promise((r) => setTimeout(r, 4000));
    const s2 = await startServerProcess({ ...dirs, env });
    try {
      const upAt = Date.now();
      const misfired = await eventually(async () => {
        const runs = await allRuns(s2, 'every-second');
        const skipped = runs.filter((r) => r.status === 'skipped' && r.reason === 'misfire');
        return skipped.length >= 2 ? runs : null;
      });
      const inDowntime = misfired.filter((r) => {
        const t = Date.parse(r.scheduledFor);
        return t > downAt + 1000 && t < upAt - 1000;
      });
      assert.ok(inDowntime.length >= 2);
      const ranInDowntime = inDowntime.filter((r) => r.status !== 'skipped');
      assert.ok(ranInDowntime.length <= 1, `run_once ran ${ranInDowntime.length} missed occurrences`);
    } finally {
      await s2.kill('SIGTERM');
    }
  });

  it('a second server on the same data directory refuses to start', async () => {
    const dirs = makeDirs();
    const s1 = await startServerProcess(dirs);
    try {
      await assert.rejects(startServerProcess(dirs), /another Sundial server is using/);
    } finally {
      await s1.kill('SIGTERM');
    }
  });

  it('SIGTERM lets a running run finish before exiting', async () => {
    const dirs = makeDirs({ 'slow.mjs': SLOW_MODULE });
    const s1 = await startServerProcess({ ...dirs, env: { SUNDIAL_DRAIN_GRACE: '5s' } });
    await s1.api('POST', '/v1/tasks', { name: 'slow', kind: 'module', spec: { file: 'slow.mjs' } });
    const run = await s1.api<RunView>('POST', '/v1/tasks/slow/runs', {});
    await eventually(async () => (await s1.api<RunView>('GET', `/v1/runs/${run.body.id}`)).body.status === 'running');
    const exit = await s1.kill('SIGTERM');
    assert.equal(exit.code, 0);
    const s2 = await startServerProcess(dirs);
    try {
      const after = await s2.api<RunView & { result: unknown }>('GET', `/v1/runs/${run.body.id}`);
      assert.equal(after.body.status, 'succeeded');
      assert.equal(after.body.result, 'slow done');
    } finally {
      await s2.kill('SIGTERM');
    }
  });
});

describe('start-up failures', () => {
  it('a port already in use stops the start cleanly: exit non-zero, nothing left running', async () => {
    const first = await startServerProcess(makeDirs());
    try {
      const port = new URL(first.url).port;
      const dirs = makeDirs();
      await assert.rejects(startServerProcess({ ...dirs, env: { SUNDIAL_PORT: port } }), /EADDRINUSE/);
      // It released its data directory: a server on the same directory starts.
      const again = await startServerProcess(dirs);
      await again.kill('SIGTERM');
    } finally {
      await first.kill('SIGTERM');
    }
  });
});
