// Nanosecond timestamps that never collide within a series. InfluxDB keys a point by series
// (measurement + tags) and time: a second point with the same time overwrites the first. Two
// transitions of one task in the same millisecond are common (a skip and the next start), so a
// millisecond clock is not enough. Each series remembers the last time it was given; a new point
// gets its own time, or one nanosecond after the last point of its series when that is not later.
//
// The nanoseconds inside a millisecond start at a per-process offset, so that two nodes of a
// cluster writing points of one task within the same millisecond do not pick the same instant.
// A point whose time is behind its series' last one (log lines of two runs arriving out of order)
// is moved forward by that much: series stay unique; the exact time is in the point's fields.

import type { Millis } from '../../core/types.js';

const NS_PER_MS = 1_000_000;

export interface SeriesClockOptions {
  /** Series remembered at most; the least recently used are forgotten beyond it. */
  maxSeries?: number;
  /** Where nanoseconds start inside a millisecond (default: random per process, whole microseconds). */
  offsetNs?: number;
}

interface Last {
  ms: Millis;
  ns: number;
}

/** Hands out unique nanosecond timestamps per series, as decimal strings. */
export class SeriesClock {
  readonly #last = new Map<string, Last>();
  readonly #max: number;
  readonly #offset: number;

  constructor(opts: SeriesClockOptions = {}) {
    this.#max = opts.maxSeries ?? 100_000;
    this.#offset = opts.offsetNs ?? Math.floor(Math.random() * 1000) * 1000;
  }

  /** How many series it remembers. */
  get size(): number {
    return this.#last.size;
  }

  /** A timestamp (ns since the epoch, digits) for a point of `series` at `at`, after every earlier one of the series. */
  next(series: string, at: Millis): string {
    const ms = Math.floor(at);
    const ns = this.#offset;
    const last = this.#last.get(series);
    if (last === undefined) {
      if (this.#last.size >= this.#max) this.#forget();
      this.#last.set(series, { ms, ns });
      return formatNs(ms, ns);
    }
    if (last.ms > ms || (last.ms === ms && last.ns >= ns)) {
      // Not later than the series' last point: one nanosecond after it.
      if (last.ns + 1 < NS_PER_MS) {
        last.ns += 1;
      } else {
        last.ms += 1;
        last.ns = 0;
      }
      return formatNs(last.ms, last.ns);
    }
    // A later millisecond: move the series to the back, so the map forgets the idle ones first.
    this.#last.delete(series);
    last.ms = ms;
    last.ns = ns;
    this.#last.set(series, last);
    return formatNs(ms, ns);
  }

  /** Forgets the least recently advanced quarter. */
  #forget(): void {
    let n = Math.max(1, Math.floor(this.#max / 4));
    for (const key of this.#last.keys()) {
      this.#last.delete(key);
      if (--n === 0) break;
    }
  }
}

/** Milliseconds and the nanoseconds inside the last one, as nanoseconds since the epoch (digits). */
export function formatNs(ms: Millis, ns: number): string {
  if (ms <= 0) return String(ms * NS_PER_MS + ns);
  return `${ms}${String(ns).padStart(6, '0')}`;
}
