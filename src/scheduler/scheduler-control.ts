// What the API's services may ask of the local scheduler.
import type { Millis } from '../core/types.js';

export interface SchedulerControl {
  /** A run became due at `dueAt` (created, rescheduled, retried): look sooner than the next poll. */
  wake(dueAt: Millis): void;
  /** Stops a run this node is executing (cancel). Returns false when it does not hold the run. */
  cancelRunning(runId: string): boolean;
  /** Drops a queued run from the in-memory timer heap (cancelled or rescheduled before it started). */
  forget(runId: string): void;
}
