// The pool that runs `module` tasks: N long-lived worker child processes, each running many runs
// at once (BullMQ's sandboxed processors are the model). Starting Node costs tens of ms of CPU,
// so a process per run could not reach tens of thousands of runs per second on two cores.
//
// The parent owns every deadline. A run past its timeout (or cancelled) gets its ctx.signal
// aborted in the child; one that has not settled killGraceMs later (a synchronous loop, code that
// ignores the signal) gets its whole child SIGKILLed and replaced, and the other runs on that
// child fail `worker_lost` so the scheduler retries them by policy.
//
// Deadlines use one timer for the whole pool, armed at the earliest deadline, instead of a timer
// per run: at 40,000 runs/s a Timeout object and a clearTimeout per run are measurable, while
// here the hot path only compares a number (deadline-sweeper.ts, shared with the script pool).
//
// Resource metrics come from the child (worker-usage.ts): the worker's CPU, peak resident size and
// storage writes while the run was in flight. Log lines stream per turn to `onLogs`.

import { fork, type ChildProcess } from 'node:child_process';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import { runError } from '../core/run-errors.js';
import type { LogLine, ModuleSpec } from '../core/types.js';
import type { LogSink, RunJob, RunOutcome, SampleSink } from './executor.js';
import { createModuleFileChecker, type ModuleFileCheck } from './module-file.js';
import { isFromChild, MAX_BATCH, type AbortReason, type ToChild, type WireRun, type WorkerConfig } from './module-protocol.js';
import { DeadlineSweeper } from './deadline-sweeper.js';
import { fromWireLines } from './log-capture.js';
import { failedOutcome, makeOutcome } from './outcome.js';
import { backoff, childExecArgv, refChild, unrefChild, watchChildEnd, workerEntryBeside } from './worker-process.js';

export interface ModulePoolOptions {
  tasksDir: string;
  workers: number;
  logMaxBytes: number;
  resultMaxBytes: number;
  /** How long a timed-out or cancelled run may take to settle before its child is killed. */
  killGraceMs?: number;
  clock: Clock;
  bus: EventBus;
  /** Child entry point; tests point it at a broken one. Default: module-worker-main next to this file. */
  workerEntry?: string;
  /** false sends every run in its own IPC message; only to measure what batching buys. */
  coalesce?: boolean;
  /** A child that has not said `ready` by then counts as failed to start. */
  startTimeoutMs?: number;
  /**
   * What children print outside any run (a task's top-level code, a stray timer, crash reports).
   * Default: the parent's stderr, prefixed with the child's pid, for the operator.
   */
  onChildOutput?: (pid: number, text: string) => void;
  /** Receives log lines as runs write them; without it, each outcome carries its run's lines. */
  onLogs?: LogSink;
  /** Receives resource samples of runs longer than a second. */
  onSample?: SampleSink;
}

type Ending = 'timed_out' | 'cancelled';
type KillReason = 'grace' | 'close' | 'start_timeout';

/** One run the pool has accepted and not yet answered. */
class Flight {
  /** performance.now() of the moment the run must have ended. */
  readonly deadline: number;
  /** Once ending: when its child is killed if the run has not settled. */
  killAt = Infinity;
  /** Set once the deadline passed or the signal aborted: the status is decided. */
  ending: Ending | null = null;
  slot: Slot | null = null;
  done = false;
  /** Lines streamed before the end, kept for the outcome when the pool has no log sink. */
  lines: LogLine[] | null = null;

  constructor(
    readonly id: number,
    readonly job: RunJob,
    readonly wire: WireRun,
    readonly resolve: (outcome: RunOutcome) => void,
    now: number,
  ) {
    this.deadline = now + Math.max(0, job.timeoutMs);
  }
}

/** One place for a child: the child is replaced in its slot when it dies. */
interface Slot {
  index: number;
  /** `exiting`: the process is gone and its last messages are being read; it takes no new runs. */
  state: 'starting' | 'ready' | 'exiting' | 'waiting' | 'closed';
  /** Whether the current child said `ready` (a child that dies before that failed to start). */
  started: boolean;
  proc: ChildProcess | null;
  pid: number;
  exited: Promise<void>;
  inflight: Map<number, Flight>;
  outRuns: WireRun[];
  outAborts: [number, AbortReason][];
  dirty: boolean;
  killReason: KillReason | null;
  startedAt: number;
  /** Consecutive failed starts; drives the back-off and `worker_start_failed`. */
  startFailures: number;
  /** Consecutive crashes soon after start (a task that exits the process on every run). */
  quickCrashes: number;
  stdTail: string;
  startTimer: NodeJS.Timeout | null;
  respawnTimer: NodeJS.Timeout | null;
}

const DEFAULT_KILL_GRACE_MS = 1000;
const DEFAULT_START_TIMEOUT_MS = 20_000;
/** A child that crashes sooner than this after start counts towards the crash back-off. */
const QUICK_CRASH_MS = 2000;
const FILE_CHECK_TTL_MS = 1000;
const STD_TAIL_CHARS = 4000;
/** After disconnecting an idle child at close, how long it may take to exit before SIGKILL. */
const DISCONNECT_WAIT_MS = 500;

function defaultChildOutput(pid: number, text: string): void {
  process.stderr.write(text.replace(/^(?=.)/gm, `[sundial module worker ${pid}] `));
}

/** Runs `module` jobs in a pool of worker child processes. */
export class ModulePool {
  readonly #o: ModulePoolOptions;
  readonly #clock: Clock;
  readonly #killGraceMs: number;
  readonly #entry: string;
  readonly #coalesce: boolean;
  readonly #slots: Slot[] = [];
  /** Accepted runs waiting for a ready child (at start-up, or while children are replaced). */
  readonly #queue = new Set<Flight>();
  /** Flights by run id, for cancel. */
  readonly #byRun = new Map<string, Flight>();
  readonly #checkFile: (file: unknown) => ModuleFileCheck;
  #nextId = 1;
  #inflight = 0;
  #closing = false;
  #closed: Promise<void> | null = null;
  #drained: (() => void) | null = null;
  readonly #deadlines = new DeadlineSweeper<Flight>({
    forEachFlight: (visit) => {
      for (const f of this.#queue) visit(f);
      for (const s of this.#slots) for (const f of s.inflight.values()) visit(f);
    },
    expire: (f) => this.#expire(f, 'timed_out'),
    kill: (f) => this.#killForGrace(f),
  });
  #flushQueued = false;
  #dirtySlots: Slot[] = [];
  #refd = true;
  readonly #onProcessExit = (): void => {
    for (const s of this.#slots) s.proc?.kill('SIGKILL');
  };

  constructor(opts: ModulePoolOptions) {
    this.#o = opts;
    this.#clock = opts.clock;
    this.#killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.#entry = opts.workerEntry ?? workerEntryBeside(import.meta.url, 'module-worker-main');
    this.#coalesce = opts.coalesce ?? true;
    this.#checkFile = createModuleFileChecker(opts.tasksDir, FILE_CHECK_TTL_MS);
    for (let i = 0; i < Math.max(1, opts.workers); i++) {
      const slot: Slot = {
        index: i,
        state: 'waiting',
        started: false,
        proc: null,
        pid: -1,
        exited: Promise.resolve(),
        inflight: new Map(),
        outRuns: [],
        outAborts: [],
        dirty: false,
        killReason: null,
        startedAt: 0,
        startFailures: 0,
        quickCrashes: 0,
        stdTail: '',
        startTimer: null,
        respawnTimer: null,
      };
      this.#slots.push(slot);
      this.#spawn(slot);
    }
    // Last resort if the parent exits without close(): children also watch for that themselves.
    process.once('exit', this.#onProcessExit);
    this.#setRef(false);
  }

  /** Pids of the live children (for tests and diagnostics). */
  pids(): number[] {
    return this.#slots.filter((s) => s.proc !== null && s.pid > 0).map((s) => s.pid);
  }

  /** Resolves once every slot has a ready child (or failed to start); for tests and warm-up. */
  async ready(): Promise<void> {
    while (this.#slots.some((s) => s.state === 'starting')) await new Promise((r) => setTimeout(r, 10));
  }

  /** Runs one module job; never rejects. */
  run(job: RunJob): Promise<RunOutcome> {
    const clock = this.#clock;
    if (this.#closing) return Promise.resolve(failedOutcome(clock, 'shutting_down', 'the executor is closing'));
    const spec = job.spec as Partial<ModuleSpec> | null;
    const exportName = spec?.export ?? 'default';
    if (typeof exportName !== 'string' || exportName === '') {
      return Promise.resolve(failedOutcome(clock, 'invalid_spec', 'spec.export must be a non-empty string'));
    }
    const check = this.#checkFile(spec?.file);
    if (!check.ok) return Promise.resolve(failedOutcome(clock, check.code, check.message));

    return new Promise<RunOutcome>((resolve) => {
      const id = this.#nextId++;
      const wire: WireRun = {
        id,
        file: check.path,
        export: exportName,
        payload: job.payload,
        runId: job.runId,
        attempt: job.attempt,
        scheduledFor: job.scheduledFor,
        idempotencyKey: job.idempotencyKey,
        taskId: job.taskId,
        taskName: job.taskName,
      };
      const f = new Flight(id, job, wire, resolve, performance.now());
      this.#byRun.set(job.runId, f);
      if (this.#inflight++ === 0) this.#setRef(true);
      this.#deadlines.arm(f.deadline);
      this.#dispatch(f);
    });
  }

  /** Cancels the run with this id if it is in flight here (its outcome becomes `cancelled`). */
  cancel(runId: string): boolean {
    const f = this.#byRun.get(runId);
    if (f === undefined || f.done) return false;
    this.#expire(f, 'cancelled');
    return true;
  }

  /** Stops accepting runs, waits up to `graceMs` for those in flight, then kills every child. */
  close(graceMs: number): Promise<void> {
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#setRef(true);
    for (const f of this.#queue) this.#finish(f, failedOutcome(this.#clock, 'shutting_down', 'the executor closed before the run started'));
    this.#queue.clear();
    if (this.#inflight > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.#drained = null;
    }
    for (const slot of this.#slots) {
      if (slot.respawnTimer) clearTimeout(slot.respawnTimer);
      if (slot.startTimer) clearTimeout(slot.startTimer);
      slot.respawnTimer = slot.startTimer = null;
      const proc = slot.proc;
      if (slot.state !== 'closed') slot.state = 'closed';
      if (proc === null) continue;
      if (slot.inflight.size > 0 || !proc.connected) {
        slot.killReason = 'close';
        proc.kill('SIGKILL');
      } else {
        // An idle child exits by itself on disconnect; the timer catches one kept busy by a
        // stray timer or loop of some task.
        slot.killReason = 'close';
        proc.disconnect();
        const t = setTimeout(() => proc.kill('SIGKILL'), DISCONNECT_WAIT_MS);
        void slot.exited.then(() => clearTimeout(t));
      }
    }
    await Promise.all(this.#slots.map((s) => s.exited));
    this.#deadlines.stop();
    process.removeListener('exit', this.#onProcessExit);
  }

  // ---- files -------------------------------------------------------------------------------

  // ---- dispatch and IPC --------------------------------------------------------------------

  #dispatch(f: Flight): void {
    let best: Slot | null = null;
    for (const s of this.#slots) {
      if (s.state === 'ready' && (best === null || s.inflight.size < best.inflight.size)) best = s;
    }
    if (best !== null) {
      f.slot = best;
      best.inflight.set(f.id, f);
      best.outRuns.push(f.wire);
      this.#markDirty(best);
      return;
    }
    if (this.#slots.some((s) => this.#canServeSoon(s))) {
      this.#queue.add(f);
      return;
    }
    this.#finish(f, failedOutcome(this.#clock, 'worker_start_failed', 'no worker process could be started', { output: this.#lastTail() }));
  }

  #markDirty(slot: Slot): void {
    if (!this.#coalesce) {
      this.#flushSlot(slot);
      return;
    }
    if (slot.outRuns.length >= MAX_BATCH) {
      // A full batch goes now: the child starts on it while this turn is still producing more.
      this.#flushSlot(slot);
      return;
    }
    if (!slot.dirty) {
      slot.dirty = true;
      this.#dirtySlots.push(slot);
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      // setImmediate rather than a microtask: runs started from many promise continuations in
      // this turn (the dispatcher's own batches) all land in one message.
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const slots = this.#dirtySlots;
    this.#dirtySlots = [];
    for (const s of slots) this.#flushSlot(s);
  };

  #flushSlot(slot: Slot): void {
    slot.dirty = false;
    if (slot.outRuns.length === 0 && slot.outAborts.length === 0) return;
    const msg: ToChild = { t: 'batch', runs: slot.outRuns, aborts: slot.outAborts };
    slot.outRuns = [];
    slot.outAborts = [];
    const proc = slot.proc;
    if (proc === null || !proc.connected) return; // its exit handler answers the runs
    try {
      proc.send(msg);
    } catch {
      // The channel closed under us; the exit handler answers the runs.
    }
  }

  #onMessage(slot: Slot, proc: ChildProcess, msg: unknown): void {
    if (slot.proc !== proc) return;
    if (!isFromChild(msg)) return;
    if (msg.t === 'ready') {
      if (this.#closing) return;
      if (slot.startTimer) clearTimeout(slot.startTimer);
      slot.startTimer = null;
      slot.state = 'ready';
      slot.started = true;
      slot.startFailures = 0;
      this.#drainQueue();
      return;
    }
    const clock = this.#clock;
    if (msg.logs !== undefined) {
      for (const [id, wire] of msg.logs) {
        const f = slot.inflight.get(id);
        if (f !== undefined) this.#collect(f, fromWireLines(wire));
      }
    }
    if (msg.samples !== undefined && this.#o.onSample !== undefined) {
      for (const [id, at, cpuMs, rssBytes, diskWriteBytes] of msg.samples) {
        const f = slot.inflight.get(id);
        if (f !== undefined) this.#o.onSample(f.job, { at, cpuMs, rssBytes, diskWriteBytes });
      }
    }
    for (const d of msg.done) {
      const f = slot.inflight.get(d.id);
      if (f === undefined) continue;
      slot.inflight.delete(d.id);
      const logs = this.#collect(f, fromWireLines(d.logs));
      const logsTruncated = d.truncated === true;
      let outcome: RunOutcome;
      if (f.ending !== null) {
        outcome = this.#endingOutcome(f, f.ending, logs, logsTruncated, { settled: d.ok ? 'returned' : d.code });
      } else if (d.ok) {
        outcome = makeOutcome(clock, 'succeeded', { result: d.result, logs, logsTruncated });
      } else if (d.code === 'aborted_before_start') {
        outcome = failedOutcome(clock, 'internal', 'the worker aborted a run nobody aborted', undefined, { logs, logsTruncated });
      } else {
        outcome = failedOutcome(clock, d.code, d.message, d.detail, { logs, logsTruncated });
      }
      if (d.u !== undefined) [outcome.cpuMs, outcome.peakRssBytes, outcome.diskWriteBytes] = d.u;
      this.#finish(f, outcome);
    }
  }

  /** Hands lines to the sink; without one, keeps them and returns all the run's lines so far. */
  #collect(f: Flight, lines: LogLine[]): LogLine[] {
    const sink = this.#o.onLogs;
    if (sink !== undefined) {
      if (lines.length > 0) sink(f.job, lines);
      return [];
    }
    if (f.lines === null) f.lines = lines;
    else for (const l of lines) f.lines.push(l);
    return f.lines;
  }

  #drainQueue(): void {
    if (this.#queue.size === 0) return;
    const waiting = [...this.#queue];
    this.#queue.clear();
    for (const f of waiting) if (!f.done) this.#dispatch(f);
  }

  // ---- deadlines ---------------------------------------------------------------------------

  /** The run's status is decided (timeout or cancel): tell the child, start the kill grace. */
  #expire(f: Flight, ending: Ending): void {
    if (f.done || f.ending !== null) return;
    f.ending = ending;
    const slot = f.slot;
    if (slot === null) {
      // Still queued: it never started, so there is nothing to stop.
      this.#queue.delete(f);
      this.#finish(f, this.#endingOutcome(f, ending, [], false, { started: false }));
      return;
    }
    f.killAt = performance.now() + this.#killGraceMs;
    slot.outAborts.push([f.id, ending === 'timed_out' ? 'timeout' : 'cancel']);
    this.#markDirty(slot);
    this.#deadlines.arm(f.killAt);
  }

  #killForGrace(f: Flight): void {
    const slot = f.slot;
    if (slot === null || slot.proc === null || slot.killReason !== null) return;
    slot.killReason = 'grace';
    slot.proc.kill('SIGKILL');
  }

  #endingOutcome(f: Flight, ending: Ending, logs: LogLine[], logsTruncated: boolean, detail: Record<string, unknown>): RunOutcome {
    const error =
      ending === 'timed_out'
        ? runError('timeout', `the run did not finish within ${f.job.timeoutMs} ms`, detail)
        : runError('cancelled', 'the run was cancelled', detail);
    return makeOutcome(this.#clock, ending, { error, logs, logsTruncated });
  }

  #finish(f: Flight, outcome: RunOutcome): void {
    if (f.done) return;
    f.done = true;
    this.#byRun.delete(f.job.runId);
    f.resolve(outcome);
    if (--this.#inflight === 0) {
      if (this.#drained !== null) this.#drained();
      else if (!this.#closing) this.#setRef(false);
    }
  }

  // ---- children ----------------------------------------------------------------------------

  #spawn(slot: Slot): void {
    slot.respawnTimer = null;
    if (this.#closing) {
      slot.state = 'closed';
      return;
    }
    const cfg: WorkerConfig = { logMaxBytes: this.#o.logMaxBytes, resultMaxBytes: this.#o.resultMaxBytes, coalesce: this.#coalesce };
    let proc: ChildProcess;
    try {
      proc = fork(this.#entry, [JSON.stringify(cfg)], {
        execArgv: childExecArgv(),
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
      });
    } catch (err) {
      this.#startFailed(slot, null, `fork failed: ${(err as Error).message}`);
      return;
    }
    if (!this.#refd) unrefChild(proc);
    slot.proc = proc;
    slot.pid = proc.pid ?? -1;
    slot.state = 'starting';
    slot.started = false;
    slot.killReason = null;
    slot.stdTail = '';
    slot.startedAt = performance.now();
    let resolveExited!: () => void;
    slot.exited = new Promise<void>((r) => (resolveExited = r));
    const pid = slot.pid;
    const onOutput = this.#o.onChildOutput ?? defaultChildOutput;
    const keepTail = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      // The tail only ever reaches a run through worker_start_failed: start-up output carries no
      // other run's data. Crash output may (another tenant's stray logs), so it goes to the operator.
      if (!slot.started) slot.stdTail = (slot.stdTail + text).slice(-STD_TAIL_CHARS);
      onOutput(pid, text);
    };
    proc.stdout?.on('data', keepTail);
    proc.stderr?.on('data', keepTail);
    proc.on('message', (msg) => this.#onMessage(slot, proc, msg));
    watchChildEnd(
      proc,
      () => {
        if (slot.proc === proc && slot.state !== 'closed') slot.state = 'exiting';
      },
      (code, signal, spawnError) => {
        if (spawnError !== null) slot.stdTail += `\n${spawnError.message}`;
        this.#onExit(slot, proc, code, signal);
        resolveExited();
      },
    );
    slot.startTimer = setTimeout(() => {
      slot.startTimer = null;
      if (slot.proc === proc && slot.state === 'starting') {
        slot.killReason = 'start_timeout';
        proc.kill('SIGKILL');
      }
    }, this.#o.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    slot.startTimer.unref();
  }

  #onExit(slot: Slot, proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.proc !== proc) return;
    const wasStarting = !slot.started;
    const reason = slot.killReason;
    slot.proc = null;
    if (slot.startTimer) clearTimeout(slot.startTimer);
    slot.startTimer = null;
    const expected = reason === 'grace' || reason === 'close';
    this.#o.bus.emit('pool:child:exit', { pid: slot.pid, code, signal, expected });

    const clock = this.#clock;
    const tail = slot.stdTail.slice(-STD_TAIL_CHARS);
    const runs = [...slot.inflight.values()];
    slot.inflight.clear();
    slot.outRuns = [];
    slot.outAborts = [];
    for (const f of runs) {
      if (f.ending !== null) {
        this.#finish(f, this.#endingOutcome(f, f.ending, f.lines ?? [], false, { killed: true, afterGraceMs: this.#killGraceMs }));
      } else if (reason === 'grace') {
        this.#finish(f, failedOutcome(clock, 'worker_lost', 'the worker was killed because another run on it did not stop within its kill grace'));
      } else if (reason === 'close') {
        this.#finish(f, failedOutcome(clock, 'worker_lost', 'the executor closed before the run finished'));
      } else {
        this.#finish(f, failedOutcome(clock, 'worker_crashed', `the worker process exited unexpectedly (code ${code}, signal ${signal})`, { code, signal }));
      }
    }

    if (this.#closing) {
      slot.state = 'closed';
      return;
    }
    if (wasStarting) {
      this.#startFailed(slot, code, tail);
      return;
    }
    const lived = performance.now() - slot.startedAt;
    slot.quickCrashes = reason === null && lived < QUICK_CRASH_MS ? slot.quickCrashes + 1 : 0;
    // The first crash is replaced at once; a child that keeps dying young backs off.
    this.#respawnLater(slot, slot.quickCrashes <= 1 ? 0 : backoff(slot.quickCrashes - 1));
  }

  /** A slot that serves now or will after a restart that is not a start-failure back-off. */
  #canServeSoon(s: Slot): boolean {
    return s.state === 'ready' || s.state === 'starting' || ((s.state === 'waiting' || s.state === 'exiting') && s.startFailures === 0);
  }

  #startFailed(slot: Slot, code: number | null, tail: string): void {
    slot.proc = null;
    slot.startFailures++;
    slot.stdTail = tail;
    this.#respawnLater(slot, backoff(slot.startFailures));
    // If no child can serve soon, the queued runs fail now rather than wait out the back-off.
    if (!this.#slots.some((s) => this.#canServeSoon(s))) {
      const waiting = [...this.#queue];
      this.#queue.clear();
      for (const f of waiting) {
        this.#finish(f, failedOutcome(this.#clock, 'worker_start_failed', `the worker process failed to start (exit code ${code})`, { output: tail }));
      }
    }
  }

  #respawnLater(slot: Slot, delayMs: number): void {
    slot.state = 'waiting';
    if (delayMs <= 0) {
      this.#spawn(slot);
      return;
    }
    slot.respawnTimer = setTimeout(() => this.#spawn(slot), delayMs);
    slot.respawnTimer.unref();
  }

  #lastTail(): string {
    return this.#slots.map((s) => s.stdTail).filter((t) => t !== '').join('\n').slice(-STD_TAIL_CHARS);
  }

  // While nothing is in flight the children must not keep the process alive (a program that
  // forgets close() still exits); while runs are in flight they must, or their results are lost.
  #setRef(on: boolean): void {
    this.#refd = on;
    for (const s of this.#slots) {
      if (s.proc === null) continue;
      if (on) refChild(s.proc);
      else unrefChild(s.proc);
    }
  }
}

