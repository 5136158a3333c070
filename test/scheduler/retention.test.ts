// The history retention loop with a fake store, a manual clock (which also stands in for the
// monotonic time of the round budget) and timers the test fires by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import type { Millis } from '../../src/core/types.js';
import { resolveConfig } from '../../src/config/config.js';
import { HistoryRetention, retentionOptions, type RetentionOptions, type RetentionTimers } from '../../src/scheduler/retention.js';
import type { PruneOptions } from '../../src/store/store.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

/** A store holding `backlog` runs to delete; each call costs `costMs` on the clock. */
class FakeStore {
  calls: { opts: PruneOptions; now: Millis }[] = [];
  backlog: number;
  fail: Error | null = null;
  /** Resolves the call in flight (set while `hold` is on). */
  release: (() => void) | null = null;
  hold = false;

  constructor(
    private readonly clock: ManualClock,
    backlog: number,
    private readonly costMs = 10,
  ) {
    this.backlog = backlog;
  }

  async pruneHistory(opts: PruneOptions, now: Millis): Promise<number> {
    this.calls.push({ opts, now });
    if (this.hold) await new Promise<void>((resolve) => (this.release = resolve));
    this.clock.advance(this.costMs);
    if (this.fail !== null) throw this.fail;
    const n = Math.min(opts.limit, this.backlog);
    this.backlog -= n;
    return n;
  }
}

/** Timers that only fire when the test says so. */
class HandTimers implements RetentionTimers {
  pending: { fn: () => void; ms: number; id: number }[] = [];
  #id = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#id;
    this.pending.push({ fn, ms, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((t) => t.id !== handle);
  }
  /** Fires the one pending timer; returns the delay it was set with. */
  fire(): number {
    assert.equal(this.pending.length, 1, 'expected exactly one pending timer');
    const t = this.pending.shift()!;
    t.fn();
    return t.ms;
  }
}

function setup(backlog: number, opts: Partial<RetentionOptions> = {}, costMs = 10) {
  const clock = new ManualClock(T0);
  const store = new FakeStore(clock, backlog, costMs);
  const bus = new EventBus();
  const errors: { where: string; error: Error }[] = [];
  bus.on('scheduler:error', (e) => errors.push(e));
  const timers = new HandTimers();
  const loop = new HistoryRetention(
    { maxAgeMs: 30 * DAY, maxPerTask: 10_000, batch: 100, budgetMs: 1000, targetBatchMs: 20, ...opts },
    { store, clock, bus, timers, elapsed: () => clock.now(), random: () => 0.5 },
  );
  return { clock, store, bus, errors, timers, loop };
}

/** Lets the loop's promise chain (and its setImmediate yields) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('HistoryRetention', () => {
  it('calls the store with both limits, in batches, until a batch comes back short', async () => {
    const { store, loop } = setup(250);
    const round = await loop.runOnce();
    assert.deepEqual(round, { deleted: 250, batches: 3, more: false, ms: 30 });
    assert.deepEqual(store.calls[0]!.opts, { finishedBefore: T0 - 30 * DAY, keepPerTask: 10_000, limit: 100 });
    // Each call measures the age limit from its own now.
    assert.deepEqual(
      store.calls.map((c) => c.now - c.opts.finishedBefore!),
      [30 * DAY, 30 * DAY, 30 * DAY],
    );
    assert.equal(store.calls[1]!.now, T0 + 10);
  });

  it('turns 0 into "no limit"; with both off it never starts', async () => {
    const ageOnly = setup(0, { maxPerTask: 0 });
    await ageOnly.loop.runOnce();
    assert.deepEqual(ageOnly.store.calls[0]!.opts, { finishedBefore: T0 - 30 * DAY, keepPerTask: null, limit: 100 });
    const countOnly = setup(0, { maxAgeMs: 0 });
    await countOnly.loop.runOnce();
    assert.deepEqual(countOnly.store.calls[0]!.opts, { finishedBefore: null, keepPerTask: 10_000, limit: 100 });

    const off = setup(10, { maxAgeMs: 0, maxPerTask: 0 });
    assert.equal(off.loop.enabled, false);
    off.loop.start();
    assert.equal(off.timers.pending.length, 0);
  });

  it('stops a round at its time budget and comes back after the catch-up pause, then at the interval', async () => {
    // 100 runs a batch at 300 ms each (the batch size held by a large target): a 1 s budget allows 4.
    const { store, loop, timers } = setup(1000, { budgetMs: 1000, intervalMs: 60_000, targetBatchMs: 10_000 }, 300);
    loop.start();
    assert.equal(timers.fire(), 60_000); // random 0.5: no jitter either way
    await settle();
    assert.deepEqual(loop.lastRound, { deleted: 400, batches: 4, more: true, ms: 1200 });
    assert.equal(timers.fire(), 2000, 'catch-up pause: 2 × the budget');
    await settle();
    assert.equal(loop.lastRound?.deleted, 400);
    assert.equal(timers.fire(), 2000);
    await settle();
    assert.deepEqual(loop.lastRound, { deleted: 200, batches: 3, more: false, ms: 900 });
    assert.equal(store.backlog, 0);
    assert.equal(timers.fire(), 60_000, 'caught up: back to the interval');
    await loop.stop();
  });

  it('sizes batches to the target time: halves-or-less when slow, doubles when fast, within bounds', async () => {
    // 1 ms per run deleted: a batch of 100 takes 100 ms, four times the 25 ms target.
    const clock = new ManualClock(T0);
    const limits: number[] = [];
    let backlog = 10_000;
    let msPerRun = 1;
    const store = {
      async pruneHistory(opts: PruneOptions): Promise<number> {
        limits.push(opts.limit);
        const n = Math.min(opts.limit, backlog);
        backlog -= n;
        clock.advance(n * msPerRun);
        return n;
      },
    };
    const loop = new HistoryRetention(
      { maxAgeMs: DAY, maxPerTask: 0, batch: 1000, minBatch: 10, targetBatchMs: 25, budgetMs: 200 },
      { store, clock, bus: new EventBus(), timers: new HandTimers(), elapsed: () => clock.now() },
    );
    assert.equal(loop.batchSize, 100, 'starts at 100');
    await loop.runOnce();
    assert.deepEqual(limits.slice(0, 3), [100, 25, 25]);
    // Faster deletes (0.1 ms a run): it doubles while a batch takes under half the target (200 runs: 20 ms).
    msPerRun = 0.1;
    limits.length = 0;
    await loop.runOnce();
    assert.deepEqual(limits.slice(0, 6), [25, 50, 100, 200, 200, 200]);
    // Very slow: never below minBatch.
    msPerRun = 100;
    limits.length = 0;
    await loop.runOnce();
    assert.equal(loop.batchSize, 10);
  });

  it('takes its limits from the configuration: 30 days and 10,000 a task by default, 0 for off', () => {
    assert.deepEqual(retentionOptions(resolveConfig({ env: {} })), { maxAgeMs: 30 * DAY, maxPerTask: 10_000 });
    const off = resolveConfig({ env: { SUNDIAL_HISTORY_MAX_AGE: '0', SUNDIAL_HISTORY_MAX_PER_TASK: '0' } });
    assert.deepEqual(retentionOptions(off), { maxAgeMs: 0, maxPerTask: 0 });
    assert.equal(resolveConfig({ env: { SUNDIAL_HISTORY_MAX_AGE: '90d' } }).historyMaxAge, 90 * DAY);
    assert.throws(() => resolveConfig({ env: { SUNDIAL_HISTORY_MAX_PER_TASK: '-1' } }), /historyMaxPerTask/);
  });

  it('jitters the interval by ±10%', () => {
    for (const [random, expected] of [
      [0, 54_000],
      [0.999999, 66_000],
    ] as const) {
      const clock = new ManualClock(T0);
      const timers = new HandTimers();
      const loop = new HistoryRetention(
        { maxAgeMs: DAY, maxPerTask: 0, intervalMs: 60_000 },
        { store: new FakeStore(clock, 0), clock, bus: new EventBus(), timers, random: () => random },
      );
      loop.start();
      assert.equal(timers.pending[0]!.ms, expected);
    }
  });

  it('yields to the event loop between batches', async () => {
    const { store, loop } = setup(300);
    const seen: number[] = [];
    // A write queued behind the round: it must run before the round's next batch.
    const round = loop.runOnce();
    setImmediate(() => seen.push(store.calls.length));
    await round;
    assert.equal(store.calls.length, 4);
    assert.ok(seen[0]! < 4, `the queued callback ran only after ${seen[0]} batches`);
  });

  it('publishes a failure as scheduler:error (where retention) and tries again next round', async () => {
    const { store, loop, errors, timers } = setup(150);
    store.fail = new Error('disk I/O error');
    loop.start();
    timers.fire();
    await settle();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.where, 'retention');
    assert.match(errors[0]!.error.message, /disk I\/O/);
    assert.deepEqual(loop.lastRound, { deleted: 0, batches: 0, more: false, ms: 10 });
    store.fail = null;
    assert.equal(timers.fire(), 60_000);
    await settle();
    assert.equal(loop.lastRound?.deleted, 150);
    await loop.stop();
  });

  it('runs one round at a time: runOnce during a round waits for that round', async () => {
    const { store, loop } = setup(50);
    store.hold = true;
    const a = loop.runOnce();
    const b = loop.runOnce();
    assert.equal(a, b);
    await settle();
    assert.equal(store.calls.length, 1);
    store.release!();
    assert.equal((await a).deleted, 50);
  });

  it('stop() waits for the batch in flight, ends the round there and schedules nothing more', async () => {
    const { store, loop, timers } = setup(1000);
    loop.start();
    store.hold = true;
    timers.fire();
    await settle();
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await settle();
    assert.equal(stopped, false, 'stop() resolved while a batch was in flight');
    store.release!();
    await stopping;
    assert.equal(store.calls.length, 1, 'no batch after stop()');
    assert.deepEqual(loop.lastRound, { deleted: 100, batches: 1, more: true, ms: 10 });
    assert.equal(timers.pending.length, 0);
  });
});
