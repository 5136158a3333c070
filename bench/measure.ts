// What the benchmark reads off the machine: percentiles, CPU (this process, its worker
// children, and the whole machine), and resident memory sampled while a scenario runs.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { listChildren, readProcUsage } from '../src/executor/proc-usage.js';

/** The value at quantile q (0..1) of sorted numbers (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatenessStats {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles of a list of millisecond values. */
export function stats(values: number[]): LatenessStats {
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), p999: quantile(s, 0.999), max: s[s.length - 1] ?? NaN };
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export interface ResourceReport {
  wallMs: number;
  /** CPU time of this process (ms). */
  cpuMainMs: number;
  /** CPU time of worker child processes seen while sampling (ms, approximate). */
  cpuWorkersMs: number;
  /** Whole-machine CPU use over the interval, in cores (2.0 = both cores busy). */
  machineCores: number;
  peakRssMainBytes: number;
  peakRssWithWorkersBytes: number;
  /** Peak V8 heap in use of this process. */
  peakHeapBytes: number;
  /** CPU time of every PostgreSQL server process on the machine over the interval (ms; 0 without one). */
  cpuDatabaseMs: number;
  /**
   * How late this process's event loop ran its callbacks (ms, 10 ms resolution): a timer cannot
   * fire earlier than the loop is free, so this bounds the lateness that the main thread adds.
   */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Total CPU time (ms) of the processes named `postgres` (the server and its backends). */
export function databaseCpuMs(): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of /proc/pid/stat (11 and 12 after the comm).
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** Samples CPU and RSS of this process and its children until stopped. */
export function startResourceSampler(everyMs = 100): { stop(): ResourceReport } {
  const pid = process.pid;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const m0 = machineTicks();
  // Backends that exit during the interval take their CPU with them: a lower bound.
  const db0 = databaseCpuMs();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const childCpu0 = new Map<number, number>();
  const childCpuLast = new Map<number, number>();
  let peakMain = 0;
  let peakAll = 0;
  let peakHeap = 0;
  // Listing /proc is costly; worker children change rarely, so look for them every 2 s.
  let children: number[] = [];
  let n = 0;
  const sample = (): void => {
    const main = readProcUsage(pid)?.rssBytes ?? 0;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    let all = main;
    if (n++ % 20 === 0) children = listChildren(pid);
    for (const c of children) {
      const u = readProcUsage(c);
      if (u === null) continue;
      all += u.rssBytes;
      const cpu = u.cpuMs - u.childCpuMs;
      if (!childCpu0.has(c)) childCpu0.set(c, cpu);
      childCpuLast.set(c, cpu);
    }
    peakMain = Math.max(peakMain, main);
    peakAll = Math.max(peakAll, all);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      sample();
      clearInterval(timer);
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      const m1 = machineTicks();
      let workers = 0;
      for (const [c, last] of childCpuLast) workers += Math.max(0, last - (childCpu0.get(c) ?? last));
      const total = m1.total - m0.total;
      return {
        wallMs: performance.now() - t0,
        cpuMainMs: (cpu.user + cpu.system) / 1000,
        cpuWorkersMs: workers,
        machineCores: total > 0 ? ((m1.busy - m0.busy) / total) * cpus().length : 0,
        peakRssMainBytes: peakMain,
        peakRssWithWorkersBytes: peakAll,
        peakHeapBytes: peakHeap,
        cpuDatabaseMs: Math.max(0, databaseCpuMs() - db0),
        loopDelayP99Ms: loop.percentile(99) / 1e6,
        loopDelayMaxMs: loop.max / 1e6,
      };
    },
  };
}
