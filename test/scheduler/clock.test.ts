// The dispatcher against a wall clock that jumps: schedules months away, clocks set back and
// forward. Time is a ManualClock; timers are real, so these tests also prove that no timer is
// ever armed past Node's 2^31 ms limit (which would fire it at once).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness | undefined;
const warnings: Error[] = [];
process.on('warning', (w) => warnings.push(w));
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const T0 = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;

/** Lets the claim loop (50 ms poll in the harness) go round a few times. */
const fewPolls = (): Promise<void> => new Promise((r) => setTimeout(r, 250));

describe('dispatcher and the wall clock', () => {
  it('fires a schedule months away on time, with no timer overflow', async () => {
    const clock = new ManualClock(T0);
    h = await createHarness({ clock });
    const at = T0 + 90 * DAY;
    const task = await h.createTask({ schedule: { type: 'once', at: new Date(at).toISOString() } });
    await h.scheduler.start();
    await fewPolls();
    assert.equal(h.executor.jobs.length, 0, 'nothing runs months early');
    assert.equal(h.scheduler.dispatcher.load.held, 0, 'nothing is claimed months ahead');
    clock.set(at - 300);
    h.scheduler.dispatcher.wake(at);
    await h.waitFor((t) => t.taskId === task.id && t.to === 'queued');
    assert.equal(h.executor.jobs.length, 0, 'claimed ahead, not started early');
    clock.set(at);
    const [ran] = await h.waitFor((t) => t.taskId === task.id && t.to === 'running');
    assert.equal(ran!.startedAt! - ran!.scheduledFor, 0);
    assert.deepEqual(warnings.filter((w) => w.name === 'TimeoutOverflowWarning'), []);
  });

  it('a clock set back does not fire an occurrence again; set forward, the next fires once', async () => {
    const clock = new ManualClock(T0);
    h = await createHarness({ clock });
    const task = await h.createTask({ schedule: { type: 'interval', every: '1m', startAt: new Date(T0 + 60_000).toISOString() } });
    await h.scheduler.start();
    clock.set(T0 + 60_000);
    h.scheduler.dispatcher.wake(clock.now());
    await h.waitFor((t) => t.taskId === task.id && t.to === 'succeeded');
    clock.set(T0 - 10 * 60_000); // ten minutes back
    h.scheduler.dispatcher.wake(clock.now());
    await fewPolls();
    assert.equal(h.executor.jobs.length, 1, 'going back in time replays nothing');
    clock.set(T0 + 120_000);
    h.scheduler.dispatcher.wake(clock.now());
    await h.waitFor((t) => t.taskId === task.id && t.to === 'succeeded', 2);
    await fewPolls();
    assert.deepEqual(
      h.executor.jobs.map((j) => j.scheduledFor),
      [T0 + 60_000, T0 + 120_000],
    );
  });

  it('a clock jumping an hour forward runs the missed occurrences per the misfire policy, once', async () => {
    const clock = new ManualClock(T0);
    h = await createHarness({ clock });
    const task = await h.createTask({
      schedule: { type: 'interval', every: '1m', startAt: new Date(T0 + 60_000).toISOString() },
      policies: { misfire: { policy: 'run_once', catchupWindowMs: 3_600_000 } },
    });
    await h.scheduler.start();
    clock.set(T0 + 3_600_000 + 30_000);
    h.scheduler.dispatcher.wake(clock.now());
    await h.waitFor((t) => t.taskId === task.id && t.to === 'succeeded');
    await h.scheduler.dispatcher.idle();
    await fewPolls();
    const runs = (await h.store.listRuns({ namespaces: '*', taskId: task.id, limit: 500 })).items;
    const ran = runs.filter((r) => r.status === 'succeeded');
    const skipped = runs.filter((r) => r.status === 'skipped' && r.reason === 'misfire');
    assert.equal(ran.length, 1, 'run_once: one catch-up run');
    assert.equal(skipped.length, 59, 'the other missed occurrences are on record as skipped');
    assert.equal(h.executor.jobs.length, 1);
    const pending = runs.filter((r) => r.status === 'scheduled');
    assert.deepEqual(pending.map((r) => r.scheduledFor), [T0 + 61 * 60_000], 'the next occurrence is the next one after now');
  });
});
