// The lateness histogram behind the per-minute run stats: how late runs started
// (startedAt − scheduledFor), counted in roughly log-spaced buckets. The store counts runs per
// bucket (in SQL, for a PostgreSQL store as well); percentiles are read off the counts here.

import type { Millis } from './types.js';

/**
 * Upper bounds (inclusive, ms) of the buckets, roughly log-spaced (about five per decade, each
 * 1.33–2.5 times the one before) from 1 ms to 10 minutes. Bucket `i` holds lateness ≤ LATENESS_BOUNDS_MS[i] (and above the bound
 * before it); one more bucket, index LATENESS_BOUNDS_MS.length, holds everything later.
 */
export const LATENESS_BOUNDS_MS: readonly Millis[] = [
  1, 2, 3, 5, 10, 15, 25, 50, 75, 100, 150, 250, 500, 750, 1000, 1500, 2500, 5000, 7500, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
  600_000,
];

/** One bucket of a lateness histogram: its index, how many runs it holds and the latest of them. */
export interface LatenessBucket {
  bucket: number;
  n: number;
  /** The largest lateness among the bucket's runs. */
  maxMs: Millis;
}

/**
 * The `p` percentile (0 < p ≤ 1, nearest rank) of a histogram, or null when it holds no run.
 * The answer is the upper bound of the bucket the percentile falls in, capped at the largest
 * lateness seen in that bucket: never below the true value, less than one bucket step (1.33–2.5×)
 * above it, and exact when the bucket's runs were all equally late (the last, open bucket
 * reports its largest value).
 */
export function latenessPercentile(histogram: readonly LatenessBucket[], p: number): Millis | null {
  const buckets = [...histogram].filter((b) => b.n > 0).sort((a, b) => a.bucket - b.bucket);
  const total = buckets.reduce((sum, b) => sum + b.n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const b of buckets) {
    seen += b.n;
    if (seen >= rank) return Math.min(LATENESS_BOUNDS_MS[b.bucket] ?? Infinity, b.maxMs);
  }
  return buckets[buckets.length - 1]!.maxMs;
}
