import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasAttemptsLeft, retryDelay } from '../../src/core/retry.js';
import type { Policies } from '../../src/core/types.js';

function retry(over: Partial<Policies['retry']['backoff']> = {}, maxAttempts = 5): Policies['retry'] {
  return { maxAttempts, backoff: { type: 'exponential', initialMs: 1000, maxMs: 10_000, jitter: false, ...over } };
}

test('hasAttemptsLeft is attempt < maxAttempts', () => {
  assert.equal(hasAttemptsLeft(retry({}, 1), 1), false);
  assert.equal(hasAttemptsLeft(retry({}, 3), 1), true);
  assert.equal(hasAttemptsLeft(retry({}, 3), 2), true);
  assert.equal(hasAttemptsLeft(retry({}, 3), 3), false);
  assert.equal(hasAttemptsLeft(retry({}, 3), 4), false);
});

test('exponential backoff doubles from initial and stops at max', () => {
  const r = retry();
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((a) => retryDelay(r, a)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
});

test('fixed backoff waits initial every time', () => {
  const r = retry({ type: 'fixed', initialMs: 1500 });
  assert.deepEqual([1, 2, 10].map((a) => retryDelay(r, a)), [1500, 1500, 1500]);
});

test('jitter picks from the upper half [d/2, d)', () => {
  const r = retry({ jitter: true });
  assert.equal(retryDelay(r, 1, () => 0), 500);
  assert.equal(retryDelay(r, 1, () => 0.5), 750);
  assert.equal(retryDelay(r, 3, () => 0.999999), 3999);
  assert.equal(retryDelay(r, 10, () => 0), 5000);
  for (let i = 0; i < 200; i++) {
    const d = retryDelay(r, 2, Math.random);
    assert.ok(d >= 1000 && d <= 2000, String(d));
  }
});

test('huge attempt numbers and a zero initial stay finite', () => {
  assert.equal(retryDelay(retry(), 5000), 10_000);
  assert.equal(retryDelay(retry({ initialMs: 0 }), 5000), 0);
  assert.equal(retryDelay(retry({ initialMs: 0, jitter: true }), 3, () => 0.7), 0);
});
