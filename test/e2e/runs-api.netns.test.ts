// A user's view of runs through the real server: http tasks with their idempotency key and the
// outbound guard, timeouts, cancelling a running run, rescheduling, pausing, deleting.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';
import { assertNoRouteOut } from '../helpers/netns.js';

// Run by npm test in a network namespace with no route out: a broken guard cannot leak a packet.
before(assertNoRouteOut);

interface RunView {
  id: string;
  status: string;
  attempt: number;
  reason: string | null;
  error: { code: string; message: string } | null;
  result: unknown;
  idempotencyKey: string;
  scheduledFor: string;
  lateMs: number | null;
  durationMs: number | null;
}

let server: ServerProcess;
let receiver: Server;
let receiverUrl: string;
const received: IncomingHttpHeaders[] = [];

before(async () => {
  receiver = createServer((req, res) => {
    received.push(req.headers);
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: req.url !== '/fail' }));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  server = await startServerProcess({
    ...makeDirs({
      'hang.mjs': 'export default (ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve("stopped")));',
      'noop.mjs': 'export default () => null;',
    }),
    // Only 127.0.0.1 is allowed: `localhost` below must still be refused by the guard.
    env: { SUNDIAL_OUTBOUND_ALLOW: '127.0.0.1' },
  });
});
after(async () => {
  await server.kill('SIGTERM');
  receiver.close();
});

async function runNow(task: string, body: unknown = {}): Promise<RunView> {
  const res = await server.api<RunView>('POST', `/v1/tasks/${task}/runs`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

async function settled(id: string): Promise<RunView> {
  return eventually(async () => {
    const r = (await server.api<RunView>('GET', `/v1/runs/${id}`)).body;
    return ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'].includes(r.status) ? r : null;
  });
}

describe('runs through the real server', () => {
  it('an http task calls its target with the run idempotency key and stores the response', async () => {
    const created = await server.api('POST', '/v1/tasks', { name: 'hook', kind: 'http', spec: { url: `${receiverUrl}/ok`, method: 'POST', body: { a: 1 } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const run = await settled((await runNow('hook')).id);
    assert.equal(run.status, 'succeeded');
    assert.deepEqual((run.result as { status: number; body: unknown }).body, { ok: true });
    assert.equal(received.at(-1)?.['idempotency-key'], run.idempotencyKey);
    assert.ok(run.durationMs !== null && run.lateMs !== null);
  });

  it('a non-2xx answer fails the run and retries it', async () => {
    await server.api('POST', '/v1/tasks', {
      name: 'hook-fail',
      kind: 'http',
      spec: { url: `${receiverUrl}/fail` },
      policies: { retry: { maxAttempts: 2, backoff: { type: 'fixed', initial: '1s', jitter: false } } },
    });
    const first = await settled((await runNow('hook-fail')).id);
    assert.equal(first.status, 'failed');
    assert.equal(first.error?.code, 'http_status');
    const runs = await eventually(async () => {
      const items = (await server.api<{ items: RunView[] }>('GET', '/v1/runs?task=hook-fail')).body.items;
      return items.some((r) => r.attempt === 2 && r.status === 'failed') ? items : null;
    });
    assert.equal(runs.filter((r) => r.idempotencyKey === first.idempotencyKey).length, 2);
  });

  it('the outbound guard refuses addresses that are not allow-listed, already when the task is created', async () => {
    const port = (receiver.address() as AddressInfo).port;
    // 127.0.0.2 is loopback but only 127.0.0.1 is allowed; even a broken guard stays on this machine.
    // Refused at creation (issue 12); the run-time check of every connection is in http-runner.netns.test.ts.
    const res = await server.api<{ code: string; errors: { path: string; message: string }[] }>('POST', '/v1/tasks', { name: 'sneaky', kind: 'http', spec: { url: `http://127.0.0.2:${port}/ok` } });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'validation_failed');
    assert.ok(res.body.errors.some((e) => e.path === '/spec/url' && /127\.0\.0\.2/.test(e.message)));
  });

  it('a run past its timeout ends timed_out', async () => {
    await server.api('POST', '/v1/tasks', { name: 'slowpoke', kind: 'module', spec: { file: 'hang.mjs' }, policies: { timeout: '1s' } });
    const run = await settled((await runNow('slowpoke')).id);
    assert.equal(run.status, 'timed_out');
    assert.equal(run.error?.code, 'timeout');
    assert.ok(run.durationMs! >= 1000 && run.durationMs! < 5000, `duration ${run.durationMs}`);
  });

  it('cancel stops a running run', async () => {
    await server.api('POST', '/v1/tasks', { name: 'stoppable', kind: 'module', spec: { file: 'hang.mjs' }, policies: { timeout: '10m' } });
    const run = await runNow('stoppable');
    await eventually(async () => (await server.api<RunView>('GET', `/v1/runs/${run.id}`)).body.status === 'running');
    const res = await server.api<RunView>('POST', `/v1/runs/${run.id}/cancel`);
    assert.equal(res.status, 200);
    const done = await settled(run.id);
    assert.equal(done.status, 'cancelled');
    const again = await server.api<{ code: string }>('POST', `/v1/runs/${run.id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'run_already_finished');
  });

  it('reschedule moves a pending run; pause keeps a schedule from firing; delete cancels what is pending', async () => {
    await server.api('POST', '/v1/tasks', {
      name: 'later',
      kind: 'module',
      spec: { file: 'noop.mjs' },
      schedule: { type: 'cron', expression: '0 0 1 1 *', timezone: 'UTC' },
    });
    const scheduled = await server.api<{ id: string; scheduledFor: string }>('POST', '/v1/tasks/later/schedule', { at: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal(scheduled.status, 201);
    const soon = new Date(Date.now() + 300).toISOString();
    const moved = await server.api<RunView>('POST', `/v1/runs/${scheduled.body.id}/reschedule`, { at: soon });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.scheduledFor, new Date(soon).toISOString());
    assert.equal((await settled(scheduled.body.id)).status, 'succeeded');
    const tooLate = await server.api<{ code: string }>('POST', `/v1/runs/${scheduled.body.id}/reschedule`, { at: soon });
    assert.equal(tooLate.status, 409);

    const paused = await server.api<{ status: string; nextRunAt: string | null }>('POST', '/v1/tasks/later/pause');
    assert.equal(paused.body.status, 'paused');
    assert.equal(paused.body.nextRunAt, null);
    const resumed = await server.api<{ status: string; nextRunAt: string | null }>('POST', '/v1/tasks/later/resume');
    assert.equal(resumed.body.status, 'active');
    assert.ok(resumed.body.nextRunAt !== null);

    const pending = await server.api<{ items: RunView[] }>('GET', '/v1/runs?task=later&status=scheduled');
    assert.equal(pending.body.items.length, 1);
    assert.equal((await server.api('DELETE', '/v1/tasks/later')).status, 204);
    const after = await server.api<RunView>('GET', `/v1/runs/${pending.body.items[0]!.id}`);
    assert.equal(after.body.status, 'cancelled');
    assert.equal(after.body.reason, 'deleted');
    assert.equal((await server.api('GET', '/v1/tasks/later')).status, 404);
  });
});
