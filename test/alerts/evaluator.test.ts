// Each alert rule kind fires and resolves under an injected clock, on a real SQLite store: the
// evaluator's transitions, `for` waits, the `why` with its measured value, and the outbox rows it
// queues for the rule's channels on firing and on resolving.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DropHistory } from '../../src/alerts/drop-history.js';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import type { AlertNotificationBody, AlertRule } from '../../src/core/alerts.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Millis, Task } from '../../src/core/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { finishRun, rule } from '../store/alert-conformance.js';
import { T0, audit, newRun, newTask, noPlan } from '../store/store-fixtures.js';

const LEASE_MS = 30_000;

describe('alert evaluator', () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;
  let dropped: number;
  let evaluator: AlertEvaluator;
  const errors: Error[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sundial-eval-'));
    store = await openSqliteStore({ dir });
    await store.migrate();
    clock = new ManualClock(T0);
    dropped = 0;
    errors.length = 0;
    evaluator = new AlertEvaluator(
      { intervalMs: 15_000, holder: 'node-a/1', nodeLeaseMs: LEASE_MS },
      { store, clock, drops: new DropHistory(() => dropped), onError: (err) => errors.push(err) },
    );
  });
  afterEach(async () => {
    assert.deepEqual(errors, []);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function addRule(over: Partial<AlertRule>): Promise<AlertRule> {
    return store.alerts.createRule(rule({ createdAt: clock.now(), ...over }), audit('alert_rule.create', 'x'));
  }
  async function addTask(name: string): Promise<Task> {
    const input = newTask({ name, createdAt: clock.now() });
    return store.createTask(input, null, audit('task.create', input.id));
  }
  async function alertsOf(r: AlertRule) {
    return (await store.alerts.listAlerts({ namespaces: '*', ruleId: r.id, limit: 10 })).items;
  }
  /** The alert bodies queued for `channel`, oldest first. */
  async function bodies(channel = 'ops'): Promise<AlertNotificationBody[]> {
    const page = await store.notifications.listNotifications('default', channel, 100);
    return page.items.reverse().map((n) => JSON.parse(n.body) as AlertNotificationBody);
  }
  /** Evaluates at `at` and returns the rule's newest alert. */
  async function at(ms: Millis, r: AlertRule) {
    clock.set(ms);
    await evaluator.evaluate();
    return (await alertsOf(r))[0];
  }

  it('consecutive_failures: fires at the nth failure in a row, resolves on a success, notifies both', async () => {
    const task = await addTask('nightly');
    const r = await addRule({ name: 'cf', kind: 'consecutive_failures', params: { task: 'nightly', n: 3 } });
    await finishRun(store, task, T0 + 1000, 'failed');
    await finishRun(store, task, T0 + 2000, 'timed_out');
    assert.equal(await at(T0 + 3000, r), undefined, 'two in a row: not yet');
    await finishRun(store, task, T0 + 4000, 'failed');
    const fired = await at(T0 + 5000, r);
    assert.equal(fired?.status, 'firing');
    assert.equal(fired?.since, T0 + 5000);
    assert.equal(fired?.why, 'task default/nightly failed 3 times in a row (bound 3)');
    assert.equal(fired?.value, 3);
    assert.equal((await at(T0 + 6000, r))?.id, fired?.id, 'still the same alert, no second firing');
    await finishRun(store, task, T0 + 7000, 'succeeded');
    const resolved = await at(T0 + 8000, r);
    assert.deepEqual([resolved?.id, resolved?.status, resolved?.resolvedAt], [fired?.id, 'resolved', T0 + 8000]);
    assert.equal(resolved?.why, "task default/nightly's last run succeeded");
    const sent = await bodies();
    assert.deepEqual(sent.map((b) => b.type), ['alert.firing', 'alert.resolved']);
    assert.deepEqual(sent[0]?.rule, { id: r.id, name: 'cf', kind: 'consecutive_failures', namespace: 'default' });
    assert.equal(sent[0]?.alert.why, fired?.why);
    assert.equal(sent[1]?.alert.resolvedAt, new Date(T0 + 8000).toISOString());
  });

  it('retries_exhausted: fires for a failure with no retry left, not for a retried one; resolves when it leaves the window', async () => {
    const task = await addTask('sync');
    const r = await addRule({ name: 're', kind: 'retries_exhausted', params: { within: '10m' } });
    await finishRun(store, task, T0 + 1000, 'failed', true);
    assert.equal(await at(T0 + 2000, r), undefined, 'a retry is scheduled: not exhausted');
    const runId = await finishRun(store, task, T0 + 3000, 'failed');
    const fired = await at(T0 + 4000, r);
    assert.equal(fired?.status, 'firing');
    assert.match(fired?.why ?? '', new RegExp(`run ${runId} of task default/sync failed with no retries left`));
    const resolved = await at(T0 + 3002 + 600_000, r);
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved?.why, 'no run of namespace default exhausted its retries in the last 10m');
  });

  it('no_success_for: fires when the last success is older than the bound, resolves on a success', async () => {
    const task = await addTask('backup');
    const r = await addRule({ name: 'ns', kind: 'no_success_for', params: { task: 'backup', duration: '1h' } });
    await finishRun(store, task, T0 + 1000, 'succeeded');
    assert.equal(await at(T0 + 3_600_000, r), undefined);
    const fired = await at(T0 + 3_600_000 + 2000, r);
    assert.equal(fired?.status, 'firing');
    assert.equal(fired?.why, 'task default/backup last succeeded 1h999ms ago (bound 1h)');
    assert.equal(fired?.value, 3_600_999);
    await finishRun(store, task, T0 + 3_700_000, 'succeeded');
    const resolved = await at(T0 + 3_700_100, r);
    assert.equal(resolved?.status, 'resolved');
    assert.match(resolved?.why ?? '', /last succeeded 99ms ago/);
  });

  it('lateness_p99: fires only after the p99 stayed above the bound for `for`, resolves when runs start on time', async () => {
    const task = await addTask('fast');
    const r = await addRule({ name: 'lp', kind: 'lateness_p99', params: { bound: '1s', window: '5m' }, forMs: 60_000 });
    const start = async (due: Millis, late: number) => {
      const { run } = await store.createRun(newRun(task, { scheduledFor: due }), null);
      const claimed = await store.claimDueRuns({ node: 'n1', now: due + late, horizon: due + late, limit: 100, leaseUntil: due + late + 30_000, plan: noPlan });
      const mine = claimed.find((c) => c.run.id === run.id)!;
      await store.markRunning([{ runId: run.id, leaseEpoch: mine.run.leaseEpoch, startedAt: due + late }]);
    };
    for (let i = 0; i < 5; i++) await start(T0 + i * 1000, 5000);
    assert.equal(await at(T0 + 10_000, r), undefined, 'above the bound, but not for a minute yet');
    assert.equal(await at(T0 + 40_000, r), undefined);
    const fired = await at(T0 + 70_000, r);
    assert.equal(fired?.status, 'firing');
    assert.equal(fired?.since, T0 + 10_000, 'since the condition began, not since it fired');
    assert.equal(fired?.why, 'lateness p99 of namespace default over the last 5m is 5s (bound 1s, 5 runs)');
    // Five minutes later those runs left the window; new ones start on time.
    for (let i = 0; i < 5; i++) await start(T0 + 400_000 + i * 1000, 2);
    const resolved = await at(T0 + 410_000, r);
    assert.equal(resolved?.status, 'resolved');
    assert.match(resolved?.why ?? '', /is 2ms \(bound 1s, 5 runs\)/);
  });

  it('backlog: a short spike under `for` never fires; a lasting one does, and resolves when the runs start', async () => {
    const task = await addTask('queue');
    const r = await addRule({ name: 'bl', kind: 'backlog', params: { above: 2 }, forMs: 30_000 });
    for (let i = 0; i < 3; i++) await store.createRun(newRun(task, { scheduledFor: T0 }), null);
    assert.equal(await at(T0 + 1000, r), undefined, 'pending');
    const fired = await at(T0 + 31_000, r);
    assert.equal(fired?.status, 'firing');
    assert.equal(fired?.why, '3 runs of namespace default are due and not started (bound 2)');
    const claimed = await store.claimDueRuns({ node: 'n1', now: T0 + 32_000, horizon: T0 + 32_000, limit: 100, leaseUntil: T0 + 60_000, plan: noPlan });
    await store.markRunning(claimed.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 + 32_000 })));
    const resolved = await at(T0 + 33_000, r);
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved?.why, '0 runs of namespace default are due and not started (bound 2)');
  });

  it('node_down: fires when a node stops beating past its lease, resolves when it beats again', async () => {
    const node = { id: 'worker-2', host: 'h', pid: 1, version: 'x', roles: ['executor'], startedAt: T0, heartbeatAt: T0, instanceId: 'i', runsInFlight: 0 };
    await store.upsertNode(node, T0 - 1);
    const r = await addRule({ name: 'nd', kind: 'node_down', params: {} });
    assert.equal(await at(T0 + LEASE_MS, r), undefined);
    const fired = await at(T0 + LEASE_MS + 5000, r);
    assert.equal(fired?.status, 'firing');
    assert.equal(fired?.why, 'node down: worker-2 (last heartbeat 35s ago)');
    await store.upsertNode({ ...node, heartbeatAt: T0 + 40_000 }, T0 - 1);
    const resolved = await at(T0 + 41_000, r);
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved?.why, 'all 1 nodes are up');
    const named = await addRule({ name: 'nd2', kind: 'node_down', params: { node: 'gone' } });
    assert.match((await at(T0 + 42_000, named))?.why ?? '', /node gone has sent no heartbeat for over 1h/);
  });

  it('sink_dropping: fires when the sink dropped points within the window, resolves once the window holds none', async () => {
    const r = await addRule({ name: 'sd', kind: 'sink_dropping', params: { above: 0, window: '5m' } });
    assert.equal(await at(T0, r), undefined);
    dropped = 120;
    const fired = await at(T0 + 15_000, r);
    assert.equal(fired?.status, 'firing');
    assert.equal(fired?.why, 'the InfluxDB sink dropped 120 points in the last 5m (bound 0)');
    assert.equal((await at(T0 + 200_000, r))?.status, 'firing', 'still in the window');
    const resolved = await at(T0 + 15_000 + 300_000, r);
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved?.why, 'the InfluxDB sink dropped 0 points in the last 5m (bound 0)');
  });

  it('outbox_backlog: fires when notifications stay pending past the age, resolves once they are delivered', async () => {
    const r = await addRule({ name: 'ob', kind: 'outbox_backlog', params: { olderThan: '5m', above: 0 }, channels: ['pager'] });
    await store.notifications.enqueueNotifications([{ id: 'n-1', namespace: 'default', channel: 'slow', event: 'test', runId: null, taskId: null, body: '{}', createdAt: T0 }]);
    assert.equal(await at(T0 + 299_000, r), undefined);
    const fired = await at(T0 + 301_000, r);
    assert.equal(fired?.status, 'firing');
    assert.equal(fired?.why, '1 notifications pending for longer than 5m, the oldest for 5m1s (bound 0)');
    const claimed = await store.notifications.claimNotifications(T0 + 302_000, T0 + 400_000, 100);
    await store.notifications.settleNotifications(
      claimed.map((c) => ({ id: c.id, claimToken: c.claimToken, status: 'delivered', attempts: [], attemptCount: 1, nextAttemptAt: 0, lastError: null, deliveredAt: T0 + 302_000 })),
    );
    const resolved = await at(T0 + 303_000, r);
    assert.equal(resolved?.status, 'resolved');
    assert.deepEqual((await bodies('pager')).map((b) => b.type), ['alert.firing', 'alert.resolved']);
  });

  it('a disabled rule resolves its firing alert; a rule naming a missing task never fires', async () => {
    const task = await addTask('t');
    const r = await addRule({ params: { task: 't', n: 1 } });
    await finishRun(store, task, T0 + 1000, 'failed');
    assert.equal((await at(T0 + 2000, r))?.status, 'firing');
    await store.alerts.updateRule({ ...r, enabled: false }, audit('alert_rule.update', r.id));
    const resolved = await at(T0 + 3000, r);
    assert.equal(resolved?.status, 'resolved');
    assert.match(resolved?.why ?? '', /the rule was disabled/);
    const ghost = await addRule({ name: 'ghost', params: { task: 'nope', n: 1 } });
    assert.equal(await at(T0 + 4000, ghost), undefined);
  });

  it('evaluates only while it holds the lease', async () => {
    const other = new AlertEvaluator({ intervalMs: 15_000, holder: 'node-b/1', nodeLeaseMs: LEASE_MS }, { store, clock, drops: null, onError: (e) => errors.push(e) });
    assert.equal(await evaluator.tick(), true);
    assert.equal(await other.tick(), false, 'node a holds it');
    clock.advance(45_000);
    assert.equal(await other.tick(), true, 'a lapsed lease is taken over');
    assert.equal(await evaluator.tick(), false);
  });
});
