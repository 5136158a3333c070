// Entry point of a module-pool worker child (forked by module-pool.ts). It speaks the protocol in
// module-protocol.ts: batches of runs in, batches of endings out, at most one message per
// event-loop turn each way. Kept free of heavy imports so a child starts fast.

import { AsyncLocalStorage } from 'node:async_hooks';
import { Worker } from 'node:worker_threads';
import { installConsoleCapture, type RunLog } from '../log-capture.js';
import { ModuleInvoker } from './module-invoke.js';
import { isToChild, MAX_BATCH, type FromChild, type FromChildBatch, type WireDone, type WireSample, type WorkerConfig } from './module-protocol.js';

const SAMPLE_INTERVAL_MS = 250;

const send = process.send?.bind(process);
if (send === undefined) {
  process.stderr.write('module-worker-main must be started by the module pool (no IPC channel)\n');
  process.exit(64);
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const als = new AsyncLocalStorage<RunLog>();
installConsoleCapture(als);

let outbox: WireDone[] = [];
let samples: WireSample[] = [];
let flushQueued = false;

/** Sends what ended, what running runs logged and any samples so far, as one message. */
function flush(cb?: () => void): void {
  flushQueued = false;
  const logs = invoker.takeLogs();
  if (outbox.length === 0 && logs.length === 0 && samples.length === 0) {
    cb?.();
    return;
  }
  const msg: FromChildBatch = { t: 'batch', done: outbox };
  if (logs.length > 0) msg.logs = logs;
  if (samples.length > 0) msg.samples = samples;
  outbox = [];
  samples = [];
  if (!process.connected) {
    cb?.();
    return;
  }
  send!(msg, undefined, undefined, afterSend(cb));
}

/**
 * A send callback, so that a channel closing under a write (the pool closed or died) is not an
 * uncaught EPIPE: nothing can be reported any more, and 'disconnect' ends this process.
 */
function afterSend(cb?: () => void): (err: Error | null) => void {
  return () => cb?.();
}

function queueFlush(): void {
  if (!flushQueued) {
    flushQueued = true;
    // setImmediate (not a microtask) so every run that ends in this turn, including those whose
    // promises settle a few microtasks later, shares the message.
    setImmediate(flush);
  }
}

const invoker = new ModuleInvoker(
  cfg,
  als,
  (done) => {
    outbox.push(done);
    // A full batch goes at once so the parent can start on it while this turn goes on.
    if (cfg.coalesce === false || outbox.length >= MAX_BATCH) {
      flush();
      return;
    }
    queueFlush();
  },
  queueFlush,
);

// Peaks of memory between a run's start and end, and a sample a second of long runs. A quarter
// second keeps a short spike of a long run visible without costing anything measurable.
setInterval(() => {
  if (invoker.size === 0) return;
  const due = invoker.sample(Date.now());
  if (due.length === 0) return;
  for (const s of due) samples.push(s);
  queueFlush();
}, SAMPLE_INTERVAL_MS).unref();

process.on('message', (msg: unknown) => {
  if (!isToChild(msg)) {
    process.stderr.write(`module worker: unknown message ${JSON.stringify(msg).slice(0, 200)}\n`);
    return;
  }
  for (const run of msg.runs) invoker.start(run);
  // After the starts: a batch may start a run and abort it in the same turn.
  for (const [id, reason] of msg.aborts) invoker.abort(id, reason);
});

// The parent closed the channel (graceful close, or it died): nothing can be reported any more.
process.on('disconnect', () => process.exit(0));

// A throw nobody caught may have left shared state broken: report what already ended, then exit
// so the pool replaces this child (its in-flight runs fail `worker_crashed`).
process.on('uncaughtException', (err) => {
  process.stderr.write(`module worker: uncaught exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  const timer = setTimeout(() => process.exit(70), 500);
  flush(() => {
    clearTimeout(timer);
    process.exit(70);
  });
});

// A stray rejected promise cannot corrupt synchronous state, so it does not cost the other runs
// their child; it is reported on stderr (the pool keeps a tail of it for crash reports).
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`module worker: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
});

// If the parent dies while this child spins in a synchronous loop, 'disconnect' never runs. A
// tiny watchdog thread notices the re-parenting and kills the process, so no child outlives the
// pool. It has its own event loop, so it works while the main thread is stuck.
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 500);`,
  { eval: true, workerData: process.ppid, execArgv: [], stdout: false, stderr: false },
);
watchdog.unref();

// The pool may already have closed the channel (closed while this child was starting).
if (process.connected) send({ t: 'ready', pid: process.pid } satisfies FromChild, undefined, undefined, afterSend());
