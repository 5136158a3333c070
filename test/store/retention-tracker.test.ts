// RetentionTracker: which tasks the per-task limit counts, and when (pure bookkeeping, no database).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetentionTracker, type TrackerStep } from '../../src/store/retention-tracker.js';

const T0 = Date.UTC(2026, 0, 1);
const MARGIN = 60_000;

/** Takes the steps up to the first check or idle, answering passes with `tasks` and windows with `finished`. */
function walk(
  t: RetentionTracker,
  now: number,
  answers: { tasks?: string[]; finished?: Record<string, number> } = {},
): TrackerStep[] {
  const steps: TrackerStep[] = [];
  for (let i = 0; i < 20; i++) {
    const step = t.next(now);
    steps.push(step);
    if (step.kind === 'pass') t.passRead(step, step.after === null ? (answers.tasks ?? []) : []);
    else if (step.kind === 'window') {
      const counts = Object.entries(answers.finished ?? {}).map(([taskId, n]) => ({ taskId, n }));
      t.windowRead(step, counts, false, null);
    } else return steps;
  }
  return steps;
}

describe('RetentionTracker', () => {
  it('first walks every task id once (the pass), counting each', () => {
    const t = new RetentionTracker(100, { passTasks: 5 });
    const steps = walk(t, T0, { tasks: ['a', 'b'] });
    assert.deepEqual(steps, [
      { kind: 'pass', after: null, tasks: 5 },
      { kind: 'check', taskId: 'a' },
    ]);
    t.checked('a', 40, true);
    assert.deepEqual(t.next(T0), { kind: 'check', taskId: 'b' });
    t.checked('b', 100, true);
    // The pass ended (fewer ids than asked), and no window is due yet.
    assert.deepEqual(t.next(T0), { kind: 'idle' });
  });

  it('counts a known task again only once windows say it passed keep + slack (a tenth of keep)', () => {
    const t = new RetentionTracker(100);
    walk(t, T0, { tasks: ['a'] });
    t.checked('a', 100, true);
    assert.equal(t.slack, 10);
    // 10 more finishes: within the slack.
    assert.deepEqual(t.next(T0 + 30_000), { kind: 'window', from: T0 - MARGIN, to: T0 + 30_000 - MARGIN, rows: 5000 });
    assert.deepEqual(walk(t, T0 + 30_000, { finished: { a: 10 } }).at(-1), { kind: 'idle' });
    // One more: now it is counted.
    assert.deepEqual(walk(t, T0 + 60_000, { finished: { a: 1 } }).at(-1), { kind: 'check', taskId: 'a' });
  });

  it('counts a task it has not seen as soon as a window shows it finishing runs', () => {
    const t = new RetentionTracker(100);
    walk(t, T0);
    assert.deepEqual(walk(t, T0 + 10_000, { finished: { fresh: 1 } }).at(-1), { kind: 'check', taskId: 'fresh' });
  });

  it('windows trail now by the margin, follow on from each other, and restart when the clock goes back', () => {
    const t = new RetentionTracker(10);
    walk(t, T0);
    const w1 = t.next(T0 + 5000);
    assert.deepEqual(w1, { kind: 'window', from: T0 - MARGIN, to: T0 + 5000 - MARGIN, rows: 5000 });
    t.windowRead(w1 as Extract<TrackerStep, { kind: 'window' }>, [], false, null);
    assert.deepEqual(t.next(T0 + 9000), { kind: 'window', from: T0 + 5000 - MARGIN, to: T0 + 9000 - MARGIN, rows: 5000 });
    // A window that came back full goes on from the last finish it read (counted twice at worst).
    const w2 = t.next(T0 + 9000) as Extract<TrackerStep, { kind: 'window' }>;
    t.windowRead(w2, [], true, T0 + 7000 - MARGIN);
    assert.equal((t.next(T0 + 9000) as Extract<TrackerStep, { kind: 'window' }>).from, T0 + 7000 - MARGIN);
    // The clock went back an hour: windows start again from there.
    assert.deepEqual(t.next(T0 - 3_600_000), { kind: 'idle' });
    assert.deepEqual(t.next(T0 - 3_590_000), { kind: 'window', from: T0 - 3_600_000 - MARGIN, to: T0 - 3_590_000 - MARGIN, rows: 5000 });
  });

  it('keeps a task first in line, with its cutoff, while its trim spans calls; the age limit forgets the cutoff', () => {
    const t = new RetentionTracker(5);
    walk(t, T0, { tasks: ['a', 'b'] });
    t.checked('a', 9, false, { sf: T0, id: 'x' });
    assert.deepEqual(t.next(T0), { kind: 'check', taskId: 'a' });
    assert.deepEqual(t.cutOf('a'), { sf: T0, id: 'x' });
    t.deletedElsewhere('a', 1);
    assert.equal(t.cutOf('a'), null);
    t.checked('a', 5, true);
    assert.deepEqual(t.next(T0), { kind: 'check', taskId: 'b' });
  });

  it('has no slack below 10: small limits are exact', () => {
    assert.equal(new RetentionTracker(9).slack, 0);
    assert.equal(new RetentionTracker(0).slack, 0);
    assert.equal(new RetentionTracker(10_000).slack, 1000);
  });
});
