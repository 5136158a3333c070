// Claims sized by time on an in-process store (src/scheduler/claim-sizer.ts): the rule itself,
// and the dispatcher asking for slices only while claimed runs wait in its timer heap.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { createOccurrencePlanner } from '../../src/core/planner.js';
import { ClaimSizer, MIN_SLICE, SLICE_MS } from '../../src/scheduler/claim-sizer.js';
import { Dispatcher } from '../../src/scheduler/dispatcher.js';
import type { ClaimOptions, Store } from '../../src/store/store.js';
import { createHarness, type Harness } from './harness.js';

describe('ClaimSizer', () => {
  it('takes the full batch until a claim was measured, and whenever no run waits', () => {
    const s = new ClaimSizer(true);
    assert.equal(s.limit(5000, true), 5000, 'nothing measured yet');
    s.measured(40, 400); // 0.1 ms per run
    assert.equal(s.limit(5000, false), 5000, 'no run waits in the heap: no timer can be late');
    assert.equal(s.limit(5000, true), SLICE_MS / 0.1);
  });

  it('never goes below MIN_SLICE nor above the batch', () => {
    const s = new ClaimSizer(true);
    s.measured(1000, 10); // 100 ms per run
    assert.equal(s.limit(5000, true), MIN_SLICE);
    assert.equal(s.limit(10, true), 10);
    const fast = new ClaimSizer(true);
    fast.measured(1, 1000); // 1 µs per run
    assert.equal(fast.limit(3000, true), 3000);
  });

  it('averages the cost per run and ignores empty claims', () => {
    const s = new ClaimSizer(true);
    s.measured(10, 100);
    s.measured(5, 0);
    assert.equal(s.msPerRun, 0.1);
    s.measured(30, 100);
    assert.ok(s.msPerRun! > 0.1 && s.msPerRun! < 0.3, `moved toward the newest: ${s.msPerRun}`);
  });

  it('leaves claims alone on a store that does not run on this thread', () => {
    const s = new ClaimSizer(false);
    s.measured(1000, 10);
    assert.equal(s.limit(5000, true), 5000);
    assert.equal(s.msPerRun, null);
  });
});

describe('the dispatcher with a slow in-process claim', () => {
  const T0 = Date.parse('2026-03-01T00:00:00Z');
  const BATCH = 200;
  /** Busy time added per claimed run, so the measured cost is at least this. */
  const COST_MS = 0.1;
  let h: Harness | undefined;
  let d: Dispatcher | undefined;
  afterEach(async () => {
    await d?.stop(0);
    d = undefined;
    await h?.close();
    h = undefined;
  });

  async function claimLimits(inProcess: boolean): Promise<number[]> {
    const clock = new ManualClock(T0);
    h = await createHarness({ clock });
    const task = await h.createTask({});
    // 1,000 runs due a minute ahead: all inside the lookahead, none due while the test runs.
    for (let i = 0; i < 1000; i++) await h.addRun(task, T0 + 60_000 + i);
    const limits: number[] = [];
    const real = h.store;
    const store = new Proxy(real, {
      get(target, prop) {
        if (prop === 'capabilities') return { ...target.capabilities, inProcess };
        if (prop === 'claimDueRuns') {
          return async (opts: ClaimOptions) => {
            limits.push(opts.limit);
            const got = await target.claimDueRuns(opts);
            const until = performance.now() + got.length * COST_MS;
            while (performance.now() < until); // the thread is busy, as a large claim keeps it
            return got;
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store;
    d = new Dispatcher(
      { node: 'test-node', lookaheadMs: 120_000, pollIntervalMs: 600_000, claimBatch: BATCH, leaseMs: 600_000, maxConcurrentRuns: 1_000 },
      { store, executor: h.executor, clock, bus: h.bus, plan: createOccurrencePlanner(h.planner), planner: h.planner },
    );
    d.start();
    const end = Date.now() + 10_000;
    while (d.load.held < 1000) {
      if (Date.now() > end) assert.fail(`claimed ${d.load.held} of 1000`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return limits;
  }

  it('claims in slices of about SLICE_MS once runs wait in the heap', async () => {
    const limits = await claimLimits(true);
    assert.equal(limits[0], BATCH, 'the first claim: nothing waits yet');
    const later = limits.slice(1, -1);
    assert.ok(later.length > 0, `more claims followed: ${limits.join(', ')}`);
    for (const l of later) assert.ok(l >= MIN_SLICE && l <= SLICE_MS / COST_MS, `a slice of at most ${SLICE_MS / COST_MS} runs: ${limits.join(', ')}`);
  });

  it('claims full batches on a store that does not block this thread', async () => {
    const limits = await claimLimits(false);
    assert.deepEqual(limits.slice(0, 5), [BATCH, BATCH, BATCH, BATCH, BATCH]);
  });
});
