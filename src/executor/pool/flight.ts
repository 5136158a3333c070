// One run a worker pool has accepted and not yet answered: where it is (queued, or on which
// child), its deadline, and once its status is decided, when its child is killed if it has not
// settled.

import type { LogLine } from '../../core/types.js';
import type { RunJob, RunOutcome } from '../executor.js';
import type { PoolChild } from './pool-child.js';
import type { PoolTypes } from './worker-pool.js';

/** A status the pool decided before the child reported an ending. */
export type Ending = 'timed_out' | 'cancelled';

export class Flight<P extends PoolTypes> {
  /**
   * performance.now() by which the run must have ended. With `timeoutFromStart` this first bounds
   * the wait in the queue, and starts again in full when a child first takes the run.
   */
  deadline: number;
  /** Once ending: when its child is killed if the run has not settled. */
  killAt = Infinity;
  /** Set once the deadline passed or the run was cancelled: the status is decided. */
  ending: Ending | null = null;
  /** The child running it; null while it waits in the pool's queue. */
  child: PoolChild<P> | null = null;
  /** A child has taken it at least once. */
  started = false;
  done = false;
  /** Lines streamed before the end, kept for the outcome when the pool has no log sink. */
  lines: LogLine[] | null = null;

  constructor(
    readonly job: RunJob,
    readonly wire: P['run'],
    readonly resolve: (outcome: RunOutcome) => void,
    now: number,
  ) {
    this.deadline = now + Math.max(0, job.timeoutMs);
  }
}
