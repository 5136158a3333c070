// The run output recorder: lines are published at once with their index, stored in batches, and
// whatever is unstored at the end rides with the outcome, never twice and never lost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBus, type SundialEvents } from '../../src/core/events.js';
import type { LogLine } from '../../src/core/types.js';
import type { RunJob } from '../../src/executor/executor.js';
import { makeOutcome } from '../../src/executor/outcome.js';
import { systemClock } from '../../src/core/clock.js';
import { RunOutputRecorder } from '../../src/scheduler/run-output.js';
import type { RunSample } from '../../src/store/store.js';

const job = { runId: 'r1', namespace: 'ns', taskId: 't', taskName: 'n' } as RunJob;
const line = (message: string): LogLine => ({ at: 1, level: 'info', message });

/** A store whose writes commit when the test says so (or fail). */
function fakeStore() {
  const appended: { runId: string; lines: string[] }[] = [];
  const samples: RunSample[] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  return {
    appended,
    samples,
    pending,
    store: {
      appendRunLogs(runId: string, lines: LogLine[]): Promise<void> {
        return new Promise<void>((resolve, reject) => pending.push({ resolve: () => (appended.push({ runId, lines: lines.map((l) => l.message) }), resolve()), reject }));
      },
      async appendRunSamples(s: RunSample[]): Promise<void> {
        samples.push(...s);
      },
    },
  };
}

describe('run output recorder', () => {
  it('publishes lines with their index, snapshots the uncommitted ones, and hands the unsent to the outcome', async () => {
    const bus = new EventBus();
    const events: SundialEvents['run:logs'][] = [];
    bus.on('run:logs', (e) => events.push(e));
    const f = fakeStore();
    const rec = new RunOutputRecorder({ store: f.store, bus, flushIntervalMs: 60_000 });
    rec.lines(job, [line('a'), line('b')]);
    rec.lines(job, [line('c')]);
    assert.deepEqual(events.map((e) => [e.fromSeq, e.lines.map((l) => l.message)]), [[0, ['a', 'b']], [1 + 1, ['c']]]);
    assert.deepEqual(rec.snapshot('r1')?.fromSeq, 0);

    const flushed = rec.flush();
    rec.lines(job, [line('d')]);
    // a, b, c are handed to the store but not committed: still in the snapshot.
    assert.deepEqual(rec.snapshot('r1')?.lines.map((l) => l.message), ['a', 'b', 'c', 'd']);
    f.pending[0]!.resolve();
    await flushed;
    assert.deepEqual(f.appended, [{ runId: 'r1', lines: ['a', 'b', 'c'] }]);
    assert.deepEqual(rec.snapshot('r1'), { fromSeq: 3, lines: [line('d')] });

    const outcome = makeOutcome(systemClock, 'succeeded');
    rec.finish(job, outcome);
    assert.deepEqual(outcome.logs.map((l) => l.message), ['d']);
    assert.equal(rec.snapshot('r1'), null);
  });

  it('a failed background write hands its lines back to the completion', async () => {
    const f = fakeStore();
    const errors: unknown[] = [];
    const rec = new RunOutputRecorder({ store: f.store, bus: new EventBus(), flushIntervalMs: 60_000, onError: (e) => errors.push(e) });
    rec.lines(job, [line('a')]);
    const flushed = rec.flush();
    f.pending[0]!.reject(new Error('disk full'));
    await flushed;
    assert.equal(errors.length, 1);
    const outcome = makeOutcome(systemClock, 'failed');
    rec.finish(job, outcome);
    assert.deepEqual(outcome.logs.map((l) => l.message), ['a']);
  });

  it('lines still being written at the end are not repeated in the outcome', async () => {
    const f = fakeStore();
    const rec = new RunOutputRecorder({ store: f.store, bus: new EventBus(), flushIntervalMs: 60_000 });
    rec.lines(job, [line('a')]);
    const flushed = rec.flush();
    rec.lines(job, [line('b')]);
    const outcome = makeOutcome(systemClock, 'succeeded');
    rec.finish(job, outcome);
    assert.deepEqual(outcome.logs.map((l) => l.message), ['b']);
    f.pending[0]!.resolve();
    await flushed;
    assert.deepEqual(f.appended, [{ runId: 'r1', lines: ['a'] }]);
    assert.equal(rec.snapshot('r1'), null);
  });

  it('samples are published and stored, and a finishing run sends them ahead of its completion', async () => {
    const bus = new EventBus();
    const seen: SundialEvents['run:sample'][] = [];
    bus.on('run:sample', (e) => seen.push(e));
    const f = fakeStore();
    const rec = new RunOutputRecorder({ store: f.store, bus, flushIntervalMs: 60_000 });
    rec.sample(job, { at: 5, cpuMs: 1.5, rssBytes: 100, diskWriteBytes: 0 });
    assert.equal(seen.length, 1);
    assert.equal(f.samples.length, 0);
    rec.finish(job, makeOutcome(systemClock, 'succeeded'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(f.samples, [{ runId: 'r1', at: 5, cpuMs: 1.5, rssBytes: 100, diskWriteBytes: 0 }]);
    rec.close();
  });

  it('publishes a run’s totals as a final sample when it ends (not stored: the completion carries them)', () => {
    const bus = new EventBus();
    const seen: SundialEvents['run:sample'][] = [];
    bus.on('run:sample', (e) => seen.push(e));
    const f = fakeStore();
    const rec = new RunOutputRecorder({ store: f.store, bus, flushIntervalMs: 60_000 });
    const outcome = makeOutcome(systemClock, 'succeeded');
    Object.assign(outcome, { cpuMs: 40, peakRssBytes: 2048, diskWriteBytes: 7, finishedAt: 99 });
    rec.finish(job, outcome);
    assert.deepEqual(seen, [{ runId: 'r1', namespace: 'ns', sample: { at: 99, cpuMs: 40, rssBytes: 2048, diskWriteBytes: 7 }, final: true }]);
    // A runner that measured nothing (an http run) sends none.
    rec.finish(job, makeOutcome(systemClock, 'succeeded'));
    assert.equal(seen.length, 1);
    assert.equal(f.samples.length, 0);
    rec.close();
  });
});
