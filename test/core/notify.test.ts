// Which notifications a run outcome causes: the events of each outcome, the rules that pick
// them, and the body receivers get (DESIGN.md's shape).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notificationsFor, outcomeEvents, type NotificationBody, type OutcomeFacts } from '../../src/core/notify.js';
import { DEFAULT_POLICIES } from '../../src/core/policies.js';
import type { NotifyRule, Run, Task } from '../../src/core/types.js';

const T = Date.UTC(2026, 2, 3, 1, 0, 2);
const fail = (over: Partial<OutcomeFacts> = {}): OutcomeFacts => ({ status: 'failed', startedAt: T - 500, finishedAt: T, error: { code: 'internal', message: 'boom' }, reason: null, retried: false, ...over });

function task(notify: NotifyRule[] | undefined, lastRunStatus: Task['lastRunStatus'] = null): Task {
  return {
    id: 'task-1', namespace: 'reports', name: 'nightly', description: null, kind: 'http', spec: { url: 'https://x.example' }, schedule: null,
    policies: { ...DEFAULT_POLICIES, ...(notify && { notify }) }, payload: null, status: 'active', firedCount: 0, nextRunAt: null,
    lastRunAt: null, lastRunStatus, version: 1, createdAt: 0, updatedAt: 0, createdBy: 'k', updatedBy: 'k',
  };
}
const run = { id: 'run-1', attempt: 2, scheduledFor: T - 1000 } as Run;
let seq = 0;
const ids = () => `n-${++seq}`;

test('the events of each outcome', () => {
  const t = task(undefined);
  assert.deepEqual(outcomeEvents(t, fail({ retried: true })), ['failed']);
  assert.deepEqual(outcomeEvents(t, fail()), ['failed', 'retries_exhausted']);
  assert.deepEqual(outcomeEvents(t, fail({ reason: 'lost', retried: true })), ['lost', 'failed']);
  assert.deepEqual(outcomeEvents(t, fail({ status: 'timed_out' })), ['timed_out', 'retries_exhausted']);
  assert.deepEqual(outcomeEvents(t, fail({ status: 'succeeded', error: null })), ['succeeded']);
  assert.deepEqual(outcomeEvents(task(undefined, 'failed'), fail({ status: 'succeeded', error: null })), ['succeeded', 'recovered']);
  assert.deepEqual(outcomeEvents(task(undefined, 'timed_out'), fail({ status: 'succeeded', error: null })), ['succeeded', 'recovered']);
  assert.deepEqual(outcomeEvents(task(undefined, 'succeeded'), fail({ status: 'succeeded', error: null })), ['succeeded']);
  assert.deepEqual(outcomeEvents(t, fail({ status: 'cancelled' })), []);
  assert.deepEqual(outcomeEvents(t, fail({ status: 'skipped' })), []);
});

test('rules pick events per channel, once each; tasks without rules cause none', () => {
  assert.deepEqual(notificationsFor(task(undefined), run, fail(), T, ids), []);
  const rows = notificationsFor(
    task([
      { on: ['failed', 'retries_exhausted'], channel: 'hook' },
      { on: ['failed'], channel: 'hook' },
      { on: ['succeeded', 'recovered'], channel: 'slack' },
      { on: ['retries_exhausted'], channel: 'mail' },
    ]),
    run,
    fail(),
    T,
    ids,
  );
  assert.deepEqual(rows.map((r) => `${r.channel}:${r.event}`), ['hook:failed', 'hook:retries_exhausted', 'mail:retries_exhausted']);
  assert.equal(new Set(rows.map((r) => r.id)).size, 3);
  for (const r of rows) {
    assert.equal(r.namespace, 'reports');
    assert.equal(r.runId, 'run-1');
    assert.equal(r.taskId, 'task-1');
    assert.equal(r.createdAt, T);
  }
});

test("the body is DESIGN.md's { type, timestamp, run, task }", () => {
  const [row] = notificationsFor(task([{ on: ['timed_out'], channel: 'hook' }]), run, fail({ status: 'timed_out', error: { code: 'timeout', message: 'over 5m' } }), T, ids);
  const body = JSON.parse(row!.body) as NotificationBody;
  assert.deepEqual(body, {
    type: 'run.timed_out',
    timestamp: new Date(T).toISOString(),
    run: {
      id: 'run-1',
      taskId: 'task-1',
      status: 'timed_out',
      attempt: 2,
      scheduledFor: new Date(T - 1000).toISOString(),
      startedAt: new Date(T - 500).toISOString(),
      finishedAt: new Date(T).toISOString(),
      error: { code: 'timeout', message: 'over 5m' },
    },
    task: { id: 'task-1', name: 'nightly', namespace: 'reports' },
  });
});
