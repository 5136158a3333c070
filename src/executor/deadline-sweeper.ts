// One timer for all the deadlines of a worker pool, shared by the module pool and the script pool.
// A timer per run is measurable at tens of thousands of runs/s (a Timeout object and a
// clearTimeout each), while arming this one costs a run only a comparison. When it fires it visits
// every run the pool holds (a few thousand at most), lets the pool expire those past their deadline
// and kill the children of those past their kill grace, and re-arms at the earliest deadline left;
// with equal timeouts that is about one sweep per timeout. What expiring and killing mean stays in
// each pool.

/** What a sweep reads of a run. */
export interface Deadlined {
  /** performance.now() by which the run must have ended. */
  readonly deadline: number;
  /** Once ending: performance.now() at which its child is killed if the run has not settled. */
  readonly killAt: number;
  /** Non-null once the run's status is decided (timed out or cancelled). */
  readonly ending: string | null;
  readonly done: boolean;
}

/** The pool's side of a sweep. */
export interface SweepHost<F extends Deadlined> {
  /** Calls `visit` for every run the pool holds, queued or running. */
  forEachFlight(visit: (f: F) => void): void;
  /** `f` reached its deadline: it timed out (the pool may finish it at once, or start its grace). */
  expire(f: F): void;
  /** `f` outlived its kill grace: kill its child. */
  kill(f: F): void;
}

/** Sweeps run at most this often, so many distinct deadlines cannot make the timer spin. */
const SWEEP_MIN_GAP_MS = 5;
/** setTimeout treats longer delays as 1 ms; a farther deadline just re-arms on the way. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class DeadlineSweeper<F extends Deadlined> {
  readonly #host: SweepHost<F>;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #lastSweep = -Infinity;
  // The sweep in progress keeps its state here so that visiting needs no closure per sweep.
  #reached = 0;
  #next = Infinity;

  constructor(host: SweepHost<F>) {
    this.#host = host;
  }

  /** Makes sure a sweep runs by `at` (performance.now() time); cheap when one already will. */
  arm(at: number): void {
    const when = Math.max(at, this.#lastSweep + SWEEP_MIN_GAP_MS);
    if (when >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = when;
    this.#timer = setTimeout(this.#sweep, Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(when - performance.now()))));
    // In-flight runs keep the process alive through the children's IPC channels, not this timer.
    this.#timer.unref();
  }

  /** At close: no sweep runs after this unless something arms again. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  readonly #sweep = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = performance.now();
    this.#lastSweep = now;
    // Timer resolution is whole milliseconds; a deadline within 1 ms counts as reached.
    this.#reached = now + 1;
    this.#next = Infinity;
    this.#host.forEachFlight(this.#visit);
    if (this.#next !== Infinity) this.arm(this.#next);
  };

  readonly #visit = (f: F): void => {
    if (f.done) return;
    const reached = this.#reached;
    if (f.ending === null) {
      if (f.deadline > reached) {
        if (f.deadline < this.#next) this.#next = f.deadline;
        return;
      }
      this.#host.expire(f);
      if (f.done) return;
    }
    if (f.killAt <= reached) this.#host.kill(f);
    else if (f.killAt < this.#next) this.#next = f.killAt;
  };
}
