// Throughput of the script pool: no-op `script` runs (a fresh QuickJS runtime and context each),
// as fast as possible with a bounded number in flight. Prints runs/s and p50/p99 latency.
//
//   node --import tsx bench/script-bench.ts [--runs 5000] [--inflight 64] [--workers 2] [--concurrency 8]

import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.js';
import { EventBus } from '../src/core/events.js';
import type { RunJob, RunOutcome } from '../src/executor/executor.js';
import { ScriptPool } from '../src/executor/script/script-pool.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5000' },
    inflight: { type: 'string', default: '64' },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
  },
});
const RUNS = Number(values.runs);
const INFLIGHT = Number(values.inflight);
const WORKERS = Number(values.workers);

const pool = new ScriptPool({
  workers: WORKERS,
  maxWorkers: WORKERS,
  perWorkerConcurrency: Number(values.concurrency),
  memoryMaxBytes: 128 * 1024 * 1024,
  logMaxBytes: 1_048_576,
  resultMaxBytes: 262_144,
  outboundAllow: [],
  clock: systemClock,
  bus: new EventBus(),
  onLogs: () => {},
});

const CODE = 'export default async function (ctx) { return null; }';

function job(i: number): RunJob {
  return {
    runId: `0190a5b2-7c3d-7e4f-8a9b-${String(i).padStart(12, '0')}`,
    taskId: '0190a5b2-7c3d-7e4f-8a9b-000000000001',
    taskName: 'noop',
    namespace: 'default',
    attempt: 1,
    scheduledFor: Date.now(),
    idempotencyKey: `0190a5b2-7c3d-7e4f-8a9b-000000000001:${i}`,
    kind: 'script',
    spec: { code: CODE },
    payload: null,
    timeoutMs: 60_000,
  };
}

/** Runs `n` jobs keeping `inflight` in flight; returns latencies (ms) and failures. */
async function drive(n: number, inflight: number, offset: number): Promise<{ lat: Float64Array; failed: number; wallMs: number }> {
  const lat = new Float64Array(n);
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      const o: RunOutcome = await pool.run(job(offset + i));
      lat[i] = performance.now() - t0;
      if (o.status !== 'succeeded') {
        failed++;
        if (failed === 1) console.error('first failure:', JSON.stringify(o.error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, n) }, worker));
  return { lat, failed, wallMs: performance.now() - started };
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

await pool.ready();
// Warm-up: every worker makes its wasm instances and V8 compiles the paths.
await drive(Math.min(500, RUNS), INFLIGHT, 0);
const { lat, failed, wallMs } = await drive(RUNS, INFLIGHT, 1_000_000);
const sorted = lat.slice().sort();
console.log(
  `script pool: ${RUNS} no-op runs, ${INFLIGHT} in flight, ${WORKERS} workers × ${values.concurrency}: ` +
    `${Math.round((RUNS / wallMs) * 1000)} runs/s, p50 ${pct(sorted, 50).toFixed(2)} ms, p99 ${pct(sorted, 99).toFixed(2)} ms, failed ${failed}`,
);
await pool.close(1000);
