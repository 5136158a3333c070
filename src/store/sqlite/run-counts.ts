// Counts of finished runs per namespace and status, kept in `run_counts` by the writes that
// finish runs, in their own transaction. Counting the runs table instead is a full scan (~200 ms
// per million runs, and history only grows) on every metrics scrape; an index or trigger that
// keeps the count costs 2–3 µs on every status change of the hot path. Runs in flight are few
// and are counted from the small partial indexes instead (queries.ts).
import type { NewRun } from '../store.js';
import { newRunParams, type Statements } from './statements.js';

/** True for the statuses a run ends in (the ones `run_counts` tracks). */
export function isFinal(status: string): boolean {
  return (
    status === 'succeeded' || status === 'failed' || status === 'timed_out' || status === 'cancelled' || status === 'skipped'
  );
}

/**
 * Changes to `run_counts` gathered during one write operation and applied at its end, inside the
 * operation's savepoint, so a rolled-back operation rolls back its counts too.
 */
export class RunCountDelta {
  #byKey = new Map<string, { namespace: string; status: string; n: number }>();

  /** Counts one run (or `n`) entering a final status; ignores other statuses. */
  add(namespace: string, status: string, n = 1): void {
    if (!isFinal(status)) return;
    const key = `${namespace}\u0000${status}`;
    const hit = this.#byKey.get(key);
    if (hit === undefined) this.#byKey.set(key, { namespace, status, n });
    else hit.n += n;
  }

  /** Writes the gathered changes. */
  apply(st: Statements): void {
    for (const d of this.#byKey.values()) if (d.n !== 0) st.bumpRunCount.run(d.namespace, d.status, d.n);
    this.#byKey.clear();
  }
}

/** Inserts a run (or, with `ifNew`, lets the occurrence key absorb a repeat); true when inserted. */
export function insertRun(st: Statements, counts: RunCountDelta, run: NewRun, ifNew: boolean): boolean {
  const inserted = (ifNew ? st.insertRunIfNew : st.insertRun).run(newRunParams(run)).changes > 0;
  if (inserted) counts.add(run.namespace, run.status);
  return inserted;
}
