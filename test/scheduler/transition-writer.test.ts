// The transition writer on its own, with a fake store whose commits the test completes by hand:
// group commit, verdicts, publication only after commit, retry after a failed commit, chunks,
// write lanes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { EventBus, type RunTransition } from '../../src/core/events.js';
import type { NewRun, Run } from '../../src/core/types.js';
import type { RunCompletion, RunStart, StartResult, Store } from '../../src/store/store.js';
import { TransitionWriter, type StartVerdict } from '../../src/scheduler/transition-writer.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Call = { kind: 'start'; batch: RunStart[]; done: Deferred<StartResult>; now?: (() => number) | undefined } | { kind: 'complete'; batch: RunCompletion[]; done: Deferred<{ stale: string[] }> };

/** A store with only what the writer uses; every write waits until the test settles it (or `auto`). */
class FakeStore {
  readonly calls: Call[] = [];
  /** Settles each write at once with this answer (nothing refused) instead of waiting for the test. */
  auto = false;
  constructor(readonly writeLanes = 1) {}

  asStore(): Store {
    return {
      capabilities: { shared: false, writeLanes: this.writeLanes, inProcess: false },
      markRunning: (batch: RunStart[], now?: () => number) => {
        const done = deferred<StartResult>();
        this.calls.push({ kind: 'start', batch, done, now });
        if (this.auto) done.resolve({ stale: [], busy: [] });
        return done.promise;
      },
      completeRuns: (batch: RunCompletion[]) => {
        const done = deferred<{ stale: string[] }>();
        this.calls.push({ kind: 'complete', batch, done });
        if (this.auto) done.resolve({ stale: [] });
        return done.promise;
      },
    } as unknown as Store;
  }

  starts(): Extract<Call, { kind: 'start' }>[] {
    return this.calls.filter((c): c is Extract<Call, { kind: 'start' }> => c.kind === 'start');
  }
  completes(): Extract<Call, { kind: 'complete' }>[] {
    return this.calls.filter((c): c is Extract<Call, { kind: 'complete' }> => c.kind === 'complete');
  }
}

function setup(writeLanes = 1): { store: FakeStore; writer: TransitionWriter; events: RunTransition[]; errors: string[] } {
  const store = new FakeStore(writeLanes);
  const bus = new EventBus();
  const events: RunTransition[] = [];
  const errors: string[] = [];
  bus.on('run:transition', (t) => events.push(t));
  bus.on('scheduler:error', (e) => errors.push(`${e.where}: ${e.error.message}`));
  return { store, writer: new TransitionWriter(store.asStore(), bus, systemClock), events, errors };
}

let n = 0;
function run(over: Partial<Run> = {}): Run {
  n++;
  return {
    id: `run-${n}`,
    namespace: 'ns',
    taskId: 'task-1',
    taskName: 'nightly',
    status: 'queued',
    attempt: 1,
    retryOf: null,
    trigger: 'schedule',
    occurrenceAt: 1_000,
    scheduledFor: 1_000,
    priority: 0,
    payload: null,
    idempotencyKey: `k-${n}`,
    queuedAt: 900,
    startedAt: null,
    finishedAt: null,
    node: 'n1',
    leaseUntil: 60_000,
    leaseEpoch: 7,
    result: null,
    error: null,
    reason: null,
    logsTruncated: false,
    createdAt: 500,
    updatedAt: 900,
    createdBy: 'schedule',
    cpuMs: null,
    peakRssBytes: null,
    diskWriteBytes: null,
    ...over,
  };
}

const turns = async (k = 5): Promise<void> => {
  for (let i = 0; i < k; i++) await new Promise((r) => setImmediate(r));
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

test('a start is written, then resolved started and published queued → running, never before the commit', async () => {
  const { store, writer, events } = setup();
  const r = run();
  let verdict: StartVerdict | null = null;
  void writer.start(r, 1_005).then((v) => (verdict = v.verdict));
  await until('the write', () => store.calls.length === 1);
  const [call] = store.starts();
  assert.deepEqual(call!.batch, [{ runId: r.id, leaseEpoch: 7, startedAt: 1_005 }]);
  await turns();
  assert.equal(verdict, null, 'not resolved before the commit');
  assert.equal(events.length, 0, 'not published before the commit');
  call!.done.resolve({ stale: [], busy: [] });
  await until('the verdict', () => verdict !== null);
  assert.equal(verdict, 'started');
  assert.equal(events.length, 1);
  assert.deepEqual(
    { runId: events[0]!.runId, from: events[0]!.from, to: events[0]!.to, startedAt: events[0]!.startedAt, attempt: events[0]!.attempt },
    { runId: r.id, from: 'queued', to: 'running', startedAt: 1_005, attempt: 1 },
  );
});

test('starts recorded in one turn share one write, guards included', async () => {
  const { store, writer } = setup();
  store.auto = true;
  const guard = { overlapTaskId: 'task-1' };
  const verdicts = (await Promise.all([writer.start(run(), 1), writer.start(run(), 2, guard), writer.start(run(), 3)])).map((o) => o.verdict);
  assert.deepEqual(verdicts, ['started', 'started', 'started']);
  assert.equal(store.calls.length, 1, 'one transaction for the three');
  assert.equal(store.starts()[0]!.batch.length, 3);
  assert.deepEqual(store.starts()[0]!.batch[1]!.guard, guard);
});

test('refused starts get their verdict (stale, overlap, concurrency) and are not published', async () => {
  const { store, writer, events } = setup();
  const [a, b, c, d] = [run(), run(), run(), run()];
  const p = Promise.all([writer.start(a, 1), writer.start(b, 1), writer.start(c, 1), writer.start(d, 1)]);
  await until('the write', () => store.calls.length === 1);
  store.starts()[0]!.done.resolve({
    stale: [b.id],
    busy: [
      { runId: c.id, reason: 'overlap' },
      { runId: d.id, reason: 'concurrency' },
    ],
  });
  assert.deepEqual((await p).map((o) => o.verdict), ['started', 'stale', 'overlap', 'concurrency']);
  assert.deepEqual(
    events.map((e) => e.runId),
    [a.id],
  );
});

test('a start the store stamped later (its guard waited) resolves and is published with the time written', async () => {
  const { store, writer, events } = setup();
  const [a, b] = [run(), run()];
  const p = Promise.all([writer.start(a, 1_005, { concurrency: { key: 'k', cap: 1 } }), writer.start(b, 1_005)]);
  await until('the write', () => store.calls.length === 1);
  const call = store.starts()[0]!;
  assert.ok(Math.abs(call.now!() - Date.now()) < 1000, 'the store is handed the writer’s clock');
  call.done.resolve({ stale: [], busy: [], restamped: [{ runId: a.id, startedAt: 1_250 }] });
  assert.deepEqual(await p, [
    { verdict: 'started', startedAt: 1_250 },
    { verdict: 'started', startedAt: 1_005 },
  ]);
  assert.deepEqual(
    events.map((e) => [e.runId, e.startedAt]),
    [
      [a.id, 1_250],
      [b.id, 1_005],
    ],
  );
});

test('an outcome is published after its commit with its error code, then its retry as a new scheduled run', async () => {
  const { store, writer, events } = setup();
  const r = run({ status: 'running', startedAt: 1_005 });
  const retry: NewRun = {
    id: 'retry-1',
    namespace: 'ns',
    taskId: 'task-1',
    taskName: 'nightly',
    status: 'scheduled',
    attempt: 2,
    retryOf: r.id,
    trigger: 'retry',
    occurrenceAt: 1_000,
    scheduledFor: 5_000,
    priority: 0,
    payload: null,
    idempotencyKey: r.idempotencyKey,
    createdAt: 2_000,
    createdBy: 'schedule',
  };
  const completion: RunCompletion = {
    runId: r.id,
    leaseEpoch: 7,
    status: 'failed',
    startedAt: 1_005,
    finishedAt: 2_000,
    error: { code: 'http_status', message: 'got 503' },
    retry,
  };
  writer.complete(r, completion, 'running');
  await until('the write', () => store.calls.length === 1);
  const [call] = store.completes();
  assert.equal(call!.batch[0], completion);
  await turns();
  assert.equal(events.length, 0, 'not published before the commit');
  call!.done.resolve({ stale: [] });
  await writer.idle();
  assert.deepEqual(
    events.map((e) => [e.runId, e.from, e.to, e.startedAt, e.finishedAt, e.errorCode, e.attempt, e.scheduledFor]),
    [
      [r.id, 'running', 'failed', 1_005, 2_000, 'http_status', 1, 1_000],
      ['retry-1', null, 'scheduled', null, null, null, 2, 5_000],
    ],
  );
});

test('an outcome the store refused as stale is not published', async () => {
  const { store, writer, events } = setup();
  const [a, b] = [run({ status: 'running' }), run({ status: 'running' })];
  writer.complete(a, { runId: a.id, leaseEpoch: 7, status: 'succeeded', finishedAt: 2_000 }, 'running');
  writer.complete(b, { runId: b.id, leaseEpoch: 7, status: 'cancelled', finishedAt: 2_000, reason: 'cancelled' }, 'running');
  await until('the write', () => store.calls.length === 1);
  store.completes()[0]!.done.resolve({ stale: [a.id] });
  await writer.idle();
  assert.deepEqual(
    events.map((e) => [e.runId, e.to, e.reason]),
    [[b.id, 'cancelled', 'cancelled']],
  );
});

test('outcomes alone wait a little for company; a start takes them along at once, written after it', async (t) => {
  // The outcome delay is a setTimeout: mocked, so a slow machine cannot let it pass between two
  // event-loop turns and make "not written yet" a race.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { store, writer } = setup();
  store.auto = true;
  const r = run({ status: 'running' });
  writer.complete(r, { runId: r.id, leaseEpoch: 7, status: 'succeeded', finishedAt: 2 }, 'running');
  await turns(3);
  assert.equal(store.calls.length, 0, 'an outcome alone is not written at the next turn');
  const started = writer.start(run(), 3);
  await turns(3);
  assert.equal(store.calls.length, 2, 'a start does not wait for the outcome delay');
  await started;
  assert.deepEqual(
    store.calls.map((c) => [c.kind, c.batch.length]),
    [
      ['start', 1],
      ['complete', 1],
    ],
    'one flush: the start first, then the outcome',
  );

  // Left alone, an outcome goes out once the delay (a few milliseconds) has passed.
  const s = run({ status: 'running' });
  writer.complete(s, { runId: s.id, leaseEpoch: 7, status: 'succeeded', finishedAt: 2 }, 'running');
  await turns(3);
  assert.equal(store.completes().length, 1, 'not before the delay');
  t.mock.timers.tick(50);
  await turns(3);
  assert.equal(store.completes().length, 2, 'the lone outcome, after the delay');
});

test('a failed commit loses nothing: the same transitions are written again and published once', async () => {
  const { store, writer, events, errors } = setup();
  const a = run();
  const b = run({ status: 'running' });
  const verdict = writer.start(a, 10);
  writer.complete(b, { runId: b.id, leaseEpoch: 7, status: 'succeeded', finishedAt: 20 }, 'running');
  await until('the first write', () => store.calls.length === 2);
  store.starts()[0]!.done.reject(new Error('disk I/O error'));
  store.completes()[0]!.done.resolve({ stale: [] });
  await until('the error report', () => errors.length === 1);
  assert.equal(errors[0], 'transition-writer: disk I/O error');
  assert.equal(events.length, 0, 'nothing published for a failed commit');
  store.auto = true;
  let settled: StartVerdict | null = null;
  void verdict.then((v) => (settled = v.verdict));
  await until('the start written again', () => settled !== null);
  assert.equal(settled, 'started');
  await writer.idle();
  assert.equal(store.starts().length, 2);
  assert.deepEqual(store.starts()[1]!.batch, store.starts()[0]!.batch, 'the same start written again');
  assert.deepEqual(store.completes()[1]!.batch, store.completes()[0]!.batch, 'the same outcome written again');
  assert.deepEqual(
    events.map((e) => [e.runId, e.to]),
    [
      [a.id, 'running'],
      [b.id, 'succeeded'],
    ],
  );
});

test('a burst of starts is written in chunks of 1000, in the order recorded', async () => {
  const { store, writer } = setup();
  store.auto = true;
  const runs = Array.from({ length: 2_500 }, () => run());
  const verdicts = await Promise.all(runs.map((r, i) => writer.start(r, i)));
  assert.ok(verdicts.every((v) => v.verdict === 'started'));
  assert.deepEqual(
    store.starts().map((c) => c.batch.length),
    [1_000, 1_000, 500],
  );
  assert.deepEqual(
    store.starts().flatMap((c) => c.batch.map((s) => s.runId)),
    runs.map((r) => r.id),
  );
});

test('one write lane: one flush at a time, and what arrives meanwhile goes out together next', async () => {
  const { store, writer } = setup(1);
  const first = writer.start(run(), 1);
  await until('the first write', () => store.calls.length === 1);
  const later = [writer.start(run(), 2), writer.start(run(), 3), writer.start(run(), 4)];
  await turns(10);
  assert.equal(store.calls.length, 1, 'no second flush while the lane is busy');
  let idle = false;
  void writer.idle().then(() => (idle = true));
  store.starts()[0]!.done.resolve({ stale: [], busy: [] });
  assert.equal((await first).verdict, 'started');
  await until('the second write', () => store.calls.length === 2);
  assert.equal(store.starts()[1]!.batch.length, 3);
  await turns();
  assert.equal(idle, false, 'idle waits for the second flush');
  store.starts()[1]!.done.resolve({ stale: [], busy: [] });
  assert.deepEqual((await Promise.all(later)).map((o) => o.verdict), ['started', 'started', 'started']);
  await until('idle', () => idle);
});

test('several write lanes: flushes overlap, up to the number of lanes', async () => {
  const { store, writer } = setup(2);
  void writer.start(run(), 1);
  await until('the first write', () => store.calls.length === 1);
  void writer.start(run(), 2);
  await until('a second write beside the first', () => store.calls.length === 2);
  void writer.start(run(), 3);
  await turns(10);
  assert.equal(store.calls.length, 2, 'no third flush with two lanes busy');
  store.starts()[0]!.done.resolve({ stale: [], busy: [] });
  await until('the third write', () => store.calls.length === 3);
  store.starts()[1]!.done.resolve({ stale: [], busy: [] });
  store.starts()[2]!.done.resolve({ stale: [], busy: [] });
  await writer.idle();
});
