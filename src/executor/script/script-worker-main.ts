// Entry point of a script-pool child (forked by script-pool.ts). The file plays two roles:
//
// - In the child's main thread it only relays: runs and aborts from the pool to the interpreter
//   thread, endings, log lines and samples back, plus a heartbeat. It never runs user code, so it
//   always answers; it sets the abort flags in shared memory that the interpreter's interrupt
//   handler reads, and it watches for the pool's death itself (no watchdog thread is needed).
// - In the interpreter thread (a worker_thread with a 32 MiB native stack, see script-limits.ts)
//   it runs the QuickJS sandboxes. Only this role loads QuickJS.

import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { HEARTBEAT_MS, INTERPRETER_NICE, STALL_MS, THREAD_HEAP_MB, THREAD_STACK_MB, TICK_MS } from './script-limits.js';
import {
  ABORT_FLAG,
  ABORT_SLOTS,
  isToChild,
  type FromChild,
  type FromChildBatch,
  type ScriptWorkerConfig,
  type ThreadRun,
  type WireLogLine,
  type WireScriptDone,
  type WireScriptSample,
} from './script-protocol.js';

/** What the pool passes as argv[2]. */
export interface ScriptChildConfig extends ScriptWorkerConfig {
  /** The pool's per-worker concurrency: how many wasm instances the thread keeps warm. */
  concurrency: number;
}

const ROLE = 'sundial-script-interpreter';

interface InterpreterData {
  role: typeof ROLE;
  cfg: ScriptChildConfig;
  flags: SharedArrayBuffer;
  /** [ms since `base` at which the interpreter thread's event loop last turned]. */
  tick: SharedArrayBuffer;
  base: number;
}

/** The message a thread sends once QuickJS is loaded. */
interface ThreadReady {
  t: 'ready';
}

/** The thread began a run (its first synchronous stretch is over). */
interface ThreadBegun {
  t: 'begun';
}

// ---- the child's main thread -------------------------------------------------------------------

function childMain(): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    process.stderr.write('script-worker-main must be started by the script pool (no IPC channel)\n');
    process.exit(64);
  }
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ScriptChildConfig;
  const flags = new Int32Array(new SharedArrayBuffer(ABORT_SLOTS * 4));
  // [0]: when the interpreter's event loop last turned; [1]: the run it is executing (0: none).
  const tick = new Int32Array(new SharedArrayBuffer(8));
  const base = Date.now();
  const freeSlots: number[] = [];
  for (let i = ABORT_SLOTS - 1; i >= 0; i--) freeSlots.push(i);
  const slotOf = new Map<number, number>();

  const self = fileURLToPath(import.meta.url);
  // Under tsx (tests, development) the thread must register tsx itself before importing this
  // .ts file; the resolved URL is absolute because the child's cwd is `/`.
  const tsx = self.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;
  const data: InterpreterData = { role: ROLE, cfg, flags: flags.buffer as SharedArrayBuffer, tick: tick.buffer as SharedArrayBuffer, base };
  const bootstrap = `
    const { workerData } = require('node:worker_threads');
    (async () => {
      if (workerData.tsx) (await import(workerData.tsx)).register();
      await import(workerData.entry);
    })().catch((err) => {
      process.stderr.write('script interpreter failed to start: ' + (err && err.stack || err) + '\\n');
      process.exit(70);
    });`;
  const thread = new Worker(bootstrap, {
    eval: true,
    workerData: { ...data, tsx, entry: import.meta.url },
    execArgv: [],
    resourceLimits: { stackSizeMb: THREAD_STACK_MB, maxOldGenerationSizeMb: THREAD_HEAP_MB },
  });

  let inflight = 0;
  // Runs are handed to the interpreter one at a time, each once the previous one has begun: a
  // script that computes synchronously holds the thread, and runs already inside it would wait
  // behind it. Held here instead, they go back to the pool when the thread stalls.
  const held: ThreadRun[] = [];
  let unbegun = 0;
  // Aborted runs the interpreter has not ended yet. If another script holds the interpreter, they
  // are reported ended from here (their own code is not running, so there is nothing to stop):
  // otherwise the pool would wait for them, and kill the whole worker after the kill grace.
  const aborting = new Map<number, string>();
  const reportedEarly = new Set<number>();
  let out: FromChildBatch = { t: 'batch', done: [] };
  let flushQueued = false;
  const flush = (): void => {
    flushQueued = false;
    const msg = out;
    if (msg.done.length === 0 && msg.logs === undefined && msg.samples === undefined && msg.hb === undefined) return;
    out = { t: 'batch', done: [] };
    // A callback, so a channel closing under the write is not an uncaught EPIPE.
    if (process.connected) send(msg, undefined, undefined, () => undefined);
  };
  const queueFlush = (): void => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(flush);
  };

  const feed = (): void => {
    while (unbegun < 1 && held.length > 0) {
      unbegun++;
      thread.postMessage({ t: 'batch', runs: [held.shift()!], aborts: [] });
    }
  };
  const freeSlot = (id: number): void => {
    const slot = slotOf.get(id);
    if (slot === undefined) return;
    slotOf.delete(id);
    Atomics.store(flags, slot, ABORT_FLAG.none);
    freeSlots.push(slot);
  };

  thread.on('message', (msg: FromChildBatch | ThreadReady | ThreadBegun) => {
    if (msg.t === 'ready') {
      if (process.connected) send({ t: 'ready', pid: process.pid } satisfies FromChild, undefined, undefined, () => undefined);
      return;
    }
    if (msg.t === 'begun') {
      unbegun = Math.max(0, unbegun - 1);
      feed();
      return;
    }
    if (msg.logs !== undefined) (out.logs ??= []).push(...msg.logs);
    if (msg.samples !== undefined) (out.samples ??= []).push(...msg.samples);
    for (const d of msg.done) {
      aborting.delete(d.id);
      freeSlot(d.id);
      if (reportedEarly.delete(d.id)) continue;
      out.done.push(d);
      inflight--;
    }
    if (msg.logs !== undefined && reportedEarly.size > 0) out.logs = out.logs?.filter(([id]) => !reportedEarly.has(id));
    queueFlush();
  });

  // The interpreter thread died (a bug, or its own heap limit): the runs it held are lost. Exit
  // so the pool fails them `worker_crashed` and starts a fresh child.
  const threadGone = (why: string): void => {
    process.stderr.write(`script worker: the interpreter thread ${why}\n`);
    flush();
    setTimeout(() => process.exit(70), 50);
  };
  thread.on('error', (err) => threadGone(`failed: ${err.stack ?? err.message}`));
  thread.on('exit', (code) => threadGone(`exited with code ${code}`));

  process.on('message', (msg: unknown) => {
    if (!isToChild(msg)) {
      process.stderr.write(`script worker: unknown message ${JSON.stringify(msg).slice(0, 200)}\n`);
      return;
    }
    for (const r of msg.runs) {
      const slot = freeSlots.pop() ?? -1;
      if (slot >= 0) {
        slotOf.set(r.id, slot);
        Atomics.store(flags, slot, ABORT_FLAG.none);
      }
      held.push({ ...r, slot });
    }
    inflight += msg.runs.length;
    const aborts: typeof msg.aborts = [];
    for (const [id, reason] of msg.aborts) {
      const i = held.findIndex((r) => r.id === id);
      if (i >= 0) {
        // Never reached the interpreter: it ends here.
        held.splice(i, 1);
        inflight--;
        freeSlot(id);
        out.done.push({ id, ok: false, code: 'aborted', message: `the run was aborted (${reason}) before it started`, u: [0, 0] });
        queueFlush();
        continue;
      }
      // The flag stops a script in a synchronous loop at its next interrupt check; the message
      // reaches a script that is waiting (a sleep, a fetch), whose thread is then idle.
      const slot = slotOf.get(id);
      if (slot !== undefined) Atomics.store(flags, slot, reason === 'cancel' ? ABORT_FLAG.cancel : ABORT_FLAG.timeout);
      if (slotOf.has(id)) aborting.set(id, reason);
      aborts.push([id, reason]);
    }
    if (aborts.length > 0) thread.postMessage({ t: 'batch', runs: [], aborts });
    feed();
  });

  // Heartbeat: how long ago the interpreter's event loop last turned, and this process's RSS.
  // Only while runs are in flight: an idle child costs the pool nothing.
  setInterval(() => {
    if (inflight <= 0) return;
    const lag = Math.max(0, Date.now() - base - Atomics.load(tick, 0));
    out.hb = [lag, process.memoryUsage.rss()];
    const current = Atomics.load(tick, 1);
    if (lag > STALL_MS / 2) {
      for (const [id, reason] of aborting) {
        if (id === current || reportedEarly.has(id)) continue;
        reportedEarly.add(id);
        inflight--;
        out.done.push({ id, ok: false, code: 'aborted', message: `the run was aborted (${reason}) while another script held the interpreter`, u: [0, 0] });
      }
    }
    if (lag > STALL_MS && held.length > 0) {
      // The interpreter is held by a synchronous script: the runs waiting here go elsewhere.
      const back = held.splice(0);
      inflight -= back.length;
      for (const r of back) freeSlot(r.id);
      (out.back ??= []).push(...back.map((r) => r.id));
    }
    queueFlush();
  }, HEARTBEAT_MS).unref();

  // The pool closed the channel, or died: nothing can be reported any more. This thread never
  // runs user code, so these handlers always get to run; the interval catches a pool killed so
  // abruptly that the disconnect is not seen.
  const die = (): void => {
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 200).unref();
    process.exit(0);
  };
  process.on('disconnect', die);
  const ppid = process.ppid;
  setInterval(() => {
    if (process.ppid !== ppid) process.kill(process.pid, 'SIGKILL');
  }, 500).unref();
}

// ---- the interpreter thread ----------------------------------------------------------------------

async function interpreter(data: InterpreterData): Promise<void> {
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

if (isMainThread) {
  childMain();
} else if ((workerData as Partial<InterpreterData> | null)?.role === ROLE) {
  interpreter(workerData as InterpreterData).catch((err: unknown) => {
    process.stderr.write(`script interpreter: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(70);
  });
}
