import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENESS_BOUNDS_MS, latenessPercentile, type LatenessBucket } from '../../src/core/lateness.js';

/** The histogram of `values` as a store would count it. */
function histogram(values: number[]): LatenessBucket[] {
  const out: LatenessBucket[] = [];
  for (const v of values) {
    const i = LATENESS_BOUNDS_MS.findIndex((bound) => v <= bound);
    const bucket = i === -1 ? LATENESS_BOUNDS_MS.length : i;
    const hit = out.find((b) => b.bucket === bucket);
    if (hit) {
      hit.n++;
      hit.maxMs = Math.max(hit.maxMs, v);
    } else out.push({ bucket, n: 1, maxMs: v });
  }
  return out.reverse(); // any order
}

test('the bounds rise from 1 ms to 10 minutes in steps of at most 2.5', () => {
  assert.equal(LATENESS_BOUNDS_MS[0], 1);
  assert.equal(LATENESS_BOUNDS_MS[LATENESS_BOUNDS_MS.length - 1], 600_000);
  assert.ok(LATENESS_BOUNDS_MS.length >= 20 && LATENESS_BOUNDS_MS.length <= 30);
  for (let i = 1; i < LATENESS_BOUNDS_MS.length; i++) {
    const ratio = LATENESS_BOUNDS_MS[i]! / LATENESS_BOUNDS_MS[i - 1]!;
    assert.ok(ratio > 1 && ratio <= 2.5, `${LATENESS_BOUNDS_MS[i - 1]} → ${LATENESS_BOUNDS_MS[i]}`);
  }
});

test('a percentile is the upper bound of its bucket (nearest rank), capped at the largest value in it', () => {
  assert.equal(latenessPercentile([], 0.5), null);
  assert.equal(latenessPercentile([{ bucket: 3, n: 0, maxMs: 0 }], 0.5), null);
  // 60 and 70 share the (50, 75] bucket: its bound 75 is capped at 70.
  const h = histogram([0, 2, 2, 40, 60, 70, 400, 800, 900, 1_000_000]);
  assert.equal(latenessPercentile(h, 0.1), 0);
  assert.equal(latenessPercentile(h, 0.2), 2);
  assert.equal(latenessPercentile(h, 0.5), 70);
  assert.equal(latenessPercentile(h, 0.7), 400);
  assert.equal(latenessPercentile(h, 0.8), 900, '(750, 1000]: 800 and 900, capped at 900');
  // The open bucket past 10 minutes reports its largest value.
  assert.equal(latenessPercentile(h, 0.99), 1_000_000);
  assert.equal(latenessPercentile(h, 1), 1_000_000);
});

test('the estimate is never below the exact percentile and less than one bucket step above it', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let round = 0; round < 200; round++) {
    const values = Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(Math.exp(rnd() * 13)));
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [0.5, 0.99]) {
      const exact = sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
      const estimate = latenessPercentile(histogram(values), p)!;
      assert.ok(estimate >= exact, `p${p * 100}: ${estimate} < ${exact}`);
      assert.ok(estimate <= Math.max(1, exact * 2.5), `p${p * 100}: ${estimate} is far above ${exact}`);
    }
  }
});
