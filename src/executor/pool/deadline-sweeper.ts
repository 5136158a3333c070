// One timer for all the deadlines of a worker pool (worker-pool.ts, for the module and the script
// pool alike). A timer per run is measurable at tens of thousands of runs/s (a Timeout object and a
// clearTimeout each), while arming this one costs a run only a comparison. When it fires it visits
// every run the pool holds (a few thousand at most), lets the pool expire those past their deadline
// and kill the children of those past their kill grace, and re-arms at the earliest deadline left;
// with equal timeouts that is about one sweep per timeout. What expiring and killing mean stays in
// the pool.

/** What a sweep reads of a run. */
export interface Deadlined {
  /** now() by which the run must have ended. */
  readonly deadline: number;
  /** Once ending: now() at which its child is killed if the run has not settled. */
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

/** The clock and the one timer a sweeper uses; tests pass fake ones. */
export interface SweepTimers {
  /** Milliseconds on a monotonic clock (performance.now()). */
  now(): number;
  /** Calls `fn` once after `ms`; must not keep the process alive. */
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: SweepTimers = {
  now: () => performance.now(),
  set(fn, ms) {
    // In-flight runs keep the process alive through the children's IPC channels, not this timer.
    return setTimeout(fn, ms).unref();
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Sweeps run at most this often, so many distinct deadlines cannot make the timer spin. */
export const SWEEP_MIN_GAP_MS = 5;
/** setTimeout treats longer delays as 1 ms; a farther deadline just re-arms on the way. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class DeadlineSweeper<F extends Deadlined> {
  readonly #host: SweepHost<F>;
  readonly #timers: SweepTimers;
  #timer: unknown = null;
  #timerAt = Infinity;
  #lastSweep = -Infinity;
  // The sweep in progress keeps its state here so that visiting needs no closure per sweep.
  #reached = 0;
  #next = Infinity;

  constructor(host: SweepHost<F>, timers: SweepTimers = realTimers) {
    this.#host = host;
    this.#timers = timers;
  }

  /** Makes sure a sweep runs by `at` (now() time); cheap when one already will. */
  arm(at: number): void {
    const when = Math.max(at, this.#lastSweep + SWEEP_MIN_GAP_MS);
    if (when >= this.#timerAt) return;
    if (this.#timer !== null) this.#timers.clear(this.#timer);
    this.#timerAt = when;
    this.#timer = this.#timers.set(this.#sweep, Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(when - this.#timers.now()))));
  }

  /** At close: no sweep runs after this unless something arms again. */
  stop(): void {
    if (this.#timer !== null) this.#timers.clear(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  readonly #sweep = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#timers.now();
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
