import type { Millis } from './types.js';

/** The only way code reads time, so tests can move it. */
export interface Clock {
  /** Wall-clock epoch milliseconds. */
  now(): Millis;
}

export const systemClock: Clock = {
  now: () => Date.now(),
};

/** A clock tests set and move by hand, forwards and backwards. */
export class ManualClock implements Clock {
  #now: Millis;
  constructor(start: Millis | string = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'string' ? Date.parse(start) : start;
  }
  now(): Millis {
    return this.#now;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }
  /** Sets the clock (a jump, forwards or backwards). */
  set(at: Millis | string): void {
    this.#now = typeof at === 'string' ? Date.parse(at) : at;
  }
}

/**
 * Another clock shifted by an offset that can change, e.g. by a node's measured skew against its
 * database, so that due times and leases in a cluster follow one clock (the database's) even
 * when the machines' clocks disagree.
 */
export class OffsetClock implements Clock {
  #offset = 0;
  constructor(private readonly base: Clock) {}
  now(): Millis {
    return this.base.now() + this.#offset;
  }
  /** The current offset (ms added to the base clock). */
  get offsetMs(): number {
    return this.#offset;
  }
  /** Sets the offset (ms added to the base clock). */
  setOffset(ms: number): void {
    this.#offset = Math.round(ms);
  }
}
