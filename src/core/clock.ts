import type { Millis } from './types.js';

/** The only way code reads time, so tests can move it. */
export interface Clock {
  /** Wall-clock epoch milliseconds. */
  now(): Millis;
  /** A monotonic reading in milliseconds, for measuring intervals (never goes back). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock tests set and move by hand, forwards and backwards. */
export class ManualClock implements Clock {
  #now: Millis;
  #mono = 0;
  constructor(start: Millis | string = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'string' ? Date.parse(start) : start;
  }
  now(): Millis {
    return this.#now;
  }
  monotonic(): number {
    return this.#mono;
  }
  /** Moves wall and monotonic time forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
    this.#mono += ms;
  }
  /** Sets the wall clock (a jump); monotonic time is untouched. */
  set(at: Millis | string): void {
    this.#now = typeof at === 'string' ? Date.parse(at) : at;
  }
}
