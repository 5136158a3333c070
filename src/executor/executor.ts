// The executor contract between the dispatcher and the runners of each task kind.
import type { LogLine, Millis, RunError, TaskKind, TaskSpec } from '../core/types.js';

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
  /** Stops accepting work; waits up to `graceMs` for running jobs, then kills what is left. */
  close(graceMs: number): Promise<void>;
}
