// STUB: owned by the core-domain helper; signatures are fixed, bodies to be written.
import type { Policies } from './types.js';

/** True when an attempt that ended `failed` or `timed_out` leaves attempts for a retry. */
export function hasAttemptsLeft(retry: Policies['retry'], attempt: number): boolean {
  throw new Error(`not implemented: hasAttemptsLeft(${String(retry)}, ${attempt})`);
}

/**
 * Delay before the attempt after `attempt` (1-based): fixed, or exponential from `initialMs`
 * doubling per attempt, capped at `maxMs`; with jitter, "full jitter" on the upper half
 * (random in [d/2, d]). `random` returns [0, 1).
 */
export function retryDelay(retry: Policies['retry'], attempt: number, random: () => number = Math.random): number {
  throw new Error(`not implemented: retryDelay(${String(retry)}, ${attempt}, ${String(random)})`);
}
