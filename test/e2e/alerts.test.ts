// An alert end to end with a real server process: a module task that always fails, a
// consecutive_failures rule routed to a webhook channel; after the third failure in a row the
// alert fires within an evaluation interval, is listed in /v1/alerts, and its alert.firing
// webhook arrives signed (checked with the `standardwebhooks` package). A success resolves it and
// sends alert.resolved.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { AlertNotificationBody } from '../../src/core/alerts.js';
import { generateWebhookSecret } from '../../src/notify/signature.js';
import { HttpReceiver } from '../helpers/receivers.js';
import { eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

// Fails until a flag file exists: the test flips it to let the task recover.
const FLAKY_MODULE = `
import { existsSync } from 'node:fs';
export default async function () {
  if (!existsSync(new URL('./healthy', import.meta.url))) throw new Error('boom');
  return 'ok';
}`;

interface AlertView {
  id: string;
  status: string;
  since: string;
  resolvedAt: string | null;
  why: string;
  rule: { name: string; kind: string };
}

describe('alerts (real process)', () => {
  let server: ServerProcess | null = null;
  const rx = new HttpReceiver();
  after(async () => {
    await server?.kill('SIGKILL');
    await rx.stop();
  });

  it('a consecutive_failures alert fires, its signed webhook arrives, and it resolves on a success', async () => {
    const dirs = makeDirs({ 'flaky.mjs': FLAKY_MODULE });
    await rx.start();
    const secret = generateWebhookSecret();
    server = await startServerProcess({
      ...dirs,
      env: { SUNDIAL_OUTBOUND_ALLOW: '127.0.0.1', SUNDIAL_NOTIFY_POLL_INTERVAL: '100ms', SUNDIAL_ALERT_INTERVAL: '200ms' },
    });
    const s = server;
    assert.equal((await s.api('POST', '/v1/channels', { name: 'pager', type: 'webhook', url: rx.url, secret })).status, 201);
    const task = await s.api('POST', '/v1/tasks', { name: 'flaky', kind: 'module', spec: { file: 'flaky.mjs' } });
    assert.equal(task.status, 201, JSON.stringify(task.body));
    const rule = await s.api('POST', '/v1/alert-rules', { name: 'flaky-failing', kind: 'consecutive_failures', params: { task: 'flaky', n: 3 }, channels: ['pager'] });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    const runOnce = async (want: string) => {
      const run = await s.api<{ id: string }>('POST', '/v1/tasks/flaky/runs', {});
      assert.equal(run.status, 201);
      await eventually(async () => (await s.api<{ status: string }>('GET', `/v1/runs/${run.body.id}`)).body.status === want);
    };
    await runOnce('failed');
    await runOnce('failed');
    // Several evaluations pass with two failures in a row: nothing fires.
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual((await s.api<{ items: AlertView[] }>('GET', '/v1/alerts')).body.items, []);
    await runOnce('failed');

    const firing = await eventually(async () => (await s.api<{ items: AlertView[] }>('GET', '/v1/alerts?status=firing')).body.items[0]);
    assert.equal(firing.rule.name, 'flaky-failing');
    assert.equal(firing.why, 'task default/flaky failed 3 times in a row (bound 3)');
    assert.equal(firing.resolvedAt, null);

    const wh = new Webhook(secret);
    const received = await eventually(async () => rx.received.length >= 1 && rx.received);
    const first = received[0]!;
    const body = wh.verify(first.body, first.headers as Record<string, string>) as AlertNotificationBody;
    assert.equal(body.type, 'alert.firing');
    assert.equal(body.alert.id, firing.id);
    assert.equal(body.alert.why, firing.why);
    assert.deepEqual(body.rule.name, 'flaky-failing');

    writeFileSync(join(dirs.tasksDir, 'healthy'), '');
    await runOnce('succeeded');
    const resolved = await eventually(async () => {
      const a = (await s.api<{ items: AlertView[] }>('GET', '/v1/alerts?rule=flaky-failing')).body.items[0];
      return a?.status === 'resolved' && a;
    });
    assert.equal(resolved.id, firing.id);
    assert.ok(resolved.resolvedAt);
    const second = await eventually(async () => rx.received.length >= 2 && rx.received[1]);
    const resolvedBody = wh.verify(second.body, second.headers as Record<string, string>) as AlertNotificationBody;
    assert.equal(resolvedBody.type, 'alert.resolved');
    assert.equal(resolvedBody.alert.status, 'resolved');
    assert.notEqual(second.headers['webhook-id'], first.headers['webhook-id']);
  });
});
