// How many runs one claim may take. On a store whose statements run on this thread (SQLite,
// `capabilities.inProcess`), a claim is one synchronous transaction: while it plans the next
// occurrence of each run it claims (a task read, an insert, a task update: 30–100 µs per run at
// 100,000 tasks) no timer of the process fires. At 100,000 runs a minute a claim every poll
// takes ~400 runs, which blocked the loop for 15–130 ms and made exactly those runs late that
// were due meanwhile (S2's p99 followed the claim's duration, not the load). So while claimed
// runs wait in the timer heap, each claim is sized to take about SLICE_MS by the cost per run
// the last claims measured, and the claim loop takes the next slice after the timers had their
// turn. With nothing waiting (a burst already due, an idle node) a claim takes the full batch:
// no timer can be late then, and large batches cost less per run.

/** About the longest a claim may block this thread while runs wait to be due. */
export const SLICE_MS = 4;
/** The smallest sliced claim: below this the transaction's fixed cost dominates. */
export const MIN_SLICE = 32;
/** Weight of the newest measurement in the moving average of the cost per run. */
const ALPHA = 0.3;

/** Sizes claims by time on an in-process store; see the header. */
export class ClaimSizer {
  /** Milliseconds of claim per run claimed, averaged; null until a claim was measured. */
  #msPerRun: number | null = null;

  constructor(private readonly inProcess: boolean) {}

  /** The most runs the next claim may take, given the batch limit and whether runs wait in the heap. */
  limit(batch: number, runsWaiting: boolean): number {
    if (!this.inProcess || !runsWaiting || this.#msPerRun === null) return batch;
    return Math.min(batch, Math.max(MIN_SLICE, Math.floor(SLICE_MS / this.#msPerRun)));
  }

  /** Records a claim that took `ms` and returned `claimed` runs. */
  measured(ms: number, claimed: number): void {
    // An empty claim says nothing about the cost per run (only the fixed cost of a query).
    if (!this.inProcess || claimed === 0) return;
    const perRun = ms / claimed;
    this.#msPerRun = this.#msPerRun === null ? perRun : this.#msPerRun + ALPHA * (perRun - this.#msPerRun);
  }

  /** The current estimate (ms per run), for tests and diagnostics. */
  get msPerRun(): number | null {
    return this.#msPerRun;
  }
}
