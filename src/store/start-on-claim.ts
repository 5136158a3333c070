// Runs that a claim starts at once (ClaimOptions.startDue): a run already due when it is claimed
// has nothing to wait for, so both stores write it `running` in the claim's own statement and
// save the separate start write (one row update per run of three; see docs/benchmarks.md).
import type { Millis, Run } from '../core/types.js';
import type { ClaimOptions, ClaimedRun } from './store.js';

/** The claimed runs (status `queued` in memory) that the caller wants started now; empty without startDue. */
export function chooseStarts(claimed: readonly ClaimedRun[], opts: ClaimOptions): ReadonlySet<ClaimedRun> {
  if (opts.startDue === undefined) return NONE;
  const due = claimed.filter((c) => c.run.status === 'queued' && c.run.scheduledFor <= opts.now);
  return due.length === 0 ? NONE : opts.startDue(due);
}

/** The run as a claim leaves it `queued` (for stores that read the rows before they write them). */
export function asClaimed(run: Run, node: string, now: Millis, leaseUntil: Millis): void {
  run.status = 'queued';
  run.queuedAt = now;
  run.node = node;
  run.leaseUntil = leaseUntil;
  run.leaseEpoch += 1;
  run.updatedAt = now;
}

/** The run as a claim that started it leaves it (the store's write sets the same). */
export function markStartedOnClaim(c: ClaimedRun, now: Millis): void {
  c.run.status = 'running';
  c.run.startedAt = now;
}

const NONE: ReadonlySet<ClaimedRun> = new Set();
