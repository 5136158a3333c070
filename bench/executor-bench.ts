// Throughput of the module pool: no-op module runs through createExecutor, as fast as possible
// with a bounded number in flight. Prints runs/s and p50/p99 of execute() latency.
//
//   node --import tsx bench/executor-bench.ts [--runs 100000] [--inflight 2000] [--workers 2] [--no-coalesce]
//
// --no-coalesce sends one IPC message per run instead of one per event-loop turn, to measure
// what batching buys.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.js';
import { EventBus } from '../src/core/events.js';
import type { RunJob, RunOutcome } from '../src/executor/executor.js';
import { ModulePool } from '../src/executor/module/module-pool.js';
import { PROJECT_ROOT } from '../src/version.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    inflight: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '2' },
    'no-coalesce': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const INFLIGHT = Number(values.inflight);
const WORKERS = Number(values.workers);
// From the project root, so the compiled bench (dist/bench/) finds the same no-op task.
const tasksDir = join(PROJECT_ROOT, 'test', 'fixtures', 'tasks');

const pool = new ModulePool({
  tasksDir,
  workers: WORKERS,
  logMaxBytes: 1_048_576,
  resultMaxBytes: 262_144,
  clock: systemClock,
  bus: new EventBus(),
  coalesce: !values['no-coalesce'],
});

function job(i: number): RunJob {
  return {
    runId: `0190a5b2-7c3d-7e4f-8a9b-${String(i).padStart(12, '0')}`,
    taskId: '0190a5b2-7c3d-7e4f-8a9b-000000000001',
    taskName: 'noop',
    namespace: 'default',
    attempt: 1,
    scheduledFor: Date.now(),
    idempotencyKey: `0190a5b2-7c3d-7e4f-8a9b-000000000001:${i}`,
    kind: 'module',
    spec: { file: 'ok.js' },
    payload: null,
    timeoutMs: 300_000,
  };
}

/** Runs `n` jobs keeping `inflight` in flight; returns latencies (ms) and failures. */
async function drive(n: number, inflight: number): Promise<{ lat: Float64Array; failed: number; wallMs: number }> {
  const lat = new Float64Array(n);
  let next = 0;
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  await new Promise<void>((resolveAll) => {
    const launch = (): void => {
      const i = next++;
      const start = performance.now();
      // A controller per run, as the dispatcher does (it needs one to cancel each run).
      void pool.run(job(i)).then((o: RunOutcome) => {
        lat[i] = performance.now() - start;
        if (o.status !== 'succeeded') failed++;
        if (++done === n) resolveAll();
        else if (next < n) launch();
      });
    };
    for (let k = 0; k < Math.min(inflight, n); k++) launch();
  });
  return { lat, failed, wallMs: performance.now() - t0 };
}

/** CPU ms (user + system) used so far by the pool's children, from /proc; null off Linux. */
function childrenCpuMs(pids: number[]): number | null {
  try {
    let ticks = 0;
    for (const pid of pids) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

await pool.ready();
await drive(Math.min(20_000, RUNS), INFLIGHT); // warm-up: module load, JIT, children's JIT
const cpu0 = process.cpuUsage();
const child0 = childrenCpuMs(pool.pids());
const { lat, failed, wallMs } = await drive(RUNS, INFLIGHT);
const cpu = process.cpuUsage(cpu0);
const child1 = childrenCpuMs(pool.pids());
const childMs = child0 === null || child1 === null ? null : child1 - child0;
lat.sort();
const rate = RUNS / (wallMs / 1000);
console.log(
  `executor-bench: ${RUNS} no-op module runs, ${WORKERS} workers, ${INFLIGHT} in flight, coalesce=${!values['no-coalesce']}\n` +
    `  ${Math.round(rate).toLocaleString('en-US')} runs/s (${wallMs.toFixed(0)} ms), failed ${failed}\n` +
    `  execute() latency p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${lat[lat.length - 1]!.toFixed(2)} ms\n` +
    `  parent CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (${(((cpu.user + cpu.system) / 1000 / wallMs) * 100).toFixed(0)}% of one core, ${((cpu.user + cpu.system) / RUNS).toFixed(1)} µs per run)` +
    (childMs === null ? '' : `\n  children CPU ${childMs.toFixed(0)} ms (${((childMs * 1000) / RUNS).toFixed(1)} µs per run)`),
);
await pool.close(1000);
