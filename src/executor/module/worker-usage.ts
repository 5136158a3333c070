// Resource readings of the current process, for a worker child to attribute to its runs.
//
// A module worker runs many runs at once in one process, so no figure can belong to one run alone:
// a run's cpuMs is the process's CPU time (user + system) while the run was in flight, its
// peakRssBytes the highest resident size seen meanwhile, its diskWriteBytes the bytes the process
// sent to storage meanwhile (`write_bytes` of /proc/self/io). For a run that has its worker to
// itself (the usual case for anything heavy enough to care about) they are that run's own use.
//
// Readings are cached for the rest of the event-loop turn: thousands of runs start or end in one
// turn at full load, and one getrusage plus two small /proc reads per turn cost nothing, where one
// per run would cost a tenth of the throughput.

import { readFileSync } from 'node:fs';

/** One reading: CPU ms, resident bytes, bytes written to storage. */
export interface UsageReading {
  cpuMs: number;
  rssBytes: number;
  diskWriteBytes: number;
}

const IO_PATH = '/proc/self/io';

/** The `write_bytes` counter of /proc/self/io, or 0 where the kernel offers no I/O accounting. */
function readWriteBytes(): number {
  try {
    const text = readFileSync(IO_PATH, 'latin1');
    const i = text.indexOf('\nwrite_bytes: ');
    return i < 0 ? 0 : Number.parseInt(text.slice(i + 14), 10) || 0;
  } catch {
    return 0;
  }
}

/** Reads this process's usage, at most once per event-loop turn. */
export class ProcessUsage {
  #cached: UsageReading | null = null;
  readonly #clear = (): void => {
    this.#cached = null;
  };

  /** The current reading (the same object for every call in one turn). */
  read(): UsageReading {
    if (this.#cached !== null) return this.#cached;
    const cpu = process.cpuUsage();
    this.#cached = {
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssBytes: process.memoryUsage.rss(),
      diskWriteBytes: readWriteBytes(),
    };
    setImmediate(this.#clear);
    return this.#cached;
  }
}

/** One run's share of the process's usage since it started. */
export class RunUsage {
  readonly #start: UsageReading;
  /** Epoch ms of the start, for samples. */
  readonly startedAt: number;
  #peakRss: number;
  lastSampleAt: number;

  constructor(start: UsageReading, now: number) {
    this.#start = start;
    this.#peakRss = start.rssBytes;
    this.startedAt = now;
    this.lastSampleAt = now;
  }

  /** Folds a reading into the peak. */
  see(r: UsageReading): void {
    if (r.rssBytes > this.#peakRss) this.#peakRss = r.rssBytes;
  }

  /** [cpuMs, peakRssBytes, diskWriteBytes] from the start to `r`, CPU rounded to 0.1 ms. */
  totals(r: UsageReading): [number, number, number] {
    this.see(r);
    return [Math.round((r.cpuMs - this.#start.cpuMs) * 10) / 10, this.#peakRss, Math.max(0, r.diskWriteBytes - this.#start.diskWriteBytes)];
  }
}
