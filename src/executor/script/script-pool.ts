// The pool that runs `script` tasks: forked worker processes, each with an interpreter thread
// that runs many QuickJS sandboxes at once (they interleave at their awaits). The scheduler's
// process only does IPC here: no user code ever runs in it.
//
// Routing. A script that computes synchronously holds its worker's interpreter thread until it
// ends or is stopped, so a worker can be busy without being full. Each worker sends a heartbeat
// every 100 ms while it has runs, saying how long ago its interpreter last turned its event loop;
// a worker that has not turned for STALL_MS (or not sent a heartbeat) is "stalled" and gets no
// new runs. A run goes to the least loaded worker that is neither stalled nor full
// (perWorkerConcurrency); if there is none, it waits in a FIFO queue, and the pool starts one
// extra worker at a time, up to maxWorkers, while the queue is not empty. Extra workers leave
// again after a while idle.
//
// Deadlines, kill grace and close are module-pool.ts's: one timer for the whole pool
// (deadline-sweeper.ts); a run past its deadline (or cancelled) is aborted in the child, and a
// child that has not ended it killGraceMs later is SIGKILLed and replaced (its other runs fail
// `worker_lost`). In practice the
// abort lands within milliseconds: the child sets a shared-memory flag that the run's interrupt
// handler reads even inside a tight loop.

import { fork, type ChildProcess } from 'node:child_process';
import type { Clock } from '../../core/clock.js';
import type { EventBus } from '../../core/events.js';
import { runError } from '../../core/run-errors.js';
import type { LogSink, RunJob, RunOutcome, SampleSink } from '../executor.js';
import { DeadlineSweeper } from '../deadline-sweeper.js';
import { fromWireLines } from '../log-capture.js';
import { failedOutcome, makeOutcome } from '../outcome.js';
import { backoff, childExecArgv, refChild, unrefChild, watchChildEnd, workerEntryBeside } from '../worker-process.js';
import { DEFAULT_FETCH_MAX_BYTES, DEFAULT_MEMORY_BYTES, HEARTBEAT_MS, runMemoryBytes, STALL_MS } from './script-limits.js';
import { isFromChild, type AbortReason, type FromChildBatch, type ToChildBatch, type WireScriptDone, type WireScriptRun, type WireUsage } from './script-protocol.js';
import type { ScriptChildConfig } from './script-worker-main.js';

export interface ScriptPoolOptions {
  /** Worker processes kept while the pool is in use (started on the first run). */
  workers: number;
  /** Upper bound with the extra workers started while all others are stalled or full. Default max(workers × 2, 8). */
  maxWorkers?: number;
  /** Runs one worker holds at once. Default 8. */
  perWorkerConcurrency?: number;
  /** Interpreter memory of a run whose spec sets none. Default 128 MiB. */
  defaultMemoryBytes?: number;
  /** No run gets more interpreter memory than this, whatever its spec asks. */
  memoryMaxBytes: number;
  logMaxBytes: number;
  resultMaxBytes: number;
  /** Cap of one fetch response body. Default 1 MiB. */
  fetchMaxBytes?: number;
  /** Hosts, addresses and CIDR ranges a script's fetch may reach although private or loopback. */
  outboundAllow: readonly string[];
  /** How long an aborted run may take to end before its worker is killed. Default 1000 ms. */
  killGraceMs?: number;
  /** A worker whose resident memory passes this is killed and replaced. Default: see below. */
  workerMaxRssBytes?: number;
  /** Extra workers (beyond `workers`) idle this long are stopped. Default 30 s. */
  extraIdleMs?: number;
  /** A worker that has not said `ready` by then counts as failed to start. Default 20 s. */
  startTimeoutMs?: number;
  clock: Clock;
  bus: EventBus;
  /** Receives every run's log lines while it runs; `RunOutcome.logs` stays empty. */
  onLogs: LogSink;
  onSample?: SampleSink;
  /** Child entry point; tests point it at a broken one. Default: script-worker-main next to this file. */
  workerEntry?: string;
  /** What children print outside any run. Default: the parent's stderr, prefixed with the pid. */
  onChildOutput?: (pid: number, text: string) => void;
}

type Ending = 'timed_out' | 'cancelled';
type KillReason = 'grace' | 'close' | 'start_timeout' | 'memory' | 'retire';

/** One run the pool has accepted and not yet answered. */
class Flight {
  /**
   * performance.now() by which the run must have ended. While it waits in the pool's queue this
   * bounds the wait (by the run's timeout); when a worker first takes it, the full timeout starts
   * again, so one tenant's scripts hogging every sandbox delay another's but do not time it out.
   */
  deadline: number;
  assigned = false;
  killAt = Infinity;
  ending: Ending | null = null;
  worker: Worker | null = null;
  done = false;

  constructor(
    readonly job: RunJob,
    readonly wire: WireScriptRun,
    readonly resolve: (outcome: RunOutcome) => void,
    now: number,
  ) {
    this.deadline = now + Math.max(0, job.timeoutMs);
  }
}

/** One worker process. */
interface Worker {
  /** Beyond the `workers` base count: stopped again once idle for extraIdleMs. */
  extra: boolean;
  /** `exiting`: the process is gone and its last messages are being read. */
  state: 'starting' | 'ready' | 'exiting';
  proc: ChildProcess;
  pid: number;
  exited: Promise<void>;
  inflight: Map<number, Flight>;
  outRuns: WireScriptRun[];
  outAborts: [number, AbortReason][];
  dirty: boolean;
  killReason: KillReason | null;
  startedAt: number;
  /** performance.now() of the last heartbeat (or of the moment it got work while idle). */
  lastHbAt: number;
  /** The interpreter's event-loop lag the last heartbeat reported. */
  lag: number;
  idleSince: number;
  stdTail: string;
  startTimer: NodeJS.Timeout | null;
}

const DEFAULT_KILL_GRACE_MS = 1000;
const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_EXTRA_IDLE_MS = 30_000;
const STD_TAIL_CHARS = 4000;
const DISCONNECT_WAIT_MS = 500;
/** A worker that crashes sooner than this after it started counts as failing to start. */
const QUICK_CRASH_MS = 2000;

/** Children get none of the server's environment (secrets, database URLs): a PATH only. */
function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
}

function defaultChildOutput(pid: number, text: string): void {
  process.stderr.write(text.replace(/^(?=.)/gm, `[sundial script worker ${pid}] `));
}

function withUsage(outcome: RunOutcome, u: WireUsage | undefined): RunOutcome {
  if (u !== undefined) {
    outcome.cpuMs = u[0];
    outcome.peakRssBytes = u[1];
  }
  outcome.diskWriteBytes = 0;
  return outcome;
}

/** Runs `script` jobs in QuickJS sandboxes inside a pool of worker processes. */
export class ScriptPool {
  readonly #o: ScriptPoolOptions;
  readonly #clock: Clock;
  readonly #entry: string;
  readonly #killGraceMs: number;
  readonly #concurrency: number;
  readonly #maxWorkers: number;
  readonly #defaultMemory: number;
  readonly #maxRss: number;
  readonly #cfg: ScriptChildConfig;
  #workers: Worker[] = [];
  /** Accepted runs waiting for a worker, oldest first. */
  readonly #queue = new Set<Flight>();
  readonly #byRun = new Map<string, Flight>();
  readonly #everReady = new WeakSet<Worker>();
  #nextId = 1;
  #inflight = 0;
  #started = false;
  #closing = false;
  #closed: Promise<void> | null = null;
  #drained: (() => void) | null = null;
  /** Consecutive workers that died before saying ready; drives back-off and `worker_start_failed`. */
  #startFailures = 0;
  #lastStartFailure = '';
  #respawnTimer: NodeJS.Timeout | null = null;
  #tickTimer: NodeJS.Timeout | null = null;
  readonly #deadlines = new DeadlineSweeper<Flight>({
    forEachFlight: (visit) => {
      for (const f of this.#queue) visit(f);
      for (const w of this.#workers) for (const f of w.inflight.values()) visit(f);
    },
    expire: (f) => this.#expire(f, 'timed_out'),
    kill: (f) => this.#killForGrace(f),
  });
  #flushQueued = false;
  #dirty: Worker[] = [];
  #refd = false;
  readonly #onProcessExit = (): void => {
    for (const w of this.#workers) w.proc.kill('SIGKILL');
  };

  constructor(opts: ScriptPoolOptions) {
    this.#o = opts;
    this.#clock = opts.clock;
    this.#entry = opts.workerEntry ?? workerEntryBeside(import.meta.url, 'script-worker-main');
    this.#killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.#concurrency = Math.max(1, opts.perWorkerConcurrency ?? DEFAULT_CONCURRENCY);
    const workers = Math.max(1, opts.workers);
    this.#maxWorkers = Math.max(workers, opts.maxWorkers ?? Math.max(workers * 2, 8));
    this.#defaultMemory = opts.defaultMemoryBytes ?? DEFAULT_MEMORY_BYTES;
    // Each run's wasm instance may grow to ~3× its limit (see script-limits.ts), plus the
    // interpreter thread's heap and Node itself.
    this.#maxRss = opts.workerMaxRssBytes ?? 768 * 1024 * 1024 + this.#concurrency * opts.memoryMaxBytes * 3;
    this.#cfg = {
      logMaxBytes: opts.logMaxBytes,
      resultMaxBytes: opts.resultMaxBytes,
      fetchMaxBytes: opts.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      outboundAllow: [...opts.outboundAllow],
      concurrency: this.#concurrency,
    };
  }

  /** Pids of the live workers (for tests and diagnostics). */
  pids(): number[] {
    return this.#workers.filter((w) => w.state !== 'exiting').map((w) => w.pid);
  }

  /** Starts the workers if they are not yet, and resolves once none is starting; for tests and warm-up. */
  async ready(): Promise<void> {
    this.#start();
    while (!this.#closing && this.#workers.some((w) => w.state === 'starting')) await new Promise((r) => setTimeout(r, 10));
  }

  /** Starts the workers now, ahead of the first run that needs them. */
  warm(): void {
    this.#start();
  }

  /** Runs one script job; never rejects. */
  run(job: RunJob): Promise<RunOutcome> {
    const clock = this.#clock;
    if (this.#closing) return Promise.resolve(failedOutcome(clock, 'shutting_down', 'the executor is closing'));
    const spec = job.spec as { code?: unknown } | null;
    if (spec === null || typeof spec !== 'object' || typeof spec.code !== 'string') {
      return Promise.resolve(failedOutcome(clock, 'invalid_spec', 'spec.code must be a string'));
    }
    this.#start();
    return new Promise<RunOutcome>((resolve) => {
      const wire: WireScriptRun = {
        id: this.#nextId++,
        code: spec.code as string,
        memoryBytes: runMemoryBytes(spec, this.#defaultMemory, this.#o.memoryMaxBytes),
        timeoutMs: job.timeoutMs,
        payload: job.payload,
        runId: job.runId,
        attempt: job.attempt,
        scheduledFor: job.scheduledFor,
        idempotencyKey: job.idempotencyKey,
        taskId: job.taskId,
        taskName: job.taskName,
      };
      const f = new Flight(job, wire, resolve, performance.now());
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

  /** Stops accepting runs, waits up to `graceMs` for those in flight, then kills every worker. */
  close(graceMs: number): Promise<void> {
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#closing = true;
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
    if (this.#respawnTimer) clearTimeout(this.#respawnTimer);
    if (this.#tickTimer) clearInterval(this.#tickTimer);
    this.#respawnTimer = this.#tickTimer = null;
    for (const w of this.#workers) this.#stopWorker(w, 'close');
    await Promise.all(this.#workers.map((w) => w.exited));
    this.#deadlines.stop();
    process.removeListener('exit', this.#onProcessExit);
  }

  // ---- routing -----------------------------------------------------------------------------

  /** The first run starts the base workers: a server without script tasks never loads QuickJS. */
  #start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    process.once('exit', this.#onProcessExit);
    for (let i = 0; i < Math.max(1, this.#o.workers); i++) this.#spawn(false);
    // Re-evaluates stalls while runs wait (time alone can make every worker stalled), and stops
    // idle extra workers.
    this.#tickTimer = setInterval(() => this.#tick(), HEARTBEAT_MS);
    this.#tickTimer.unref();
  }

  #stalled(w: Worker, now: number): boolean {
    return w.inflight.size > 0 && (w.lag > STALL_MS || now - w.lastHbAt > STALL_MS + HEARTBEAT_MS);
  }

  /** The least loaded worker that is ready, not stalled and not full. */
  #pick(now: number): Worker | null {
    let best: Worker | null = null;
    for (const w of this.#workers) {
      if (w.state !== 'ready' || w.inflight.size >= this.#concurrency || this.#stalled(w, now)) continue;
      if (best === null || w.inflight.size < best.inflight.size) best = w;
    }
    return best;
  }

  #dispatch(f: Flight): void {
    if (this.#queue.size === 0) {
      const w = this.#pick(performance.now());
      if (w !== null) {
        this.#assign(f, w);
        return;
      }
    }
    this.#queue.add(f);
    this.#grow();
  }

  #assign(f: Flight, w: Worker): void {
    f.worker = w;
    if (!f.assigned) {
      f.assigned = true;
      f.deadline = performance.now() + Math.max(0, f.job.timeoutMs);
      this.#deadlines.arm(f.deadline);
    }
    if (w.inflight.size === 0) {
      // An idle worker sends no heartbeats; its clock starts now.
      w.lastHbAt = performance.now();
      w.lag = 0;
    }
    w.inflight.set(f.wire.id, f);
    w.outRuns.push(f.wire);
    this.#markDirty(w);
  }

  #drainQueue(): void {
    const now = performance.now();
    for (const f of this.#queue) {
      const w = this.#pick(now);
      if (w === null) break;
      this.#queue.delete(f);
      this.#assign(f, w);
    }
    if (this.#queue.size > 0) this.#grow();
  }

  /** Starts one extra worker while runs wait and nothing is starting; fails them if none can start. */
  #grow(): void {
    if (this.#closing || this.#queue.size === 0) return;
    if (this.#workers.some((w) => w.state === 'starting') || this.#respawnTimer !== null) return;
    if (this.#workers.length < this.#maxWorkers) {
      this.#spawn(this.#workers.length >= this.#o.workers);
      return;
    }
    if (this.#workers.length === 0) this.#failQueue();
  }

  #failQueue(): void {
    const waiting = [...this.#queue];
    this.#queue.clear();
    for (const f of waiting) {
      this.#finish(f, failedOutcome(this.#clock, 'worker_start_failed', 'no script worker process could be started', { output: this.#lastStartFailure }));
    }
  }

  #tick(): void {
    if (this.#queue.size > 0) this.#drainQueue();
    const now = performance.now();
    // Every worker stalled or full while the pool is busy: start a spare before runs queue up
    // (a worker takes a second or more to start, longer than many scripts' timeouts).
    if (this.#inflight > 0 && this.#workers.length < this.#maxWorkers && this.#pick(now) === null) {
      if (!this.#workers.some((w) => w.state === 'starting') && this.#respawnTimer === null && !this.#closing) this.#spawn(true);
    }
    // Start failures are forgiven once a worker has stayed up for a while.
    if (this.#startFailures > 0 && this.#workers.some((w) => w.state === 'ready' && now - w.startedAt > QUICK_CRASH_MS)) this.#startFailures = 0;
    const idleLimit = this.#o.extraIdleMs ?? DEFAULT_EXTRA_IDLE_MS;
    for (const w of this.#workers) {
      if (w.extra && w.state === 'ready' && w.inflight.size === 0 && this.#queue.size === 0 && now - w.idleSince > idleLimit) this.#stopWorker(w, 'retire');
    }
  }

  // ---- IPC ---------------------------------------------------------------------------------

  #markDirty(w: Worker): void {
    if (!w.dirty) {
      w.dirty = true;
      this.#dirty.push(w);
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
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const w of dirty) {
      w.dirty = false;
      if (w.outRuns.length === 0 && w.outAborts.length === 0) continue;
      const msg: ToChildBatch = { t: 'batch', runs: w.outRuns, aborts: w.outAborts };
      w.outRuns = [];
      w.outAborts = [];
      if (!w.proc.connected) continue; // its exit handler answers the runs
      try {
        w.proc.send(msg);
      } catch {
        // The channel closed under us; the exit handler answers the runs.
      }
    }
  };

  #onMessage(w: Worker, msg: unknown): void {
    if (!isFromChild(msg) || !this.#workers.includes(w)) return;
    if (msg.t === 'ready') {
      if (w.startTimer) clearTimeout(w.startTimer);
      w.startTimer = null;
      if (this.#closing || w.state !== 'starting') return;
      w.state = 'ready';
      w.idleSince = performance.now();
      this.#everReady.add(w);
      this.#drainQueue();
      return;
    }
    this.#onBatch(w, msg);
  }

  #onBatch(w: Worker, msg: FromChildBatch): void {
    if (msg.hb !== undefined) {
      w.lastHbAt = performance.now();
      w.lag = msg.hb[0];
      if (msg.hb[1] > this.#maxRss && w.killReason === null) {
        process.stderr.write(`[sundial script worker ${w.pid}] resident memory ${msg.hb[1]} bytes is over the ceiling of ${this.#maxRss}; killing it\n`);
        w.killReason = 'memory';
        w.proc.kill('SIGKILL');
      }
    }
    if (msg.logs !== undefined) {
      for (const [id, lines] of msg.logs) {
        const f = w.inflight.get(id);
        if (f === undefined || lines.length === 0) continue;
        try {
          this.#o.onLogs(f.job, fromWireLines(lines));
        } catch (err) {
          process.stderr.write(`script pool: the log sink threw: ${(err as Error).message}\n`);
        }
      }
    }
    if (msg.samples !== undefined && this.#o.onSample !== undefined) {
      for (const [id, at, cpuMs, rssBytes] of msg.samples) {
        const f = w.inflight.get(id);
        if (f === undefined) continue;
        try {
          this.#o.onSample(f.job, { at, cpuMs, rssBytes, diskWriteBytes: 0 });
        } catch (err) {
          process.stderr.write(`script pool: the sample sink threw: ${(err as Error).message}\n`);
        }
      }
    }
    for (const d of msg.done) {
      const f = w.inflight.get(d.id);
      if (f === undefined) continue;
      w.inflight.delete(d.id);
      this.#finish(f, this.#outcome(f, d));
    }
    if (msg.back !== undefined) this.#takeBack(w, msg.back);
    if (w.inflight.size === 0) w.idleSince = performance.now();
    if (this.#queue.size > 0) this.#drainQueue();
  }

  /** Runs a stalled worker handed back unstarted: first in line again, for another worker. */
  #takeBack(w: Worker, ids: number[]): void {
    const back: Flight[] = [];
    for (const id of ids) {
      const f = w.inflight.get(id);
      if (f === undefined) continue;
      w.inflight.delete(id);
      f.worker = null;
      if (f.ending !== null) this.#finish(f, withUsage(this.#endingOutcome(f, f.ending, false, { started: false }), undefined));
      else back.push(f);
    }
    if (back.length === 0) return;
    const rest = [...this.#queue];
    this.#queue.clear();
    for (const f of [...back, ...rest]) this.#queue.add(f);
  }

  #outcome(f: Flight, d: WireScriptDone): RunOutcome {
    const clock = this.#clock;
    const logsTruncated = d.truncated === true;
    if (f.ending === null && !d.ok && d.code === 'timeout') f.ending = 'timed_out';
    if (f.ending !== null) return withUsage(this.#endingOutcome(f, f.ending, logsTruncated, { settled: d.ok ? 'returned' : d.code }), d.u);
    if (d.ok) {
      const parts = d.result === undefined ? { logsTruncated } : { result: d.result, logsTruncated };
      return withUsage(makeOutcome(clock, 'succeeded', parts), d.u);
    }
    if (d.code === 'aborted') return withUsage(failedOutcome(clock, 'internal', 'the worker aborted a run nobody aborted', undefined, { logsTruncated }), d.u);
    return withUsage(failedOutcome(clock, d.code, d.message, d.detail, { logsTruncated }), d.u);
  }

  // ---- deadlines ---------------------------------------------------------------------------

  /** The run's status is decided (timeout or cancel): tell its worker, start the kill grace. */
  #expire(f: Flight, ending: Ending): void {
    if (f.done || f.ending !== null) return;
    f.ending = ending;
    const w = f.worker;
    if (w === null) {
      // Still queued: nothing ran, nothing to stop.
      this.#queue.delete(f);
      this.#finish(f, withUsage(this.#endingOutcome(f, ending, false, { started: false }), undefined));
      return;
    }
    f.killAt = performance.now() + this.#killGraceMs;
    w.outAborts.push([f.wire.id, ending === 'timed_out' ? 'timeout' : 'cancel']);
    this.#markDirty(w);
    this.#deadlines.arm(f.killAt);
  }

  #killForGrace(f: Flight): void {
    const w = f.worker;
    if (w === null || w.killReason !== null) return;
    w.killReason = 'grace';
    w.proc.kill('SIGKILL');
  }

  #endingOutcome(f: Flight, ending: Ending, logsTruncated: boolean, detail: Record<string, unknown>): RunOutcome {
    const error =
      ending === 'timed_out'
        ? runError('timeout', `the run did not finish within ${f.job.timeoutMs} ms`, detail)
        : runError('cancelled', 'the run was cancelled', detail);
    return makeOutcome(this.#clock, ending, { error, logsTruncated });
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

  // ---- workers -----------------------------------------------------------------------------

  #spawn(extra: boolean): void {
    if (this.#closing) return;
    let proc: ChildProcess;
    try {
      proc = fork(this.#entry, [JSON.stringify(this.#cfg)], {
        // Relative and bare preloads would resolve against `/`, the children's cwd.
        execArgv: childExecArgv(true),
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
        env: childEnv(),
        cwd: '/',
      });
    } catch (err) {
      this.#startFailed(`fork failed: ${(err as Error).message}`);
      return;
    }
    let resolveExited!: () => void;
    const w: Worker = {
      extra,
      state: 'starting',
      proc,
      pid: proc.pid ?? -1,
      exited: new Promise<void>((r) => (resolveExited = r)),
      inflight: new Map(),
      outRuns: [],
      outAborts: [],
      dirty: false,
      killReason: null,
      startedAt: performance.now(),
      lastHbAt: 0,
      lag: 0,
      idleSince: performance.now(),
      stdTail: '',
      startTimer: null,
    };
    this.#workers.push(w);
    if (!this.#refd) unrefChild(proc);
    const onOutput = this.#o.onChildOutput ?? defaultChildOutput;
    const keep = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      // Only start-up output can reach a run (through worker_start_failed); it holds no run's data.
      if (w.state === 'starting') w.stdTail = (w.stdTail + text).slice(-STD_TAIL_CHARS);
      onOutput(w.pid, text);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('message', (msg) => this.#onMessage(w, msg));
    watchChildEnd(
      proc,
      () => {
        w.state = 'exiting';
      },
      (code, signal, spawnError) => {
        if (spawnError !== null) w.stdTail += `\n${spawnError.message}`;
        this.#onExit(w, code, signal);
        resolveExited();
      },
    );
    w.startTimer = setTimeout(() => {
      w.startTimer = null;
      if (w.state === 'starting') this.#stopWorker(w, 'start_timeout');
    }, this.#o.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    w.startTimer.unref();
  }

  #stopWorker(w: Worker, reason: KillReason): void {
    if (w.killReason !== null && reason !== 'close') return;
    w.killReason = reason;
    if (w.inflight.size > 0 || !w.proc.connected || reason === 'start_timeout') {
      w.proc.kill('SIGKILL');
      return;
    }
    // An idle worker exits by itself on disconnect; the timer catches one that does not.
    w.proc.disconnect();
    const t = setTimeout(() => w.proc.kill('SIGKILL'), DISCONNECT_WAIT_MS);
    void w.exited.then(() => clearTimeout(t));
  }

  #onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const i = this.#workers.indexOf(w);
    if (i < 0) return;
    this.#workers.splice(i, 1);
    if (w.startTimer) clearTimeout(w.startTimer);
    const reason = w.killReason;
    const expected = reason === 'grace' || reason === 'close' || reason === 'retire';
    this.#o.bus.emit('pool:child:exit', { pid: w.pid, code, signal, expected });

    const clock = this.#clock;
    for (const f of w.inflight.values()) {
      if (f.ending !== null) {
        this.#finish(f, withUsage(this.#endingOutcome(f, f.ending, false, { killed: true, afterGraceMs: this.#killGraceMs }), undefined));
      } else if (reason === 'grace') {
        this.#finish(f, failedOutcome(clock, 'worker_lost', 'the worker was killed because another run on it did not stop within its kill grace'));
      } else if (reason === 'memory') {
        this.#finish(f, failedOutcome(clock, 'worker_lost', 'the worker was killed because its resident memory passed the ceiling', { ceilingBytes: this.#maxRss }));
      } else if (reason === 'close') {
        this.#finish(f, failedOutcome(clock, 'worker_lost', 'the executor closed before the run finished'));
      } else {
        this.#finish(f, failedOutcome(clock, 'worker_crashed', `the worker process exited unexpectedly (code ${code}, signal ${signal})`, { code, signal }));
      }
    }
    w.inflight.clear();
    if (this.#closing) return;
    // A worker that died before saying ready, or crashed right after, counts towards the
    // back-off: a broken entry or environment must not make the pool fork in a loop.
    const quickCrash = reason === null && performance.now() - w.startedAt < QUICK_CRASH_MS;
    if ((!this.#everReady.has(w) && reason !== 'close' && reason !== 'retire') || quickCrash) {
      this.#startFailures++;
      this.#lastStartFailure = w.stdTail.slice(-STD_TAIL_CHARS) || `exit code ${code}, signal ${signal}`;
    }
    this.#replenish();
  }

  /** Keeps `workers` processes while the pool is in use; a worker that keeps failing to start backs off. */
  #replenish(): void {
    if (this.#closing || this.#respawnTimer !== null) return;
    const missing = Math.max(1, this.#o.workers) - this.#workers.length;
    if (missing <= 0 && this.#queue.size === 0) return;
    if (this.#startFailures > 0) {
      // No worker can serve soon: the waiting runs fail now rather than wait out the back-off.
      if (!this.#workers.some((w) => w.state === 'ready' || w.state === 'starting')) this.#failQueue();
      this.#respawnTimer = setTimeout(() => {
        this.#respawnTimer = null;
        this.#spawn(false);
      }, backoff(this.#startFailures));
      // Runs waiting for the replacement keep the process alive; an idle pool does not.
      if (!this.#refd) this.#respawnTimer.unref();
      return;
    }
    for (let i = 0; i < missing; i++) this.#spawn(false);
    if (this.#queue.size > 0) this.#drainQueue();
  }

  #startFailed(message: string): void {
    this.#startFailures++;
    this.#lastStartFailure = message;
    this.#replenish();
  }

  // While nothing is in flight the workers must not keep the process alive (a program that
  // forgets close() still exits); while runs are in flight they must, or their results are lost.
  #setRef(on: boolean): void {
    this.#refd = on;
    if (on) this.#respawnTimer?.ref();
    else this.#respawnTimer?.unref();
    for (const w of this.#workers) {
      if (on) refChild(w.proc);
      else unrefChild(w.proc);
    }
  }
}

