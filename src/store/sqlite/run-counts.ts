// Counts of finished runs per namespace and status, kept in `run_counts` by the writes that
// finish runs, in their own transaction. Counting the runs table instead is a full scan (~200 ms
// per million runs, and history only grows) on every metrics scrape; an index or trigger that
// keeps the count costs 2–3 µs on every status change of the hot path. Runs in flight are few
// and are counted from the small partial indexes instead (queries.ts).
import type { NewRun } from '../store.js';
import { RunCountTally } from '../run-count-tally.js';
import { newRunParams, type Statements } from './statements.js';

export { isFinal } from '../run-count-tally.js';

/**
 * Changes to `run_counts` gathered during one write operation and applied at its end, inside the
 * operation's savepoint, so a rolled-back operation rolls back its counts too.
 */
export class RunCountDelta extends RunCountTally {
  /** Writes the gathered changes. */
  apply(st: Statements): void {
    for (const d of this.changes()) st.bumpRunCount.run(d.namespace, d.status, d.n);
    this.clear();
  }
}

/** Inserts a run (or, with `ifNew`, lets the occurrence key absorb a repeat); true when inserted. */
export function insertRun(st: Statements, counts: RunCountDelta, run: NewRun, ifNew: boolean): boolean {
  const inserted = (ifNew ? st.insertRunIfNew : st.insertRun).run(newRunParams(run)).changes > 0;
  if (inserted) counts.add(run.namespace, run.status);
  return inserted;
}
