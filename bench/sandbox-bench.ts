// The cost of one no-op `script` run inside an interpreter thread, without the pool: a SandboxEnv
// (what one interpreter thread holds) runs the script N times, one after another, in this
// process. Prints CPU and wall time per run; the difference to script-bench.ts is what IPC,
// threads and worker processes add.
//
//   node --import tsx bench/sandbox-bench.ts [--runs 3000] [--code 'export default () => 1']

import { parseArgs } from 'node:util';
import { SandboxEnv } from '../src/executor/script/sandbox-env.js';
import type { ThreadRun, WireScriptDone } from '../src/executor/script/script-protocol.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3000' },
    code: { type: 'string', default: 'export default () => Date.now();' },
  },
});
const RUNS = Number(values.runs);

let ended: ((d: WireScriptDone) => void) | null = null;
const env = new SandboxEnv(
  { logMaxBytes: 1 << 20, resultMaxBytes: 1 << 18, fetchMaxBytes: 1 << 20, outboundAllow: [] },
  null,
  { logsPending: () => {}, ended: (_run, d) => ended?.(d), sample: () => {}, begun: () => {} },
  8,
);

function wire(id: number): ThreadRun {
  return {
    id,
    slot: -1,
    code: values.code,
    memoryBytes: 128 * 1024 * 1024,
    timeoutMs: 60_000,
    payload: null,
    runId: `run-${id}`,
    attempt: 1,
    scheduledFor: Date.now(),
    idempotencyKey: `key-${id}`,
    taskId: 'task',
    taskName: 'noop',
  };
}

/** Runs one script to its end. */
function once(id: number): Promise<WireScriptDone> {
  return new Promise((resolve) => {
    ended = resolve;
    env.start(wire(id));
  });
}

await env.warm();
// Warm-up: V8 compiles the host's paths.
for (let i = 1; i <= 300; i++) await once(i);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let last: WireScriptDone | null = null;
for (let i = 1; i <= RUNS; i++) last = await once(1000 + i);
const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - t0;
if (last?.ok !== true) console.error('the last run failed:', JSON.stringify(last));
console.log(
  `sandbox: ${RUNS} runs one after another: ${((cpu.user + cpu.system) / RUNS).toFixed(0)} µs CPU/run, ${((wallMs * 1000) / RUNS).toFixed(0)} µs wall/run`,
);
