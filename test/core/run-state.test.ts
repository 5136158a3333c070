import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canTransition, isTerminal, RUN_TRANSITIONS } from '../../src/core/run-state.js';
import { RUN_STATUSES, type RunStatus } from '../../src/core/types.js';

const ALLOWED: Record<RunStatus, RunStatus[]> = {
  scheduled: ['queued', 'cancelled', 'skipped'],
  queued: ['running', 'scheduled', 'cancelled', 'skipped', 'failed'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'scheduled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  skipped: [],
};

test('canTransition follows the DESIGN table for every pair of statuses', () => {
  for (const from of RUN_STATUSES) {
    for (const to of RUN_STATUSES) {
      assert.equal(canTransition(from, to), ALLOWED[from].includes(to), `${from} → ${to}`);
    }
  }
});

test('staying in the same status is not a transition', () => {
  for (const s of RUN_STATUSES) assert.equal(canTransition(s, s), false, s);
});

test('terminal statuses have no way out, and only they are terminal', () => {
  for (const s of RUN_STATUSES) {
    assert.equal(isTerminal(s), RUN_TRANSITIONS[s].length === 0, s);
  }
  assert.deepEqual(
    RUN_STATUSES.filter((s) => isTerminal(s)),
    ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'],
  );
});

test('every status reaches a terminal one', () => {
  for (const s of RUN_STATUSES) {
    const seen = new Set<RunStatus>([s]);
    const queue: RunStatus[] = [s];
    while (queue.length > 0) {
      for (const n of RUN_TRANSITIONS[queue.shift()!]) {
        if (!seen.has(n)) {
          seen.add(n);
          queue.push(n);
        }
      }
    }
    assert.ok([...seen].some((x) => isTerminal(x)), s);
  }
});
