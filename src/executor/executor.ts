// The executor contract between the dispatcher and the runners of each task kind.
import type { LogLine, Millis, ResourceSample, RunError, TaskKind, TaskSpec } from '../core/types.js';

export type { ResourceSample };

/** Everything a runner needs to run one attempt. */
export interface RunJob {
  runId: string;
  taskId: string;
  taskName: string;
  namespace: string;
  attempt: number;
  scheduledFor: Millis;
  /** Same for every attempt of one occurrence; sent to HTTP targets and handed to code. */
  idempotencyKey: string;
  kind: TaskKind;
  spec: TaskSpec;
  payload: unknown;
  timeoutMs: number;
  /**
   * `script` runs: the values of the secrets the spec lists (`spec.secrets`), as `ctx.secrets`.
   * Filled in by the executor (secret-binding.ts), never by the dispatcher.
   */
  secrets?: Readonly<Record<string, string>>;
}

/** How one attempt ended. */
export interface RunOutcome {
  status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
  result?: unknown;
  error?: RunError | null;
  logs: LogLine[];
  logsTruncated: boolean;
  cpuMs: number | null;
  peakRssBytes: number | null;
  diskWriteBytes: number | null;
  finishedAt: Millis;
}

/**
 * Receives a run's log lines while it runs, in the order written, at most once per event-loop
 * turn per run. A runner that streams through a sink leaves `RunOutcome.logs` empty; the capped
 * log's `[truncated]` marker travels as a line like any other.
 */
export type LogSink = (job: RunJob, lines: LogLine[]) => void;

/** Receives resource samples of runs that last longer than a second, about once a second. */
export type SampleSink = (job: RunJob, sample: ResourceSample) => void;

/** Where runners send what a run writes and uses while it runs (live logs, samples). */
export interface RunOutput {
  lines: LogSink;
  sample: SampleSink;
  /** Called once with each outcome: moves the run's log lines not yet stored into `outcome.logs`. */
  finish(job: RunJob, outcome: RunOutcome): void;
}

/** Runs jobs of one or more kinds. */
export interface Executor {
  /**
   * Runs a job to its end. Never rejects: every failure is an outcome. The runner itself
   * enforces `timeoutMs` and reports `timed_out`.
   */
  execute(job: RunJob): Promise<RunOutcome>;
  /**
   * Stops a run it is executing; its outcome becomes `cancelled`. False when it has no such run.
   * (By run id rather than an AbortSignal per run: an AbortController costs ~3 us and GC
   * pressure on a path that runs 30,000 times a second.)
   */
  cancel(runId: string): boolean;
  /**
   * Runs of `kind` are claimed and due soon: start what they need (worker processes) now, so the
   * first of them does not wait for it. Cheap to call often.
   */
  prepare?(kind: TaskKind): void;
  /** Stops accepting work; waits up to `graceMs` for running jobs, then kills what is left. */
  close(graceMs: number): Promise<void>;
}
