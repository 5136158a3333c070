// The pool that runs `script` tasks: forked worker processes (script-worker-main.ts), each with
// an interpreter thread that runs many QuickJS sandboxes at once (they interleave at their
// awaits). The scheduler's process only does IPC here: no user code ever runs in it.
//
// Routing is elastic and stall-aware (elastic-workers.ts). Deadlines, kill grace, close, batching
// and crash handling are the worker pool's (pool/worker-pool.ts): a run past its deadline (or
// cancelled) is aborted in the child, and a child that has not ended it killGraceMs later is
// SIGKILLed and replaced (its other runs fail `worker_lost`). In practice the abort lands within
// milliseconds: the child sets a shared-memory flag that the run's interrupt handler reads even
// inside a tight loop. A run's timeout starts when a worker takes it; waiting in the queue is
// bounded by the timeout too, so one tenant's scripts hogging every sandbox delay another's but
// do not time it out.

import { availableParallelism } from 'node:os';
import type { Clock } from '../../core/clock.js';
import type { EventBus } from '../../core/events.js';
import type { LogSink, RunJob, RunOutcome, SampleSink } from '../executor.js';
import { failedOutcome } from '../outcome.js';
import { WorkerPool } from '../pool/worker-pool.js';
import { childEnvironment } from '../pool/child-env.js';
import { workerEntryBeside } from '../pool/worker-process.js';
import { ElasticWorkers, type ScriptTypes } from './elastic-workers.js';
import { DEFAULT_FETCH_MAX_BYTES, DEFAULT_MEMORY_BYTES, runMemoryBytes } from './script-limits.js';
import { isFromChild, type ScriptChildConfig } from './script-protocol.js';

export interface ScriptPoolOptions {
  /** Worker processes kept while the pool is in use (started on the first run). */
  workers: number;
  /**
   * Upper bound with the extra workers started while the others are stalled or wait (see
   * elastic-workers.ts). Default max(workers × 2, min(8, 2 × cores)): each worker costs ~85 MB
   * idle, and beyond two per core they only share the same cores (S7, 2 cores: 4 instead of 8
   * workers peaked at 1,079 MB instead of 1,320 for all processes, with API p99 25 ms, not 52–63).
   */
  maxWorkers?: number;
  /** Runs one worker holds at once. Default 8. */
  perWorkerConcurrency?: number;
  /** Interpreter memory of a run whose spec sets none. Default 128 MiB. */
  defaultMemoryBytes?: number;
  /** No run gets more interpreter memory than this, whatever its spec asks. */
  memoryMaxBytes: number;
  /** The most interpreter memory a run of the namespace gets (its scriptMemoryBytes quota), if any. */
  namespaceMemoryBytes?: ((namespace: string) => number | undefined) | undefined;
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
  /** Cores the workers share (extra workers that compute are started up to this many). Default: os.availableParallelism(). */
  cores?: number;
  /** A worker that has not said `ready` by then counts as failed to start. Default 20 s. */
  startTimeoutMs?: number;
  clock: Clock;
  bus: EventBus;
  /** Receives every run's log lines while it runs; `RunOutcome.logs` stays empty. */
  onLogs: LogSink;
  onSample?: SampleSink;
  /** Child entry point; tests point it at a broken one. Default: script-worker-main next to this file. */
  workerEntry?: string;
  /** What children print outside any run. Default: 'pool:child:output' on the bus, for the operator. */
  onChildOutput?: (pid: number, text: string) => void;
}

const DEFAULT_KILL_GRACE_MS = 1000;
const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_EXTRA_IDLE_MS = 30_000;

/** Children get none of the server's environment (secrets, database URLs): a PATH only. */
function childEnv(): NodeJS.ProcessEnv {
  return childEnvironment(['PATH']);
}

/** Runs `script` jobs in QuickJS sandboxes inside a pool of worker processes. */
export class ScriptPool {
  readonly #clock: Clock;
  readonly #defaultMemory: number;
  readonly #memoryMax: number;
  readonly #namespaceMemory: ((namespace: string) => number | undefined) | undefined;
  readonly #pool: WorkerPool<ScriptTypes>;

  constructor(opts: ScriptPoolOptions) {
    this.#clock = opts.clock;
    this.#defaultMemory = opts.defaultMemoryBytes ?? DEFAULT_MEMORY_BYTES;
    this.#memoryMax = opts.memoryMaxBytes;
    this.#namespaceMemory = opts.namespaceMemoryBytes;
    const concurrency = Math.max(1, opts.perWorkerConcurrency ?? DEFAULT_CONCURRENCY);
    const workers = Math.max(1, opts.workers);
    const cores = Math.max(1, opts.cores ?? availableParallelism());
    const maxWorkers = Math.max(workers, opts.maxWorkers ?? Math.max(workers * 2, Math.min(8, 2 * cores)));
    // Each run's wasm instance may grow to ~3× its limit (see script-limits.ts), plus the
    // interpreter thread's heap and Node itself.
    const maxRssBytes = opts.workerMaxRssBytes ?? 768 * 1024 * 1024 + concurrency * opts.memoryMaxBytes * 3;
    const cfg: ScriptChildConfig = {
      logMaxBytes: opts.logMaxBytes,
      resultMaxBytes: opts.resultMaxBytes,
      fetchMaxBytes: opts.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      outboundAllow: [...opts.outboundAllow],
      concurrency,
    };
    this.#pool = new WorkerPool<ScriptTypes>({
      name: 'script',
      child: {
        entry: opts.workerEntry ?? workerEntryBeside(import.meta.url, 'script-worker-main'),
        args: [JSON.stringify(cfg)],
        // Relative and bare preloads would resolve against `/`, the children's cwd.
        absolutePreloads: true,
        env: childEnv(),
        cwd: '/',
      },
      isFromChild,
      placement: (host) =>
        new ElasticWorkers(host, { workers, maxWorkers, concurrency, extraIdleMs: opts.extraIdleMs ?? DEFAULT_EXTRA_IDLE_MS, maxRssBytes, cores }),
      usage: (outcome, end) => {
        if (end !== undefined) {
          outcome.cpuMs = end.u[0];
          outcome.peakRssBytes = end.u[1];
        }
        // Scripts have no file system.
        outcome.diskWriteBytes = 0;
      },
      timeoutFromStart: true,
      startOnFirstRun: true,
      killGraceMs: opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      coalesce: true,
      clock: opts.clock,
      bus: opts.bus,
      onLogs: opts.onLogs,
      onSample: opts.onSample,
      onChildOutput: opts.onChildOutput,
    });
  }

  /** Pids of the live workers (for tests and diagnostics). */
  pids(): number[] {
    return this.#pool.pids();
  }

  /** Starts the workers if they are not yet, and resolves once none is starting; for tests and warm-up. */
  ready(): Promise<void> {
    return this.#pool.ready();
  }

  /** Starts the workers now, ahead of the first run that needs them. */
  warm(): void {
    this.#pool.warm();
  }

  /** Runs one script job; never rejects. */
  run(job: RunJob): Promise<RunOutcome> {
    const clock = this.#clock;
    if (this.#pool.closing) return Promise.resolve(failedOutcome(clock, 'shutting_down', 'the executor is closing'));
    const spec = job.spec as { code?: unknown } | null;
    if (spec === null || typeof spec !== 'object' || typeof spec.code !== 'string') {
      return Promise.resolve(failedOutcome(clock, 'invalid_spec', 'spec.code must be a string'));
    }
    const code = spec.code;
    const quota = this.#namespaceMemory?.(job.namespace);
    const memoryBytes = Math.min(runMemoryBytes(spec, this.#defaultMemory, this.#memoryMax), quota ?? Infinity);
    return this.#pool.submit(job, (id) => ({
      id,
      code,
      memoryBytes,
      timeoutMs: job.timeoutMs,
      payload: job.payload,
      runId: job.runId,
      attempt: job.attempt,
      scheduledFor: job.scheduledFor,
      idempotencyKey: job.idempotencyKey,
      taskId: job.taskId,
      taskName: job.taskName,
      ...(job.secrets !== undefined && { secrets: { ...job.secrets } }),
    }));
  }

  /** Cancels the run with this id if it is in flight here (its outcome becomes `cancelled`). */
  cancel(runId: string): boolean {
    return this.#pool.cancel(runId);
  }

  /** Stops accepting runs, waits up to `graceMs` for those in flight, then kills every worker. */
  close(graceMs: number): Promise<void> {
    return this.#pool.close(graceMs);
  }
}
