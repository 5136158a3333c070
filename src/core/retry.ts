// Retry arithmetic: whether another attempt is allowed, and how long to wait before it.
import type { Policies } from './types.js';

/** True when an attempt that ended `failed` or `timed_out` leaves attempts for a retry. */
export function hasAttemptsLeft(retry: Policies['retry'], attempt: number): boolean {
  return attempt < retry.maxAttempts;
}

/**
 * Delay before the attempt after `attempt` (1-based): fixed, or exponential from `initialMs`
 * doubling per attempt, capped at `maxMs`; with jitter, "full jitter" on the upper half
 * (random in [d/2, d]). `random` returns [0, 1).
 */
export function retryDelay(retry: Policies['retry'], attempt: number, random: () => number = Math.random): number {
  const { type, initialMs, maxMs, jitter } = retry.backoff;
  const n = Math.max(1, Math.floor(attempt));
  // 2^52 already exceeds any cap; stopping there keeps the product finite (0·∞ would be NaN).
  const factor = type === 'fixed' ? 1 : 2 ** Math.min(n - 1, 52);
  const d = Math.min(maxMs, initialMs * factor);
  if (!jitter || d <= 0) return Math.round(d);
  // Half fixed, half random: retries spread out without ever coming back almost at once.
  const half = d / 2;
  return Math.floor(half + random() * (d - half));
}
