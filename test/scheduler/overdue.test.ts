// The dispatcher reports a timer that fired more than 100 ms after the time it was armed for
// (`scheduler:tick:overdue`), whether the wall clock jumped or the event loop was blocked; the
// metrics count it. A timer on time, or at most 100 ms late, is not reported.
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { ManualClock, systemClock } from '../../src/core/clock.js';
import type { SundialEvents } from '../../src/core/events.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createHarness, type Harness } from './harness.js';

type Overdue = SundialEvents['scheduler:tick:overdue'];

const T0 = Date.parse('2026-03-01T00:00:00Z');

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A harness on `clock`, recording overdue events, with one task. */
async function setup(clock: ManualClock | typeof systemClock) {
  h = await createHarness({ clock });
  const overdue: Overdue[] = [];
  h.bus.on('scheduler:tick:overdue', (e) => overdue.push(e));
  const task = await h.createTask({});
  await h.scheduler.start();
  return { h, overdue, task };
}

it('a clock that jumps past the armed time is reported with the time expected and the time fired; the run still starts', async () => {
  const clock = new ManualClock(T0);
  const { h, overdue, task } = await setup(clock);
  const due = T0 + 200;
  const run = await h.addRun(task, due);
  // Claimed ahead: the timer is now armed for `due` (200 ms of real time away).
  await h.waitFor((t) => t.runId === run.id && t.to === 'queued');
  clock.set(due + 400);
  const [started] = await h.waitFor((t) => t.runId === run.id && t.to === 'running');
  assert.deepEqual(overdue, [{ expectedAt: due, firedAt: due + 400 }]);
  assert.equal(started!.startedAt, due + 400);
});

it('a timer at most 100 ms late is not reported', async () => {
  const clock = new ManualClock(T0);
  const { h, overdue, task } = await setup(clock);
  const due = T0 + 200;
  const run = await h.addRun(task, due);
  await h.waitFor((t) => t.runId === run.id && t.to === 'queued');
  clock.set(due + 100);
  await h.waitFor((t) => t.runId === run.id && t.to === 'running');
  assert.deepEqual(overdue, []);

  // One more millisecond is too late.
  const next = await h.addRun(task, due + 300);
  await h.waitFor((t) => t.runId === next.id && t.to === 'queued');
  clock.set(due + 300 + 101);
  await h.waitFor((t) => t.runId === next.id && t.to === 'running');
  assert.deepEqual(overdue, [{ expectedAt: due + 300, firedAt: due + 401 }]);
});

it('an event loop blocked past the armed time is reported (real clock), and counted by the metrics', async () => {
  const { h, overdue, task } = await setup(systemClock);
  const registry = createMetrics({ bus: h.bus, store: h.store, clock: systemClock, load: () => h.scheduler.dispatcher.load });
  const count = async (): Promise<number> => (await registry.getSingleMetric('sundial_scheduler_overdue_ticks_total')!.get()).values[0]?.value ?? 0;
  assert.equal(await count(), 0);

  // Far enough ahead that the claim (every 50 ms) holds it rather than starting it on the spot.
  const due = Date.now() + 500;
  const run = await h.addRun(task, due);
  await h.waitFor((t) => t.runId === run.id && t.to === 'queued');
  assert.equal(overdue.length, 0);
  // Block the event loop until well past the due time: the timer cannot fire meanwhile.
  const blockUntil = due + 400;
  while (Date.now() < blockUntil) {
    /* busy */
  }
  await h.waitFor((t) => t.runId === run.id && t.to === 'running');
  assert.equal(overdue.length, 1);
  assert.ok(overdue[0]!.expectedAt <= due, 'armed for the due time');
  assert.ok(overdue[0]!.firedAt - overdue[0]!.expectedAt >= 300, `late by ${overdue[0]!.firedAt - overdue[0]!.expectedAt} ms`);
  assert.equal(await count(), 1);
});
