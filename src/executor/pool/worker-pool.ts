// The pool of forked worker children that `module` and `script` tasks run in (BullMQ's sandboxed
// processors are the model). Starting Node costs tens of ms of CPU, so a process per run could not
// reach tens of thousands of runs per second on two cores: each child runs many runs at once, and
// the scheduler's process only does IPC with them.
//
// This file is what both kinds share; a kind brings its wire types, how to start its child, how a
// child's report becomes resource figures, and its placement rule (which child takes a run, how
// many children there are, what a failed start does): fixed slots for modules
// (module/fixed-slots.ts), elastic and stall-aware for scripts (script/elastic-workers.ts).
//
// The parent owns every deadline. A run past its timeout (or cancelled) is aborted in its child;
// one that has not settled killGraceMs later (a synchronous loop, code that ignores the signal)
// gets its whole child SIGKILLed and replaced, and the other runs on that child fail `worker_lost`
// so the scheduler retries them by policy. Deadlines use one timer for the whole pool
// (deadline-sweeper.ts): the hot path only compares a number.
//
// Both directions are batched per event-loop turn (pool-protocol.ts). Log lines stream per turn to
// the log sink; a sink or sample sink that throws is reported on the bus and never breaks a run.

import type { Clock } from '../../core/clock.js';
import type { EventBus } from '../../core/events.js';
import { runError } from '../../core/run-errors.js';
import type { LogLine } from '../../core/types.js';
import type { LogSink, RunJob, RunOutcome, SampleSink } from '../executor.js';
import { fromWireLines } from '../log-capture.js';
import { failedOutcome, makeOutcome } from '../outcome.js';
import { DeadlineSweeper } from './deadline-sweeper.js';
import { Flight, type Ending } from './flight.js';
import { PoolChild, type ChildEvents, type ChildSpec, type KillReason } from './pool-child.js';
import { MAX_BATCH, type FromChildBatch, type FromChildReady, type ToChildBatch, type WireEnd, type WireRunBase, type WireSampleBase } from './pool-protocol.js';
import { PoolReport, type PoolName } from './pool-report.js';

/** The wire types of one kind of pool, and what its placement rule keeps on each child. */
export interface PoolTypes {
  run: WireRunBase;
  end: WireEnd;
  batch: FromChildBatch<WireEnd, WireSampleBase>;
  tag: unknown;
}

/** The pool as its placement rule sees it. */
export interface PoolHost<P extends PoolTypes> {
  readonly clock: Clock;
  readonly report: PoolReport;
  /** close() was called: start nothing new. */
  readonly closing: boolean;
  /** Runs accepted and not yet answered, queued or on a child. */
  readonly inflight: number;
  /** The children, oldest first, until each is gone (an `exiting` one is still listed). */
  readonly children: readonly PoolChild<P>[];
  /** Runs waiting for a child, first in line first. */
  readonly queue: Set<Flight<P>>;
  /** Forks a child that carries `tag`; throws when fork fails. */
  spawn(tag: P['tag']): PoolChild<P>;
  /** Hands `f` to `child` (sent with this turn's batch). */
  assign(f: Flight<P>, child: PoolChild<P>): void;
  /** Answers `f`; later calls for the same run do nothing. */
  finish(f: Flight<P>, outcome: RunOutcome): void;
}

/** Where runs go and how many children there are: the part that differs between the kinds. */
export interface Placement<P extends PoolTypes> {
  /** The pool's first use: start the children this rule keeps. */
  start(): void;
  /** A run to place: assign it, queue it, or fail it. */
  place(f: Flight<P>): void;
  /** `child` said ready and can take runs. */
  ready(child: PoolChild<P>): void;
  /** After a batch of `child` was handled (its ended runs answered, runs it handed back queued). */
  afterBatch(child: PoolChild<P>, msg: P['batch']): void;
  /** `child` is gone and its runs are answered; replace it, or not. */
  gone(child: PoolChild<P>, code: number | null, signal: NodeJS.Signals | null): void;
  /** Timers of the rule's that must keep the process alive while runs are in flight. */
  setRef(on: boolean): void;
  /** The pool is closing: stop the rule's timers (the pool stops the children). */
  close(): void;
}

export interface WorkerPoolOptions<P extends PoolTypes> {
  name: PoolName;
  child: ChildSpec;
  /** Narrows a child's message to this kind's protocol. */
  isFromChild(msg: unknown): msg is FromChildReady | P['batch'];
  placement(host: PoolHost<P>): Placement<P>;
  /** Puts a run's resource figures on its outcome; `end` is undefined when the child never reported one. */
  usage(outcome: RunOutcome, end: P['end'] | undefined): void;
  /** A run's timeout starts again in full when a child first takes it (the wait in the queue is bounded by it too). */
  timeoutFromStart: boolean;
  /** Children start on the first run (or ready()/warm()) instead of at construction. */
  startOnFirstRun: boolean;
  /** How long an aborted run may take to settle before its child is killed. */
  killGraceMs: number;
  /** A child that has not said `ready` by then counts as failed to start. */
  startTimeoutMs: number;
  /** false sends every run in its own IPC message; only to measure what batching buys. */
  coalesce: boolean;
  clock: Clock;
  bus: EventBus;
  /** Receives log lines as runs write them; without it, each outcome carries its run's lines. */
  onLogs?: LogSink | undefined;
  onSample?: SampleSink | undefined;
  /** What children print outside any run. Default: 'pool:child:output' on the bus. */
  onChildOutput?: ((pid: number, text: string) => void) | undefined;
}

export class WorkerPool<P extends PoolTypes> implements PoolHost<P> {
  readonly clock: Clock;
  readonly report: PoolReport;
  readonly queue = new Set<Flight<P>>();
  readonly #o: WorkerPoolOptions<P>;
  readonly #placement: Placement<P>;
  readonly #children: PoolChild<P>[] = [];
  /** Flights by run id, for cancel. */
  readonly #byRun = new Map<string, Flight<P>>();
  #nextId = 1;
  #inflight = 0;
  #started = false;
  #closing = false;
  #closed: Promise<void> | null = null;
  #drained: (() => void) | null = null;
  #flushQueued = false;
  #dirty: PoolChild<P>[] = [];
  #refd = false;
  readonly #deadlines = new DeadlineSweeper<Flight<P>>({
    forEachFlight: (visit) => {
      for (const f of this.queue) visit(f);
      for (const c of this.#children) for (const f of c.inflight.values()) visit(f);
    },
    expire: (f) => this.#expire(f, 'timed_out'),
    kill: (f) => void f.child?.kill('grace'),
  });
  readonly #events: ChildEvents<P> = {
    output: (child, text) => {
      if (this.#o.onChildOutput !== undefined) this.#o.onChildOutput(child.pid, text);
      else this.report.childOutput(child.pid, text);
    },
    message: (child, msg) => this.#onMessage(child, msg),
    startTimedOut: (child) => child.stop('start_timeout'),
    gone: (child, code, signal) => this.#onGone(child, code, signal),
  };
  readonly #onProcessExit = (): void => {
    for (const c of this.#children) c.proc.kill('SIGKILL');
  };

  constructor(opts: WorkerPoolOptions<P>) {
    this.#o = opts;
    this.clock = opts.clock;
    this.report = new PoolReport(opts.bus, opts.name);
    this.#placement = opts.placement(this);
    if (!opts.startOnFirstRun) this.#start();
  }

  get closing(): boolean {
    return this.#closing;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get children(): readonly PoolChild<P>[] {
    return this.#children;
  }

  /** Pids of the live children (for tests and diagnostics). */
  pids(): number[] {
    return this.#children.filter((c) => c.state !== 'exiting' && c.pid > 0).map((c) => c.pid);
  }

  /** Starts the children if they are not yet, and resolves once none is starting; for tests and warm-up. */
  async ready(): Promise<void> {
    this.#start();
    while (!this.#closing && this.#children.some((c) => c.state === 'starting')) await new Promise((r) => setTimeout(r, 10));
  }

  /** Starts the children now, ahead of the first run that needs them. */
  warm(): void {
    this.#start();
  }

  /** Runs one job whose spec the kind has checked; `wire` builds its message with the pool's id. Never rejects. */
  submit(job: RunJob, wire: (id: number) => P['run']): Promise<RunOutcome> {
    if (this.#closing) return Promise.resolve(failedOutcome(this.clock, 'shutting_down', 'the executor is closing'));
    this.#start();
    return new Promise<RunOutcome>((resolve) => {
      const f = new Flight<P>(job, wire(this.#nextId++), resolve, performance.now());
      this.#byRun.set(job.runId, f);
      if (this.#inflight++ === 0) this.#setRef(true);
      this.#deadlines.arm(f.deadline);
      this.#placement.place(f);
    });
  }

  /** Cancels the run with this id if it is in flight here (its outcome becomes `cancelled`). */
  cancel(runId: string): boolean {
    const f = this.#byRun.get(runId);
    if (f === undefined || f.done) return false;
    this.#expire(f, 'cancelled');
    return true;
  }

  /** Stops accepting runs, waits up to `graceMs` for those in flight, then stops every child. */
  close(graceMs: number): Promise<void> {
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#setRef(true);
    for (const f of this.queue) this.finish(f, failedOutcome(this.clock, 'shutting_down', 'the executor closed before the run started'));
    this.queue.clear();
    if (this.#inflight > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.#drained = null;
    }
    this.#placement.close();
    const children = [...this.#children];
    for (const c of children) {
      c.clearStartTimer();
      c.stop('close');
    }
    await Promise.all(children.map((c) => c.exited));
    this.#deadlines.stop();
    process.removeListener('exit', this.#onProcessExit);
  }

  #start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    // Last resort if the parent exits without close(): children also watch for that themselves.
    process.once('exit', this.#onProcessExit);
    this.#placement.start();
  }

  // ---- for the placement rule ---------------------------------------------------------------

  spawn(tag: P['tag']): PoolChild<P> {
    const child = PoolChild.spawn<P>(this.#o.child, tag, this.#o.startTimeoutMs, this.#events);
    this.#children.push(child);
    if (!this.#refd) child.unref();
    return child;
  }

  assign(f: Flight<P>, child: PoolChild<P>): void {
    f.child = child;
    if (!f.started) {
      f.started = true;
      if (this.#o.timeoutFromStart) {
        f.deadline = performance.now() + Math.max(0, f.job.timeoutMs);
        this.#deadlines.arm(f.deadline);
      }
    }
    child.inflight.set(f.wire.id, f);
    child.outRuns.push(f.wire);
    this.#markDirty(child);
  }

  finish(f: Flight<P>, outcome: RunOutcome): void {
    if (f.done) return;
    f.done = true;
    this.#byRun.delete(f.job.runId);
    f.resolve(outcome);
    if (--this.#inflight === 0) {
      if (this.#drained !== null) this.#drained();
      else if (!this.#closing) this.#setRef(false);
    }
  }

  // ---- IPC -----------------------------------------------------------------------------------

  #markDirty(child: PoolChild<P>): void {
    if (!this.#o.coalesce || child.outRuns.length >= MAX_BATCH) {
      // A full batch goes now: the child starts on it while this turn is still producing more.
      this.#flushChild(child);
      return;
    }
    if (!child.dirty) {
      child.dirty = true;
      this.#dirty.push(child);
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
    for (const c of dirty) this.#flushChild(c);
  };

  #flushChild(child: PoolChild<P>): void {
    child.dirty = false;
    if (child.outRuns.length === 0 && child.outAborts.length === 0) return;
    const msg: ToChildBatch<P['run']> = { t: 'batch', runs: child.outRuns, aborts: child.outAborts };
    child.outRuns = [];
    child.outAborts = [];
    // A closed channel drops the message: the exit handler answers the runs.
    child.send(msg);
  }

  #onMessage(child: PoolChild<P>, msg: unknown): void {
    if (!this.#o.isFromChild(msg) || !this.#children.includes(child)) return;
    if (msg.t === 'ready') {
      child.clearStartTimer();
      if (this.#closing || child.state !== 'starting') return;
      child.state = 'ready';
      child.everReady = true;
      this.#placement.ready(child);
      return;
    }
    const batch = msg as P['batch'];
    if (batch.logs !== undefined) {
      for (const [id, lines] of batch.logs) {
        const f = child.inflight.get(id);
        if (f !== undefined) this.#collect(f, fromWireLines(lines));
      }
    }
    const onSample = this.#o.onSample;
    if (batch.samples !== undefined && onSample !== undefined) {
      for (const s of batch.samples) {
        const f = child.inflight.get(s[0]);
        if (f === undefined) continue;
        try {
          onSample(f.job, { at: s[1], cpuMs: s[2], rssBytes: s[3], diskWriteBytes: s[4] ?? 0 });
        } catch (err) {
          this.report.warning(child.pid, 'the sample sink threw', err);
        }
      }
    }
    for (const d of batch.done) {
      const f = child.inflight.get(d.id);
      if (f === undefined) continue;
      child.inflight.delete(d.id);
      this.finish(f, this.#endOutcome(f, d));
    }
    if (batch.back !== undefined) this.#takeBack(child, batch.back);
    this.#placement.afterBatch(child, batch);
  }

  /** Hands lines to the sink; without one, keeps them and returns all the run's lines so far. */
  #collect(f: Flight<P>, lines: LogLine[]): LogLine[] {
    const sink = this.#o.onLogs;
    if (sink !== undefined) {
      if (lines.length > 0) {
        try {
          sink(f.job, lines);
        } catch (err) {
          this.report.warning(f.child?.pid ?? null, 'the log sink threw', err);
        }
      }
      return [];
    }
    if (f.lines === null) f.lines = lines;
    else for (const l of lines) f.lines.push(l);
    return f.lines;
  }

  /** The outcome of a run its child reported ended. */
  #endOutcome(f: Flight<P>, d: P['end']): RunOutcome {
    const clock = this.clock;
    const logs = this.#collect(f, fromWireLines(d.logs));
    const logsTruncated = d.truncated === true;
    // The child's own copy of the deadline passed before the pool's abort arrived.
    if (f.ending === null && !d.ok && d.code === 'timeout') f.ending = 'timed_out';
    if (f.ending !== null) return this.#endingOutcome(f, f.ending, logsTruncated, { settled: d.ok ? 'returned' : d.code }, d);
    let outcome: RunOutcome;
    if (d.ok) {
      outcome = makeOutcome(clock, 'succeeded', { result: d.result, logs, logsTruncated });
    } else if (d.code === 'aborted' || d.code === 'aborted_before_start') {
      outcome = failedOutcome(clock, 'internal', 'the worker aborted a run nobody aborted', undefined, { logs, logsTruncated });
    } else {
      outcome = failedOutcome(clock, d.code, d.message, d.detail, { logs, logsTruncated });
    }
    this.#o.usage(outcome, d);
    return outcome;
  }

  /** Runs a child handed back unstarted (its interpreter is held): first in line again, for another child. */
  #takeBack(child: PoolChild<P>, ids: number[]): void {
    const back: Flight<P>[] = [];
    for (const id of ids) {
      const f = child.inflight.get(id);
      if (f === undefined) continue;
      child.inflight.delete(id);
      f.child = null;
      if (f.ending !== null) this.finish(f, this.#endingOutcome(f, f.ending, false, { started: false }));
      else back.push(f);
    }
    if (back.length === 0) return;
    const rest = [...this.queue];
    this.queue.clear();
    for (const f of [...back, ...rest]) this.queue.add(f);
  }

  // ---- deadlines -----------------------------------------------------------------------------

  /** The run's status is decided (timeout or cancel): tell its child, start the kill grace. */
  #expire(f: Flight<P>, ending: Ending): void {
    if (f.done || f.ending !== null) return;
    f.ending = ending;
    const child = f.child;
    if (child === null) {
      // Still queued: it never started, so there is nothing to stop.
      this.queue.delete(f);
      this.finish(f, this.#endingOutcome(f, ending, false, { started: false }));
      return;
    }
    f.killAt = performance.now() + this.#o.killGraceMs;
    child.outAborts.push([f.wire.id, ending === 'timed_out' ? 'timeout' : 'cancel']);
    this.#markDirty(child);
    this.#deadlines.arm(f.killAt);
  }

  #endingOutcome(f: Flight<P>, ending: Ending, logsTruncated: boolean, detail: Record<string, unknown>, end?: P['end']): RunOutcome {
    const error =
      ending === 'timed_out'
        ? runError('timeout', `the run did not finish within ${f.job.timeoutMs} ms`, detail)
        : runError('cancelled', 'the run was cancelled', detail);
    const outcome = makeOutcome(this.clock, ending, { error, logs: f.lines ?? [], logsTruncated });
    this.#o.usage(outcome, end);
    return outcome;
  }

  // ---- children ------------------------------------------------------------------------------

  #onGone(child: PoolChild<P>, code: number | null, signal: NodeJS.Signals | null): void {
    const i = this.#children.indexOf(child);
    if (i < 0) return;
    this.#children.splice(i, 1);
    child.clearStartTimer();
    const reason = child.killReason;
    const expected = reason === 'grace' || reason === 'close' || reason === 'retire';
    this.#o.bus.emit('pool:child:exit', { pid: child.pid, code, signal, expected });
    const runs = [...child.inflight.values()];
    child.inflight.clear();
    child.outRuns = [];
    child.outAborts = [];
    for (const f of runs) this.finish(f, this.#lostOutcome(f, child, reason, code, signal));
    this.#placement.gone(child, code, signal);
  }

  /** The outcome of a run whose child died under it. */
  #lostOutcome(f: Flight<P>, child: PoolChild<P>, reason: KillReason | null, code: number | null, signal: NodeJS.Signals | null): RunOutcome {
    if (f.ending !== null) return this.#endingOutcome(f, f.ending, false, { killed: true, afterGraceMs: this.#o.killGraceMs });
    const clock = this.clock;
    switch (reason) {
      case 'grace':
        return failedOutcome(clock, 'worker_lost', 'the worker was killed because another run on it did not stop within its kill grace');
      case 'memory':
        return failedOutcome(clock, 'worker_lost', 'the worker was killed because its resident memory passed the ceiling', child.killDetail);
      case 'close':
        return failedOutcome(clock, 'worker_lost', 'the executor closed before the run finished');
      default:
        return failedOutcome(clock, 'worker_crashed', `the worker process exited unexpectedly (code ${code}, signal ${signal})`, { code, signal });
    }
  }

  // While nothing is in flight the children must not keep the process alive (a program that
  // forgets close() still exits); while runs are in flight they must, or their results are lost.
  #setRef(on: boolean): void {
    this.#refd = on;
    this.#placement.setRef(on);
    for (const c of this.#children) {
      if (on) c.ref();
      else c.unref();
    }
  }
}
