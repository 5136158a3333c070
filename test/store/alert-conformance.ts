// The alert part of the Store contract (rules, alerts, the evaluator's lease and the small
// measurements rules need) as tests, for every implementation, through the Store interface only.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Alert, AlertRule } from '../../src/core/alerts.js';
import { newId } from '../../src/core/ids.js';
import type { NewNotification } from '../../src/core/notify.js';
import type { Millis, Task } from '../../src/core/types.js';
import type { Store } from '../../src/store/store.js';
import type { OpenStore } from './conformance.js';
import { T0, audit, newRun, newTask, noPlan } from './store-fixtures.js';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected ${code}, got ${String(err)}`);
    return true;
  });
}

export function rule(over: Partial<AlertRule> = {}): AlertRule {
  return {
    id: newId(),
    namespace: 'default',
    name: 'r',
    kind: 'consecutive_failures',
    params: { task: 't', n: 3 },
    forMs: 0,
    channels: ['ops'],
    enabled: true,
    createdAt: T0,
    updatedAt: T0,
    createdBy: 'key:test',
    updatedBy: 'key:test',
    ...over,
  };
}

function alertOf(r: AlertRule, over: Partial<Alert> = {}): Alert {
  return {
    id: newId(),
    ruleId: r.id,
    namespace: r.namespace,
    ruleName: r.name,
    kind: r.kind,
    status: 'firing',
    since: T0,
    firedAt: T0 + 10,
    resolvedAt: null,
    why: 'task t failed 3 times in a row',
    value: 3,
    ...over,
  };
}

function note(over: Partial<NewNotification> = {}): NewNotification {
  return { id: newId(), namespace: 'default', channel: 'ops', event: 'alert.firing', runId: null, taskId: null, body: '{"type":"alert.firing"}', createdAt: T0, ...over };
}

/** Runs `task` once to `status`, due and finished at `at`; with `retried`, a retry attempt is inserted with the outcome. */
export async function finishRun(store: Store, task: Task, at: Millis, status: 'succeeded' | 'failed' | 'timed_out', retried = false): Promise<string> {
  const { run } = await store.createRun(newRun(task, { scheduledFor: at }), null);
  const claimed = await store.claimDueRuns({ node: 'n1', now: at, horizon: at, limit: 100, leaseUntil: at + 30_000, plan: noPlan });
  const mine = claimed.find((c) => c.run.id === run.id)!;
  await store.markRunning([{ runId: run.id, leaseEpoch: mine.run.leaseEpoch, startedAt: at }]);
  const retry = retried ? newRun(task, { scheduledFor: at + 60_000, attempt: 2, retryOf: run.id, idempotencyKey: run.idempotencyKey }) : null;
  const { stale } = await store.completeRuns([{ runId: run.id, leaseEpoch: mine.run.leaseEpoch, status, startedAt: at, finishedAt: at + 1, retry }]);
  assert.deepEqual(stale, []);
  return run.id;
}

export function runAlertConformance(label: string, open: OpenStore): void {
  describe(`Store alerts: ${label}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('keeps rules per namespace: create, read, list in pages, update, rename (alerts follow), delete (firing one resolved)', async () => {
      const a = store.alerts;
      const r1 = await a.createRule(rule({ name: 'a' }), audit('alert_rule.create', 'x'));
      await a.createRule(rule({ name: 'b', kind: 'backlog', params: { above: 10 }, forMs: 60_000, enabled: false, channels: [] }), audit('alert_rule.create', 'y'));
      await a.createRule(rule({ name: 'a', namespace: 'other' }), audit('alert_rule.create', 'z'));
      await rejectsWith(a.createRule(rule({ name: 'a' }), audit('alert_rule.create', 'w')), 'alert_rule_name_taken');
      assert.deepEqual(await a.getRule('default', 'a'), r1);
      const b = await a.getRule('default', 'b');
      assert.deepEqual([b?.kind, b?.params, b?.forMs, b?.enabled, b?.channels], ['backlog', { above: 10 }, 60_000, false, []]);
      assert.equal(await a.getRule('default', 'nope'), null);

      const first = await a.listRules('*', 2);
      assert.deepEqual(first.items.map((r) => `${r.namespace}/${r.name}`), ['default/a', 'default/b']);
      const second = await a.listRules('*', 2, first.nextCursor!);
      assert.deepEqual(second.items.map((r) => `${r.namespace}/${r.name}`), ['other/a']);
      assert.equal(second.nextCursor, null);
      assert.deepEqual((await a.listRules([], 10)).items, []);
      await rejectsWith(a.listRules('*', 10, 'garbage'), 'invalid_cursor');
      assert.deepEqual((await a.enabledRules()).map((r) => r.name).sort(), ['a', 'a']);

      const firing = alertOf(r1);
      await a.fireAlert(firing, []);
      const renamed = { ...r1, name: 'a2', params: { task: 't', n: 5 }, updatedAt: T0 + 1 };
      await a.updateRule(renamed, audit('alert_rule.update', r1.id));
      assert.equal((await a.getAlert(firing.id))?.ruleName, 'a2', 'its alerts follow the rename');
      assert.deepEqual((await a.getRule('default', 'a2'))?.params, { task: 't', n: 5 });
      await rejectsWith(a.updateRule({ ...renamed, name: 'b' }, audit('alert_rule.update', r1.id)), 'alert_rule_name_taken');
      await rejectsWith(a.updateRule({ ...renamed, id: newId() }, audit('alert_rule.update', r1.id)), 'alert_rule_not_found');

      assert.equal((await a.deleteRule(r1.id, T0 + 50, audit('alert_rule.delete', r1.id))).name, 'a2');
      const after = await a.getAlert(firing.id);
      assert.deepEqual([after?.status, after?.resolvedAt], ['resolved', T0 + 50], 'its firing alert resolved, kept in history');
      await rejectsWith(a.deleteRule(r1.id, T0 + 60, audit('alert_rule.delete', r1.id)), 'alert_rule_not_found');
      const actions = (await store.listAudit({ namespaces: '*', limit: 50 })).items.map((e) => e.action).filter((x) => x.startsWith('alert_rule.'));
      assert.deepEqual(actions.sort(), ['alert_rule.create', 'alert_rule.create', 'alert_rule.create', 'alert_rule.delete', 'alert_rule.update']);
    });

    it('fires and resolves an alert with its outbox rows in one transaction; one firing alert per rule', async () => {
      const a = store.alerts;
      const r = await a.createRule(rule(), audit('alert_rule.create', 'x'));
      const fired = alertOf(r);
      const firedNote = note();
      await a.fireAlert(fired, [firedNote]);
      assert.deepEqual(await a.getAlert(fired.id), fired);
      assert.deepEqual((await a.firingAlerts()).map((x) => x.id), [fired.id]);
      const queued = await store.notifications.getNotification(firedNote.id);
      assert.deepEqual([queued?.status, queued?.event, queued?.body], ['pending', 'alert.firing', firedNote.body]);

      // A second firing alert of the same rule is refused, and its notifications with it.
      const twin = note();
      await assert.rejects(a.fireAlert(alertOf(r), [twin]));
      assert.equal(await store.notifications.getNotification(twin.id), null);

      await a.refreshAlert(fired.id, 'task t failed 4 times in a row', 4);
      assert.deepEqual([(await a.getAlert(fired.id))?.why, (await a.getAlert(fired.id))?.value], ['task t failed 4 times in a row', 4]);

      const resolvedNote = note({ event: 'alert.resolved' });
      assert.equal(await a.resolveAlert(fired.id, T0 + 100, "task t's last run succeeded", [resolvedNote]), true);
      const resolved = await a.getAlert(fired.id);
      assert.deepEqual([resolved?.status, resolved?.resolvedAt, resolved?.why], ['resolved', T0 + 100, "task t's last run succeeded"]);
      assert.equal((await store.notifications.getNotification(resolvedNote.id))?.event, 'alert.resolved');
      const again = note({ event: 'alert.resolved' });
      assert.equal(await a.resolveAlert(fired.id, T0 + 200, 'x', [again]), false, 'resolving twice changes nothing');
      assert.equal(await store.notifications.getNotification(again.id), null);
      assert.deepEqual(await a.firingAlerts(), []);

      // The rule fires again: a new alert, the old one stays in history.
      const second = alertOf(r, { firedAt: T0 + 300 });
      await a.fireAlert(second, []);
      const other = await a.createRule(rule({ name: 'o', namespace: 'other' }), audit('alert_rule.create', 'y'));
      await a.fireAlert(alertOf(other), []);
      const all = await a.listAlerts({ namespaces: ['default'], limit: 1 });
      assert.deepEqual(all.items.map((x) => x.id), [second.id], 'newest first');
      const rest = await a.listAlerts({ namespaces: ['default'], limit: 1, cursor: all.nextCursor! });
      assert.deepEqual(rest.items.map((x) => x.id), [fired.id]);
      assert.equal(rest.nextCursor, null);
      assert.deepEqual((await a.listAlerts({ namespaces: '*', status: 'resolved', limit: 10 })).items.map((x) => x.id), [fired.id]);
      assert.equal((await a.listAlerts({ namespaces: '*', status: 'firing', limit: 10 })).items.length, 2);
      assert.deepEqual((await a.listAlerts({ namespaces: '*', ruleId: other.id, limit: 10 })).items.map((x) => x.ruleName), ['o']);
      assert.deepEqual((await a.listAlerts({ namespaces: [], limit: 10 })).items, []);
      await rejectsWith(a.listAlerts({ namespaces: '*', limit: 10, cursor: 'garbage' }), 'invalid_cursor');
    });

    it('leases the evaluator to one holder at a time, until it lapses or is released', async () => {
      const a = store.alerts;
      assert.equal(await a.tryLease('ev', 'A', T0, T0 + 1000), true);
      assert.equal(await a.tryLease('ev', 'B', T0 + 10, T0 + 1010), false);
      assert.equal(await a.tryLease('ev', 'A', T0 + 500, T0 + 1500), true, 'the holder renews');
      assert.equal(await a.tryLease('ev', 'B', T0 + 1499, T0 + 2499), false);
      assert.equal(await a.tryLease('ev', 'B', T0 + 1500, T0 + 2500), true, 'taken once it lapsed');
      assert.equal(await a.tryLease('ev', 'A', T0 + 1600, T0 + 2600), false);
      await a.releaseLease('ev', 'A');
      assert.equal(await a.tryLease('ev', 'A', T0 + 1600, T0 + 2600), false, "releasing another's lease does nothing");
      await a.releaseLease('ev', 'B');
      assert.equal(await a.tryLease('ev', 'A', T0 + 1600, T0 + 2600), true, 'free at once after a release');
      const both = await Promise.all([a.tryLease('other', 'X', T0, T0 + 1000), a.tryLease('other', 'Y', T0, T0 + 1000)]);
      assert.deepEqual(both.filter(Boolean).length, 1, 'two asking at once: one gets it');
    });

    it('measures: last success, the newest run that exhausted its retries, old pending notifications', async () => {
      const input = newTask({ name: 't' });
      const task = await store.createTask(input, null, audit('task.create', input.id));
      const otherInput = newTask({ name: 'u' });
      const other = await store.createTask(otherInput, null, audit('task.create', otherInput.id));
      assert.equal(await store.alerts.lastSuccessAt(task.id), null);
      await finishRun(store, task, T0 + 1000, 'succeeded');
      await finishRun(store, task, T0 + 2000, 'failed');
      assert.equal(await store.alerts.lastSuccessAt(task.id), T0 + 1001);

      const exhausted = await store.alerts.lastExhaustedRun('default', task.id, T0);
      assert.equal(exhausted?.finishedAt, T0 + 2001);
      assert.equal(exhausted?.taskName, 't');
      await finishRun(store, task, T0 + 3000, 'failed', true);
      assert.equal((await store.alerts.lastExhaustedRun('default', task.id, T0))?.finishedAt, T0 + 2001, 'a failure that was retried is not exhausted');
      assert.equal(await store.alerts.lastExhaustedRun('default', task.id, T0 + 2500), null, 'nor one before the window');
      await finishRun(store, other, T0 + 4000, 'timed_out');
      assert.equal((await store.alerts.lastExhaustedRun('default', null, T0))?.taskName, 'u', 'any task of the namespace');
      assert.equal(await store.alerts.lastExhaustedRun('elsewhere', null, T0), null);

      await store.notifications.enqueueNotifications([note({ createdAt: T0 }), note({ createdAt: T0 + 5 }), note({ createdAt: T0 + 50 })]);
      assert.deepEqual(await store.alerts.oldPendingNotifications(T0 + 10, 100), { count: 2, oldest: T0 });
      assert.deepEqual((await store.alerts.oldPendingNotifications(T0 + 10, 1)).count, 1, 'counted up to the cap');
      assert.deepEqual(await store.alerts.oldPendingNotifications(T0, 100), { count: 0, oldest: null });
    });
  });
}
