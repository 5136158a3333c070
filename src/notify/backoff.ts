// When a failed delivery is tried again, and when it is given up: exponential from the initial
// wait with jitter (the same arithmetic as task retries), capped at `maxMs` between attempts,
// and dead once the next attempt would fall after `forMs` from the notification's commit.
import { retryDelay } from '../core/retry.js';
import type { Millis } from '../core/types.js';

export interface RetrySchedule {
  initialMs: number;
  maxMs: number;
  forMs: number;
}

/** The time of the next attempt after `attemptCount` failed ones, or null when it is time to give up. */
export function nextAttemptAt(s: RetrySchedule, createdAt: Millis, attemptCount: number, now: Millis, random: () => number = Math.random): Millis | null {
  const delay = retryDelay({ maxAttempts: Number.MAX_SAFE_INTEGER, backoff: { type: 'exponential', initialMs: s.initialMs, maxMs: s.maxMs, jitter: true } }, attemptCount, random);
  const at = now + delay;
  return at > createdAt + s.forMs ? null : at;
}
