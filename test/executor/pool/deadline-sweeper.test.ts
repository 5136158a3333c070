// The deadline sweeper on a fake clock and a fake timer: when it arms, what a sweep expires and
// kills, and that it re-arms at the earliest deadline left.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineSweeper, SWEEP_MIN_GAP_MS, type SweepTimers } from '../../../src/executor/pool/deadline-sweeper.js';

/** A clock that moves only when told, and the one timer the sweeper may hold. */
class FakeTimers implements SweepTimers {
  time = 1000;
  timer: { fn: () => void; at: number; id: number } | null = null;
  /** Every delay the sweeper asked for, in order. */
  readonly delays: number[] = [];
  cleared = 0;
  #seq = 0;

  now(): number {
    return this.time;
  }

  set(fn: () => void, ms: number): unknown {
    assert.equal(this.timer, null, 'the sweeper holds at most one timer');
    this.delays.push(ms);
    this.timer = { fn, at: this.time + ms, id: ++this.#seq };
    return this.timer.id;
  }

  clear(handle: unknown): void {
    if (this.timer?.id === handle) {
      this.timer = null;
      this.cleared++;
    }
  }

  /** Moves the clock to `to`, firing the timer on the way (it may re-arm). */
  advance(to: number): void {
    while (this.timer !== null && this.timer.at <= to) {
      const t = this.timer;
      this.timer = null;
      this.time = t.at;
      t.fn();
    }
    this.time = to;
  }
}

interface Run {
  name: string;
  deadline: number;
  killAt: number;
  ending: string | null;
  done: boolean;
}

function run(name: string, deadline: number): Run {
  return { name, deadline, killAt: Infinity, ending: null, done: false };
}

/** A pool of plain runs: expiring starts a grace of `graceMs` (or ends the run when `endOnExpire`). */
function harness(graceMs = 100, endOnExpire = false) {
  const timers = new FakeTimers();
  const runs: Run[] = [];
  const expired: string[] = [];
  const killed: string[] = [];
  const sweeper: DeadlineSweeper<Run> = new DeadlineSweeper<Run>(
    {
      forEachFlight: (visit) => runs.forEach(visit),
      expire: (r) => {
        expired.push(r.name);
        r.ending = 'timed_out';
        if (endOnExpire) {
          r.done = true;
          return;
        }
        r.killAt = timers.now() + graceMs;
        sweeper.arm(r.killAt);
      },
      kill: (r) => {
        killed.push(r.name);
        r.done = true;
      },
    },
    timers,
  );
  const add = (name: string, timeoutMs: number): Run => {
    const r = run(name, timers.now() + timeoutMs);
    runs.push(r);
    sweeper.arm(r.deadline);
    return r;
  };
  return { timers, runs, expired, killed, sweeper, add };
}

describe('deadline sweeper', () => {
  it('arms one timer at the first deadline; later deadlines do not touch it', () => {
    const h = harness();
    h.add('a', 500);
    h.add('b', 800);
    h.add('c', 600);
    assert.deepEqual(h.timers.delays, [500]);
    assert.equal(h.timers.cleared, 0);
  });

  it('an earlier deadline re-arms the timer earlier', () => {
    const h = harness();
    h.add('a', 500);
    h.add('b', 200);
    assert.deepEqual(h.timers.delays, [500, 200]);
    assert.equal(h.timers.cleared, 1);
    assert.equal(h.timers.timer?.at, 1200);
  });

  it('expires what reached its deadline, leaves the rest, and re-arms at the earliest left', () => {
    const h = harness(100, true);
    h.add('a', 500);
    h.add('b', 500);
    h.add('c', 2000);
    h.timers.advance(1500);
    assert.deepEqual(h.expired, ['a', 'b']);
    assert.equal(h.timers.timer?.at, 3000, 're-armed for c');
    h.timers.advance(3000);
    assert.deepEqual(h.expired, ['a', 'b', 'c']);
    assert.equal(h.timers.timer, null, 'nothing left: no timer');
  });

  it('a deadline within 1 ms counts as reached (timers fire on whole milliseconds)', () => {
    const h = harness(100, true);
    h.add('a', 500);
    h.add('b', 500.8);
    h.timers.advance(1500);
    assert.deepEqual(h.expired, ['a', 'b']);
  });

  it('kills a run that outlives its grace after expiring, and not before', () => {
    const h = harness(100);
    h.add('hung', 500);
    h.timers.advance(1500);
    assert.deepEqual(h.expired, ['hung']);
    assert.deepEqual(h.killed, []);
    assert.equal(h.timers.timer?.at, 1600, 'armed at the end of the grace');
    h.timers.advance(1599);
    assert.deepEqual(h.killed, []);
    h.timers.advance(1600);
    assert.deepEqual(h.killed, ['hung']);
  });

  it('a run that settled in its grace is not killed', () => {
    const h = harness(100);
    const r = h.add('polite', 500);
    h.timers.advance(1500);
    r.done = true;
    h.timers.advance(2000);
    assert.deepEqual(h.killed, []);
  });

  it('a run already ending (cancelled) is not expired again; only its grace is watched', () => {
    const h = harness(100);
    const r = h.add('cancelled', 5000);
    r.ending = 'cancelled';
    r.killAt = h.timers.now() + 100;
    h.sweeper.arm(r.killAt);
    h.timers.advance(1100);
    assert.deepEqual(h.expired, []);
    assert.deepEqual(h.killed, ['cancelled']);
  });

  it('sweeps at most every SWEEP_MIN_GAP_MS, however close the deadlines', () => {
    const h = harness(100, true);
    h.add('a', 1);
    h.timers.advance(1001);
    assert.deepEqual(h.expired, ['a']);
    h.add('b', 1);
    assert.equal(h.timers.timer?.at, 1001 + SWEEP_MIN_GAP_MS, 'held back to the minimum gap');
    h.timers.advance(1001 + SWEEP_MIN_GAP_MS);
    assert.deepEqual(h.expired, ['a', 'b']);
  });

  it('a deadline past setTimeout\'s limit arms the longest delay and re-arms on the way', () => {
    const h = harness(100, true);
    h.add('far', 2 ** 32);
    assert.deepEqual(h.timers.delays, [2 ** 31 - 1]);
    h.timers.advance(1000 + 2 ** 31 - 1);
    assert.deepEqual(h.expired, []);
    assert.ok(h.timers.timer !== null && h.timers.timer.at <= 1000 + 2 ** 32, 're-armed on the way');
    h.timers.advance(1000 + 2 ** 32 + SWEEP_MIN_GAP_MS);
    assert.deepEqual(h.expired, ['far']);
  });

  it('stop() drops the timer; arming again works', () => {
    const h = harness(100, true);
    h.add('a', 500);
    h.sweeper.stop();
    assert.equal(h.timers.timer, null);
    h.timers.advance(5000);
    assert.deepEqual(h.expired, []);
    h.sweeper.arm(h.timers.now() + 10);
    h.timers.advance(5010);
    assert.deepEqual(h.expired, ['a']);
  });

  it('uses real timers by default and never keeps the process alive', async () => {
    let expired = 0;
    const f = { deadline: performance.now() + 20, killAt: Infinity, ending: null as string | null, done: false };
    const sweeper = new DeadlineSweeper<typeof f>({
      forEachFlight: (visit) => visit(f),
      expire: () => {
        expired++;
        f.done = true;
      },
      kill: () => {},
    });
    sweeper.arm(f.deadline);
    // An unref'd timer: without this one the test would still end; with it, it waits for the sweep.
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(expired, 1);
    sweeper.stop();
  });
});
