// The dispatcher's bound on claimed-but-not-started runs (maxHeld): at the bound the claim loop
// stops claiming, and it claims again as soon as half of the held runs have started (not at the
// next poll). A dispatcher of its own on the harness's SQLite store, with a ManualClock that decides
// when held runs fall due, and a poll interval far longer than the test so that only the
// "half started" wake-up can resume the loop.
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { createOccurrencePlanner } from '../../src/core/planner.js';
import { Dispatcher } from '../../src/scheduler/dispatcher.js';
import type { ClaimOptions, Store } from '../../src/store/store.js';
import { createHarness, type Harness } from './harness.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const MAX_HELD = 40;
const BATCH = 15;

let h: Harness | undefined;
let d: Dispatcher | undefined;
afterEach(async () => {
  await d?.stop(0);
  d = undefined;
  await h?.close();
  h = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

it('holds at most maxHeld claimed runs, waits at the bound, and claims again once half have started', async () => {
  const clock = new ManualClock(T0);
  h = await createHarness({ clock });
  const task = await h.createTask({});
  // 100 runs, one due every millisecond from T0 + 100: all within the lookahead, none due yet.
  const runs = [];
  for (let i = 0; i < 100; i++) runs.push(await h.addRun(task, T0 + 100 + i));

  // Every claim: the limit asked for, and how many runs the dispatcher held right after it.
  const claims: { limit: number; got: number }[] = [];
  const heldAfter: number[] = [];
  const real = h.store;
  const store = new Proxy(real, {
    get(target, prop) {
      if (prop === 'claimDueRuns') {
        return async (opts: ClaimOptions) => {
          const got = await target.claimDueRuns(opts);
          claims.push({ limit: opts.limit, got: got.length });
          // The dispatcher takes them in right after this resolves.
          setImmediate(() => heldAfter.push(d!.load.held));
          return got;
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Store;
  d = new Dispatcher(
    { node: 'test-node', lookaheadMs: 60_000, pollIntervalMs: 600_000, claimBatch: BATCH, leaseMs: 600_000, maxConcurrentRuns: 1_000, maxHeld: MAX_HELD },
    { store, executor: h.executor, clock, bus: h.bus, plan: createOccurrencePlanner(h.planner), planner: h.planner },
  );
  d.start();

  // Claims until the bound: 15 + 15 + 10 (the room left), then it waits.
  await until('the bound', () => d!.load.held === MAX_HELD);
  await sleep(150);
  assert.deepEqual(
    claims.map((c) => c.limit),
    [BATCH, BATCH, MAX_HELD - 2 * BATCH],
    'never asks for more than the room left',
  );
  assert.equal(d.load.held, MAX_HELD);
  assert.equal(h.executor.jobs.length, 0, 'nothing is due yet');

  // 19 of the 40 fall due and start: 21 held is still more than half, so it keeps waiting.
  clock.set(T0 + 100 + 18);
  await h.executor.started(19);
  await until('the starts', () => d!.load.held === MAX_HELD - 19);
  await sleep(150);
  assert.equal(claims.length, 3, 'no claim while more than half of the bound is held');

  // The 20th start brings it to half: the loop claims again at once (the poll is 10 minutes
  // away), as much as the room allows, and stops at the bound again.
  clock.set(T0 + 100 + 19);
  await until('the claims after half started', () => claims.length === 5 && d!.load.held === MAX_HELD);
  await sleep(150);
  assert.deepEqual(
    claims.map((c) => c.limit),
    [BATCH, BATCH, MAX_HELD - 2 * BATCH, BATCH, MAX_HELD - MAX_HELD / 2 - BATCH],
  );
  assert.equal(claims.length, 5, 'waits at the bound again');
  assert.ok(
    heldAfter.every((n) => n <= MAX_HELD),
    `held never above the bound: ${heldAfter.join(', ')}`,
  );
  // What started: the 20 runs due first, in due order.
  assert.deepEqual(
    h.executor.jobs.map((j) => j.runId),
    runs.slice(0, 20).map((r) => r.id),
  );
});

it('the default bound is the larger of 10,000 and twice maxConcurrentRuns', async () => {
  const clock = new ManualClock(T0);
  h = await createHarness({ clock });
  const task = await h.createTask({});
  for (let i = 0; i < 5; i++) await h.addRun(task, T0 + 100 + i);
  const limits: number[] = [];
  const real = h.store;
  const store = new Proxy(real, {
    get(target, prop) {
      if (prop === 'claimDueRuns') {
        return (opts: ClaimOptions) => {
          limits.push(opts.limit);
          return target.claimDueRuns(opts);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Store;
  const deps = { store, executor: h.executor, clock, bus: h.bus, plan: createOccurrencePlanner(h.planner), planner: h.planner };
  const opts = { node: 'test-node', lookaheadMs: 60_000, pollIntervalMs: 600_000, claimBatch: 100_000, leaseMs: 600_000 };
  // The claim limit is the room left under the bound (capped by claimBatch, here larger).
  d = new Dispatcher({ ...opts, maxConcurrentRuns: 8_000 }, deps);
  d.start();
  await until('a claim', () => limits.length >= 1);
  assert.equal(limits[0], 16_000);
  await d.stop(0);
  d = new Dispatcher({ ...opts, maxConcurrentRuns: 100 }, deps);
  d.start();
  await until('a claim', () => limits.length >= 2);
  assert.equal(limits[1], 10_000);
});
