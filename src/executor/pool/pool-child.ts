// One forked worker child of a pool, as the pool sees it: its process, the runs it holds, what is
// waiting to be sent to it, why it is being killed, and what it printed while starting. Spawning
// wires its output, messages and end to the pool; stopping and killing it are the same for every
// kind of pool.

import { fork, type ChildProcess } from 'node:child_process';
import type { Flight } from './flight.js';
import type { AbortReason } from './pool-protocol.js';
import { childExecArgv, refChild, unrefChild, watchChildEnd } from './worker-process.js';
import type { PoolTypes } from './worker-pool.js';

/**
 * Why the pool killed or stopped a child (null: it died on its own). `grace`: a run on it ignored
 * its abort; `memory`: its resident size passed the ceiling; `retire`: an idle extra worker;
 * `start_timeout`: it never said ready; `close`: the pool closed.
 */
export type KillReason = 'grace' | 'close' | 'start_timeout' | 'memory' | 'retire';

/** How to start a child of one pool. */
export interface ChildSpec {
  /** The entry file (.ts under tsx, .js in dist/). */
  entry: string;
  args: string[];
  /** The child runs in another working directory: relative and bare preloads are made absolute. */
  absolutePreloads: boolean;
  /** Default: the parent's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** What the pool hears of a child. */
export interface ChildEvents<P extends PoolTypes> {
  /** It printed something (start-up errors, crash reports, a task's stray output). */
  output(child: PoolChild<P>, text: string): void;
  message(child: PoolChild<P>, msg: unknown): void;
  /** It has not said ready within the start timeout. */
  startTimedOut(child: PoolChild<P>): void;
  /** It is gone and its last messages have been read: its runs can be answered. */
  gone(child: PoolChild<P>, code: number | null, signal: NodeJS.Signals | null): void;
}

/** How much of a starting child's output is kept for `worker_start_failed`. */
export const STD_TAIL_CHARS = 4000;
/** After disconnecting an idle child, how long it may take to exit before SIGKILL. */
const DISCONNECT_WAIT_MS = 500;

export class PoolChild<P extends PoolTypes> {
  /** `exiting`: the process is gone and its last messages are being read; it takes no new runs. */
  state: 'starting' | 'ready' | 'exiting' = 'starting';
  readonly pid: number;
  /** Resolves once the child is gone (after `ChildEvents.gone`). */
  readonly exited: Promise<void>;
  readonly startedAt = performance.now();
  readonly inflight = new Map<number, Flight<P>>();
  /** Runs and aborts to send with the next flush. */
  outRuns: P['run'][] = [];
  outAborts: [number, AbortReason][] = [];
  /** Waiting in the pool's list of children to flush. */
  dirty = false;
  /** It said ready once (a child that dies before that failed to start). */
  everReady = false;
  killReason: KillReason | null = null;
  /** Detail of the runs' `worker_lost` error when it was killed (the memory ceiling). */
  killDetail: Record<string, unknown> | undefined;
  /** The end of what it printed before it said ready. */
  stdTail = '';
  startTimer: NodeJS.Timeout | null = null;
  #resolveExited!: () => void;

  private constructor(
    readonly proc: ChildProcess,
    /** What the pool's placement rule keeps about this child. */
    readonly tag: P['tag'],
  ) {
    this.pid = proc.pid ?? -1;
    this.exited = new Promise<void>((resolve) => (this.#resolveExited = resolve));
  }

  /** Forks a child and wires it to `events`; throws when fork itself fails. */
  static spawn<P extends PoolTypes>(spec: ChildSpec, tag: P['tag'], startTimeoutMs: number, events: ChildEvents<P>): PoolChild<P> {
    const proc = fork(spec.entry, spec.args, {
      execArgv: childExecArgv(spec.absolutePreloads),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      ...(spec.env !== undefined && { env: spec.env }),
      ...(spec.cwd !== undefined && { cwd: spec.cwd }),
    });
    const child = new PoolChild<P>(proc, tag);
    const onOutput = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      // The tail only ever reaches a run through worker_start_failed: start-up output carries no
      // other run's data. Later output may (another tenant's stray logs), so it goes to the operator.
      if (!child.everReady) child.stdTail = (child.stdTail + text).slice(-STD_TAIL_CHARS);
      events.output(child, text);
    };
    proc.stdout?.on('data', onOutput);
    proc.stderr?.on('data', onOutput);
    proc.on('message', (msg) => events.message(child, msg));
    watchChildEnd(
      proc,
      () => {
        child.state = 'exiting';
      },
      (code, signal, spawnError) => {
        if (spawnError !== null) child.stdTail += `\n${spawnError.message}`;
        events.gone(child, code, signal);
        child.#resolveExited();
      },
    );
    child.startTimer = setTimeout(() => {
      child.startTimer = null;
      if (child.state === 'starting') events.startTimedOut(child);
    }, startTimeoutMs);
    child.startTimer.unref();
    return child;
  }

  /** Sends a message if the channel is open; a closed one is the exit handler's business. */
  send(msg: unknown): void {
    if (!this.proc.connected) return;
    try {
      this.proc.send(msg as Parameters<ChildProcess['send']>[0]);
    } catch {
      // The channel closed under us; the exit handler answers the runs.
    }
  }

  /** SIGKILLs the child unless it is already being killed; true when this call did it. */
  kill(reason: KillReason, detail?: Record<string, unknown>): boolean {
    if (this.killReason !== null) return false;
    this.killReason = reason;
    this.killDetail = detail;
    this.proc.kill('SIGKILL');
    return true;
  }

  /**
   * Ends the child: an idle one is disconnected and exits by itself (the timer catches one kept
   * busy by a stray timer or loop), a busy or starting one is killed. `close` wins over any
   * earlier reason; other reasons do nothing to a child already being stopped.
   */
  stop(reason: KillReason): void {
    if (this.killReason !== null && reason !== 'close') return;
    this.killReason = reason;
    const proc = this.proc;
    if (this.inflight.size > 0 || !proc.connected || reason === 'start_timeout') {
      proc.kill('SIGKILL');
      return;
    }
    proc.disconnect();
    const t = setTimeout(() => proc.kill('SIGKILL'), DISCONNECT_WAIT_MS);
    void this.exited.then(() => clearTimeout(t));
  }

  clearStartTimer(): void {
    if (this.startTimer !== null) clearTimeout(this.startTimer);
    this.startTimer = null;
  }

  ref(): void {
    refChild(this.proc);
  }

  unref(): void {
    unrefChild(this.proc);
  }
}
