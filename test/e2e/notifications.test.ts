// Notifications with real server processes: an outcome's notifications survive kill -9 between
// their commit and their delivery, and a kill -9 in the middle of a delivery, arriving once per
// receiver after deduplication by webhook-id; a receiver that is down for a while gets them when
// it is back. Receivers verify every signature with the `standardwebhooks` package.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret } from '../../src/notify/signature.js';
import { HttpReceiver } from '../helpers/receivers.js';
import { eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

const FAILING_MODULE = `export default async function () { throw new Error('boom'); }`;

interface Delivery {
  id: string;
  type: string;
  status: string;
  attemptCount: number;
  attempts: { ok: boolean; status: number | null; error: string | null }[];
}

/** Environment of a server that delivers quickly (unless `poll` says otherwise) to loopback receivers. */
function env(poll = '100ms'): Record<string, string> {
  return {
    SUNDIAL_OUTBOUND_ALLOW: '127.0.0.1',
    SUNDIAL_NOTIFY_POLL_INTERVAL: poll,
    SUNDIAL_NOTIFY_RETRY_INITIAL: '200ms',
    SUNDIAL_NOTIFY_RETRY_MAX: '500ms',
    SUNDIAL_NOTIFY_TIMEOUT: '20s',
  };
}

async function deliveries(s: ServerProcess, channel: string): Promise<Delivery[]> {
  const res = await s.api<{ items: Delivery[] }>('GET', `/v1/channels/${channel}/deliveries?limit=500`);
  assert.equal(res.status, 200);
  return res.body.items;
}

/** Ids a receiver got, after checking each signature: what a deduplicating receiver keeps. */
function verifiedIds(rx: HttpReceiver, secret: string): string[] {
  const wh = new Webhook(secret);
  for (const r of rx.received) wh.verify(r.body, r.headers as Record<string, string>);
  return [...new Set(rx.received.map((r) => String(r.headers['webhook-id'])))].sort();
}

describe('notifications (real processes)', () => {
  const running: ServerProcess[] = [];
  const receivers: HttpReceiver[] = [];
  after(async () => {
    await Promise.all(running.map((s) => s.kill('SIGKILL')));
    await Promise.all(receivers.map((r) => r.stop()));
  });

  async function start(dirs: { dataDir: string; tasksDir: string }, e: Record<string, string>): Promise<ServerProcess> {
    const s = await startServerProcess({ ...dirs, env: e });
    running.push(s);
    return s;
  }

  async function kill9(s: ServerProcess): Promise<void> {
    await s.kill('SIGKILL');
    running.splice(running.indexOf(s), 1);
  }

  it('kill -9 after the commit, and again in the middle of a delivery: delivered after the restart, once per receiver', async () => {
    const dirs = makeDirs({ 'fail.mjs': FAILING_MODULE });
    const a = await new HttpReceiver().start();
    const b = await new HttpReceiver().start();
    receivers.push(a, b);
    const secretA = generateWebhookSecret();
    const secretB = generateWebhookSecret();

    // First life: it polls the outbox once a minute, so what the run commits waits there.
    const s1 = await start(dirs, env('60s'));
    for (const [name, url, secret] of [['hook-a', a.url, secretA], ['hook-b', b.url, secretB]] as const) {
      const res = await s1.api('POST', '/v1/channels', { name, type: 'webhook', url, secret });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const task = await s1.api<{ id: string }>('POST', '/v1/tasks', {
      name: 'always-fails',
      kind: 'module',
      spec: { file: 'fail.mjs' },
      policies: { notify: [{ on: ['failed', 'retries_exhausted'], channel: 'hook-a' }, { on: ['failed'], channel: 'hook-b' }] },
    });
    assert.equal(task.status, 201, JSON.stringify(task.body));
    const run = await s1.api<{ id: string }>('POST', '/v1/tasks/always-fails/runs', {});
    assert.equal(run.status, 201);
    await eventually(async () => (await s1.api<{ status: string }>('GET', `/v1/runs/${run.body.id}`)).body.status === 'failed');
    const pendingA = await eventually(async () => {
      const d = await deliveries(s1, 'hook-a');
      return d.length === 2 && d;
    });
    assert.deepEqual(pendingA.map((d) => d.status), ['pending', 'pending']);
    assert.deepEqual(pendingA.map((d) => d.type).sort(), ['run.failed', 'run.retries_exhausted']);
    assert.equal(a.received.length + b.received.length, 0, 'nothing sent before the kill');
    await kill9(s1);

    // Second life: receiver A takes both requests and never answers; killed mid-delivery.
    a.hold = true;
    const s2 = await start(dirs, env());
    await a.waitFor(2);
    await eventually(async () => b.received.length >= 1 && (await deliveries(s2, 'hook-b'))[0]?.status === 'delivered');
    assert.deepEqual((await deliveries(s2, 'hook-a')).map((d) => d.status), ['pending', 'pending']);
    await kill9(s2);
    a.hold = false;

    // Third life: everything is delivered; A got some notifications twice, with the same id.
    const s3 = await start(dirs, env());
    const final = await eventually(async () => {
      const d = await deliveries(s3, 'hook-a');
      return d.every((x) => x.status === 'delivered') && d;
    });
    assert.equal(final.length, 2);
    assert.deepEqual(verifiedIds(a, secretA), final.map((d) => d.id).sort(), 'once per notification after deduplication');
    assert.deepEqual(verifiedIds(b, secretB), (await deliveries(s3, 'hook-b')).map((d) => d.id).sort());
    assert.equal(b.received.length, 1, 'B was answered before the kill: sent once');
    await s3.kill('SIGTERM');
    running.splice(running.indexOf(s3), 1);
  });

  it('a receiver that is down for a while gets the notification when it is back', async () => {
    const dirs = makeDirs({ 'fail.mjs': FAILING_MODULE });
    // Its port is known, then it goes away: connections are refused until it listens again.
    const rx = await new HttpReceiver().start();
    const port = Number(new URL(rx.url).port);
    await rx.stop();
    const secret = generateWebhookSecret();
    const s = await start(dirs, env());
    assert.equal((await s.api('POST', '/v1/channels', { name: 'later', type: 'webhook', url: rx.url, secret })).status, 201);
    assert.equal((await s.api('POST', '/v1/tasks', { name: 'fails', kind: 'module', spec: { file: 'fail.mjs' }, policies: { notify: [{ on: ['failed'], channel: 'later' }] } })).status, 201);
    assert.equal((await s.api('POST', '/v1/tasks/fails/runs', {})).status, 201);
    // Down: attempts fail and are retried with backoff.
    const failing = await eventually(async () => {
      const [d] = await deliveries(s, 'later');
      return d !== undefined && d.attemptCount >= 3 && d;
    });
    assert.equal(failing.status, 'pending');
    assert.ok(failing.attempts.every((x) => !x.ok && x.error !== null), JSON.stringify(failing.attempts));
    // Back: delivered at its next attempt.
    const back = await new HttpReceiver().start(port);
    receivers.push(back);
    const [done] = await eventually(async () => {
      const d = await deliveries(s, 'later');
      return d[0]?.status === 'delivered' && d;
    });
    assert.equal(done!.attempts.at(-1)?.ok, true);
    assert.equal(back.received.length, 1);
    assert.deepEqual(verifiedIds(back, secret), [done!.id]);
    const body = JSON.parse(back.received[0]!.body) as { type: string; run: { status: string; error: { message: string } }; task: { name: string } };
    assert.equal(body.type, 'run.failed');
    assert.equal(body.task.name, 'fails');
    assert.match(body.run.error.message, /boom/);
    await s.kill('SIGTERM');
    running.splice(running.indexOf(s), 1);
  });
});
