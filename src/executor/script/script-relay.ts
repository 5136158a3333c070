// The main thread of a script-pool child (script-worker-main.ts starts it). It only relays: runs
// and aborts from the pool to the interpreter thread (script-interpreter.ts), endings, log lines
// and samples back, plus a heartbeat. It never runs user code, so it always answers; it sets the
// abort flags in shared memory that the interpreter's interrupt handler reads, and it watches for
// the pool's death itself (no watchdog thread is needed).

import { ABORT_FLAG, ABORT_SLOTS, isToChild, type FromChild, type FromChildBatch, type ScriptChildConfig, type ThreadBegun, type ThreadReady, type ThreadRun } from './script-protocol.js';
import { HEARTBEAT_MS, STALL_MS, TICK_MS } from './script-limits.js';
import { startInterpreterThread } from './script-thread-bootstrap.js';

/** Relays between the pool and this child's interpreter thread until the pool goes away. */
export function runRelay(): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    process.stderr.write('script-worker-main must be started by the script pool (no IPC channel)\n');
    process.exit(64);
  }
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ScriptChildConfig;
  const flags = new Int32Array(new SharedArrayBuffer(ABORT_SLOTS * 4));
  // [0]: when the interpreter's event loop last turned; [1]: the run it is executing (0: none);
  // [2]: its busy ms in all (see script-thread-bootstrap.ts).
  const tick = new Int32Array(new SharedArrayBuffer(12));
  const base = Date.now();
  const freeSlots: number[] = [];
  for (let i = ABORT_SLOTS - 1; i >= 0; i--) freeSlots.push(i);
  const slotOf = new Map<number, number>();
  const thread = startInterpreterThread({ cfg, flags: flags.buffer as SharedArrayBuffer, tick: tick.buffer as SharedArrayBuffer, base });

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

  // Heartbeat: how long ago the interpreter's event loop last turned, this process's RSS, and how
  // busy the interpreter was since the last one. Only while runs are in flight: an idle child
  // costs the pool nothing.
  let busyMs = 0;
  let busyAt = performance.now();
  setInterval(() => {
    const now = performance.now();
    const lag = Math.max(0, Date.now() - base - Atomics.load(tick, 0));
    // The busy time the thread stored at its last beat, plus the time since then if it is overdue
    // (it could not store it: something held it).
    const busyNow = Atomics.load(tick, 2) + Math.max(0, lag - TICK_MS);
    const busy = Math.min(1000, Math.max(0, Math.round((((busyNow - busyMs) | 0) * 1000) / Math.max(1, now - busyAt))));
    busyMs = busyNow;
    busyAt = now;
    if (inflight <= 0) return;
    out.hb = [lag, process.memoryUsage.rss(), busy];
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
