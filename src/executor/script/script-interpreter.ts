// The interpreter thread of a script-pool child: a worker_thread started by
// script-thread-bootstrap.ts, which calls runInterpreter. It runs the QuickJS sandboxes
// (sandbox-env.ts, script-run.ts), several at once, interleaved at their awaits; only this thread
// loads QuickJS. Endings and log lines go to the child's main thread (script-relay.ts) batched
// per turn; the shared `tick` tells that thread whether this one's event loop still turns.

import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { INTERPRETER_NICE, TICK_MS } from './script-limits.js';
import { isToChild, type FromChildBatch, type ThreadBegun, type ThreadReady, type ThreadRun, type WireLogLine, type WireScriptDone, type WireScriptSample } from './script-protocol.js';
import type { InterpreterData } from './script-thread-bootstrap.js';

/** Runs sandboxes for the child's main thread until the thread is stopped. */
export async function runInterpreter(data: InterpreterData): Promise<void> {
  const port = parentPort!;
  // Untrusted code runs at a lower CPU priority than the scheduler and the API: a tenant's busy
  // loops take what is left, not what due runs and API requests need. On Linux nice is per
  // thread, and 0 here is this (interpreter) thread.
  try {
    setPriority(0, INTERPRETER_NICE);
  } catch {
    // Not permitted here (some containers): run at the normal priority.
  }
  const { SandboxEnv } = await import('./sandbox-env.js');
  const tick = new Int32Array(data.tick);
  const beat = (): void => {
    Atomics.store(tick, 0, Date.now() - data.base);
    // Busy time, so the pool can tell a worker that computes from one whose runs wait on I/O.
    Atomics.store(tick, 2, Math.round(performance.eventLoopUtilization().active) | 0);
  };
  beat();
  setInterval(beat, TICK_MS);

  let done: WireScriptDone[] = [];
  let logs: [number, WireLogLine[]][] = [];
  const withLogs = new Set<{ id: number; log: { take(): WireLogLine[] | undefined } }>();
  let flushQueued = false;
  const flush = (): void => {
    flushQueued = false;
    for (const run of withLogs) {
      const lines = run.log.take();
      if (lines !== undefined) logs.push([run.id, lines]);
    }
    withLogs.clear();
    if (done.length === 0 && logs.length === 0) return;
    const msg: FromChildBatch = { t: 'batch', done };
    if (logs.length > 0) msg.logs = logs;
    done = [];
    logs = [];
    port.postMessage(msg);
  };
  const queueFlush = (): void => {
    if (flushQueued) return;
    flushQueued = true;
    // setImmediate: every run that logs or ends during this turn shares the message.
    setImmediate(flush);
  };

  const env = new SandboxEnv(
    data.cfg,
    new Int32Array(data.flags),
    {
      logsPending(run) {
        withLogs.add(run);
        queueFlush();
      },
      ended(run, d, lines) {
        withLogs.delete(run);
        if (lines !== undefined) logs.push([run.id, lines]);
        done.push(d);
        queueFlush();
      },
      // Samples go out at once: they may come from a script's interrupt handler, while this
      // thread's event loop is held by that script.
      sample(s: WireScriptSample) {
        port.postMessage({ t: 'batch', done: [], samples: [s] } satisfies FromChildBatch);
      },
      begun() {
        port.postMessage({ t: 'begun' } satisfies ThreadBegun);
      },
    },
    Math.max(1, data.cfg.concurrency),
  );

  env.current = tick;
  port.on('message', (msg: unknown) => {
    if (!isToChild(msg)) return;
    for (const run of msg.runs as ThreadRun[]) env.start(run);
    beat();
    // After the starts: a batch may start a run and abort it in the same turn.
    for (const [id, reason] of msg.aborts) env.abort(id, reason);
  });
  setInterval(() => {
    if (env.size > 0) env.sampleLongRuns();
  }, 250);

  await env.warm();
  port.postMessage({ t: 'ready' } satisfies ThreadReady);
}
