// transitionEvent: the one builder of `run:transition` events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunTransition } from '../../src/core/events.js';
import { transitionEvent } from '../../src/core/transition-event.js';
import type { NewRun, Run } from '../../src/core/types.js';

const run: Run = {
  id: 'r1',
  namespace: 'ns',
  taskId: 't1',
  taskName: 'nightly',
  status: 'failed',
  attempt: 2,
  retryOf: 'r0',
  trigger: 'retry',
  occurrenceAt: null,
  scheduledFor: 1_000,
  priority: 0,
  payload: null,
  idempotencyKey: 'k',
  queuedAt: 900,
  startedAt: 1_010,
  finishedAt: 1_500,
  node: 'n1',
  leaseUntil: null,
  leaseEpoch: 3,
  result: null,
  error: { code: 'http_status', message: 'got 500' },
  reason: null,
  logsTruncated: false,
  createdAt: 500,
  updatedAt: 1_500,
  createdBy: 'key:1',
  cpuMs: null,
  peakRssBytes: null,
  diskWriteBytes: null,
};

const newRun: NewRun = {
  id: 'r2',
  namespace: 'ns',
  taskId: 't1',
  taskName: 'nightly',
  status: 'scheduled',
  attempt: 3,
  retryOf: 'r1',
  trigger: 'retry',
  occurrenceAt: null,
  scheduledFor: 2_000,
  priority: 0,
  payload: null,
  idempotencyKey: 'k',
  createdAt: 1_500,
  createdBy: 'key:1',
};

test('without a change, everything comes from the run as stored', () => {
  const e = transitionEvent(run, 'running', 1_600);
  assert.deepEqual(e, {
    runId: 'r1',
    taskId: 't1',
    taskName: 'nightly',
    namespace: 'ns',
    from: 'running',
    to: 'failed',
    at: 1_600,
    scheduledFor: 1_000,
    attempt: 2,
    startedAt: 1_010,
    finishedAt: 1_500,
    reason: null,
    errorCode: 'http_status',
  } satisfies RunTransition);
});

test('a new run has not started, finished or failed; its reason (a planned skip) is kept', () => {
  assert.deepEqual(transitionEvent(newRun, null, 1_500), {
    runId: 'r2',
    taskId: 't1',
    taskName: 'nightly',
    namespace: 'ns',
    from: null,
    to: 'scheduled',
    at: 1_500,
    scheduledFor: 2_000,
    attempt: 3,
    startedAt: null,
    finishedAt: null,
    reason: null,
    errorCode: null,
  } satisfies RunTransition);
  const skip = transitionEvent({ ...newRun, status: 'skipped', reason: 'overlap' }, null, 1_500);
  assert.equal(skip.to, 'skipped');
  assert.equal(skip.reason, 'overlap');
});

test('a change overrides the run field by field; null overrides a value, a field left out does not', () => {
  const claimed: Run = { ...run, status: 'queued', startedAt: null, finishedAt: null, error: null, reason: 'stale' };
  const started = transitionEvent(claimed, 'queued', 1_010, { to: 'running', startedAt: 1_010, reason: null });
  assert.equal(started.to, 'running');
  assert.equal(started.startedAt, 1_010);
  assert.equal(started.reason, null);
  assert.equal(started.finishedAt, null);
  assert.equal(started.errorCode, null);

  const ended = transitionEvent(claimed, 'running', 1_600, { to: 'timed_out', finishedAt: 1_600, errorCode: 'timeout' });
  assert.equal(ended.to, 'timed_out');
  assert.equal(ended.finishedAt, 1_600);
  assert.equal(ended.errorCode, 'timeout');
  assert.equal(ended.reason, 'stale', 'a field the change leaves out comes from the run');

  const nulled = transitionEvent(run, 'scheduled', 1_600, { startedAt: null, errorCode: null });
  assert.equal(nulled.startedAt, null);
  assert.equal(nulled.errorCode, null);
  assert.equal(nulled.finishedAt, 1_500);
});
