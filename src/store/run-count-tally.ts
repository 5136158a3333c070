// Changes to the finished-run counts (`run_counts`) that one write operation makes, gathered while
// it runs and written at its end by the store, inside the operation's transaction, so a rolled
// back operation rolls back its counts too. Only final statuses are counted: runs in flight are
// few and are counted from small partial indexes instead.

/** True for the statuses a run ends in (the ones `run_counts` tracks). */
export function isFinal(status: string): boolean {
  return (
    status === 'succeeded' || status === 'failed' || status === 'timed_out' || status === 'cancelled' || status === 'skipped'
  );
}

/** One namespace and status, and how many runs entered (or, negative, left) it. */
export interface RunCountChange {
  namespace: string;
  status: string;
  n: number;
}

/** The count changes of one write operation. */
export class RunCountTally {
  #byKey = new Map<string, RunCountChange>();

  /** Counts one run (or `n`) entering a final status; ignores other statuses. */
  add(namespace: string, status: string, n = 1): void {
    if (!isFinal(status)) return;
    const key = `${namespace}\u0000${status}`;
    const hit = this.#byKey.get(key);
    if (hit === undefined) this.#byKey.set(key, { namespace, status, n });
    else hit.n += n;
  }

  /** The gathered changes that are not zero, in the order first seen. */
  changes(): RunCountChange[] {
    const out: RunCountChange[] = [];
    for (const d of this.#byKey.values()) if (d.n !== 0) out.push(d);
    return out;
  }

  /** Forgets everything gathered (after writing it). */
  clear(): void {
    this.#byKey.clear();
  }
}
