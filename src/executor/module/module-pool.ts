// The pool that runs `module` tasks: N long-lived worker child processes (module-worker-main.ts),
// each running many runs at once, in fixed slots (fixed-slots.ts). Deadlines, kill grace, close,
// batching and crash handling are the worker pool's (pool/worker-pool.ts).
//
// A run past its timeout (or cancelled) gets its ctx.signal aborted in the child; one that has not
// settled killGraceMs later gets its whole child SIGKILLed and replaced, and the other runs on that
// child fail `worker_lost`.
//
// Resource metrics come from the child (worker-usage.ts): the worker's CPU, peak resident size and
// storage writes while the run was in flight. Log lines stream per turn to `onLogs`.

import type { Clock } from '../../core/clock.js';
import type { EventBus } from '../../core/events.js';
import type { ModuleSpec } from '../../core/types.js';
import type { LogSink, RunJob, RunOutcome, SampleSink } from '../executor.js';
import { failedOutcome } from '../outcome.js';
import { WorkerPool } from '../pool/worker-pool.js';
import { workerEntryBeside } from '../pool/worker-process.js';
import { childEnvironment, MODULE_BASE_ENV } from '../pool/child-env.js';
import { FixedSlots, type ModuleTypes } from './fixed-slots.js';
import { createModuleFileChecker, type ModuleFileCheck } from './module-file.js';
import { isFromChild, type WorkerConfig } from './module-protocol.js';

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
   * Default: 'pool:child:output' on the bus, for the operator.
   */
  onChildOutput?: (pid: number, text: string) => void;
  /** Receives log lines as runs write them; without it, each outcome carries its run's lines. */
  onLogs?: LogSink;
  /** Receives resource samples of runs longer than a second. */
  onSample?: SampleSink;
  /** Children start at the first run or warm() instead of at construction (default false). */
  startOnFirstRun?: boolean;
  /** Variables passed to the children besides MODULE_BASE_ENV (SUNDIAL_MODULE_ENV). */
  passEnv?: readonly string[];
}

const DEFAULT_KILL_GRACE_MS = 1000;
const DEFAULT_START_TIMEOUT_MS = 20_000;
const FILE_CHECK_TTL_MS = 1000;

/** Runs `module` jobs in a pool of worker child processes. */
export class ModulePool {
  readonly #clock: Clock;
  readonly #pool: WorkerPool<ModuleTypes>;
  readonly #checkFile: (file: unknown) => ModuleFileCheck;

  constructor(opts: ModulePoolOptions) {
    this.#clock = opts.clock;
    this.#checkFile = createModuleFileChecker(opts.tasksDir, FILE_CHECK_TTL_MS);
    const coalesce = opts.coalesce ?? true;
    const cfg: WorkerConfig = { logMaxBytes: opts.logMaxBytes, resultMaxBytes: opts.resultMaxBytes, coalesce };
    this.#pool = new WorkerPool<ModuleTypes>({
      name: 'module',
      child: {
        entry: opts.workerEntry ?? workerEntryBeside(import.meta.url, 'module-worker-main'),
        args: [JSON.stringify(cfg)],
        absolutePreloads: false,
        // Read when the pool is built, after the server removed its secrets from process.env.
        env: childEnvironment([...MODULE_BASE_ENV, ...(opts.passEnv ?? [])]),
      },
      isFromChild,
      placement: (host) => new FixedSlots(host, opts.workers),
      usage: (outcome, end) => {
        if (end?.u !== undefined) [outcome.cpuMs, outcome.peakRssBytes, outcome.diskWriteBytes] = end.u;
      },
      timeoutFromStart: false,
      startOnFirstRun: opts.startOnFirstRun ?? false,
      killGraceMs: opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      coalesce,
      clock: opts.clock,
      bus: opts.bus,
      onLogs: opts.onLogs,
      onSample: opts.onSample,
      onChildOutput: opts.onChildOutput,
    });
  }

  /** Pids of the live children (for tests and diagnostics). */
  pids(): number[] {
    return this.#pool.pids();
  }

  /** Resolves once every slot has a ready child (or failed to start); for tests and warm-up. */
  ready(): Promise<void> {
    return this.#pool.ready();
  }

  /** Starts the children now, ahead of the first run that needs them. */
  warm(): void {
    this.#pool.warm();
  }

  /** Runs one module job; never rejects. */
  run(job: RunJob): Promise<RunOutcome> {
    const clock = this.#clock;
    if (this.#pool.closing) return Promise.resolve(failedOutcome(clock, 'shutting_down', 'the executor is closing'));
    const spec = job.spec as Partial<ModuleSpec> | null;
    const exportName = spec?.export ?? 'default';
    if (typeof exportName !== 'string' || exportName === '') {
      return Promise.resolve(failedOutcome(clock, 'invalid_spec', 'spec.export must be a non-empty string'));
    }
    const check = this.#checkFile(spec?.file);
    if (!check.ok) return Promise.resolve(failedOutcome(clock, check.code, check.message));
    return this.#pool.submit(job, (id) => ({
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
    }));
  }

  /** Cancels the run with this id if it is in flight here (its outcome becomes `cancelled`). */
  cancel(runId: string): boolean {
    return this.#pool.cancel(runId);
  }

  /** Stops accepting runs, waits up to `graceMs` for those in flight, then kills every child. */
  close(graceMs: number): Promise<void> {
    return this.#pool.close(graceMs);
  }
}
