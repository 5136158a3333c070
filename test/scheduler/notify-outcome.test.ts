// The scheduler writes a notifying task's outbox rows with the run outcome (and none for tasks
// without rules): failed then retried, recovered on the retry's success, lost on recovery.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Channel, NotificationBody } from '../../src/core/notify.js';
import { newId } from '../../src/core/ids.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function channel(hh: Harness): Promise<void> {
  const c: Channel = { id: newId(), namespace: 'default', name: 'ops', type: 'webhook', url: 'https://hooks.example.com/x', to: null, secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=', createdAt: 0, updatedAt: 0, createdBy: 't', updatedBy: 't' };
  await hh.store.notifications.createChannel(c, { namespace: 'default', at: 0, actor: 't', ip: null, action: 'channel.create', targetType: 'channel', targetId: c.id });
}

async function outbox(hh: Harness): Promise<{ event: string; runId: string | null; body: NotificationBody }[]> {
  const page = await hh.store.notifications.listNotifications('default', 'ops', 100);
  return page.items.reverse().map((n) => ({ event: n.event, runId: n.runId, body: JSON.parse(n.body) as NotificationBody }));
}

describe('notifications written with run outcomes', () => {
  it('a failed attempt that is retried, then its successful retry: failed, then succeeded and recovered', async () => {
    h = await createHarness();
    await channel(h);
    h.executor.script = (job) => (job.attempt === 1 ? { status: 'failed', error: { code: 'internal', message: 'first try fails' } } : {});
    await h.scheduler.start();
    const task = await h.createTask({
      policies: {
        retry: { maxAttempts: 2, backoff: { type: 'fixed', initialMs: 10, maxMs: 10, jitter: false } },
        notify: [{ on: ['failed', 'retries_exhausted', 'succeeded', 'recovered'], channel: 'ops' }],
      },
    });
    const run = await h.addRun(task, Date.now());
    await h.waitFor((t) => t.taskId === task.id && t.to === 'succeeded');
    await h.scheduler.dispatcher.idle();
    const rows = await outbox(h);
    assert.deepEqual(rows.map((r) => r.event), ['failed', 'succeeded', 'recovered']);
    assert.equal(rows[0]!.runId, run.id);
    assert.equal(rows[0]!.body.run.error?.message, 'first try fails');
    assert.equal(rows[1]!.body.run.attempt, 2);
    assert.equal(rows[2]!.body.type, 'run.recovered');
  });

  it('the last attempt failing: failed and retries_exhausted, once', async () => {
    h = await createHarness();
    await channel(h);
    h.executor.script = () => ({ status: 'timed_out', error: { code: 'timeout', message: 'too slow' } });
    await h.scheduler.start();
    const task = await h.createTask({ policies: { notify: [{ on: ['timed_out', 'retries_exhausted'], channel: 'ops' }] } });
    await h.addRun(task, Date.now());
    await h.waitFor((t) => t.taskId === task.id && t.to === 'timed_out');
    await h.scheduler.dispatcher.idle();
    assert.deepEqual((await outbox(h)).map((r) => r.event), ['timed_out', 'retries_exhausted']);
  });

  it('a run recovered as lost notifies lost', async () => {
    h = await createHarness();
    await channel(h);
    const task = await h.createTask({ policies: { notify: [{ on: ['lost'], channel: 'ops' }] } });
    const run = await h.addRun(task, Date.now() - 1000);
    // Claimed and started by a node that then died (its lease long gone).
    const [claimed] = await h.store.claimDueRuns({ node: 'dead-node', now: Date.now(), horizon: Date.now(), limit: 10, leaseUntil: Date.now() - 1, plan: () => ({ inserts: [] }) as never });
    await h.store.markRunning([{ runId: run.id, leaseEpoch: claimed!.run.leaseEpoch, startedAt: Date.now() }]);
    await h.scheduler.start();
    await h.waitFor((t) => t.runId === run.id && t.to === 'failed');
    await h.scheduler.dispatcher.idle();
    const rows = await outbox(h);
    assert.deepEqual(rows.map((r) => r.event), ['lost']);
    assert.equal(rows[0]!.body.run.error?.code, 'lost');
  });

  it('tasks without rules write nothing to the outbox', async () => {
    h = await createHarness();
    await channel(h);
    h.executor.script = () => ({ status: 'failed', error: { code: 'internal', message: 'x' } });
    await h.scheduler.start();
    const task = await h.createTask({});
    await h.addRun(task, Date.now());
    await h.waitFor((t) => t.taskId === task.id && t.to === 'failed');
    await h.scheduler.dispatcher.idle();
    assert.deepEqual(await outbox(h), []);
  });
});
