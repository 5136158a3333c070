// The executor the scheduler talks to: routes each job to the runner of its kind.

import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Executor, RunJob, RunOutcome, RunOutput } from './executor.js';
import { HttpRunner } from './http-runner.js';
import { ModulePool } from './module-pool.js';
import { failedOutcome } from './outcome.js';

export interface ExecutorOptions {
  /** Where `module` task files live. */
  tasksDir: string;
  /** Worker processes in the module pool. */
  workers: number;
  logMaxBytes: number;
  resultMaxBytes: number;
  httpBodyExcerptBytes: number;
  /** Hosts, addresses and CIDR ranges `http` tasks may reach although private or loopback. */
  outboundAllow: string[];
  /** How long a timed-out or cancelled module run may take to stop before its worker is killed (default 1000). */
  killGraceMs?: number;
  clock: Clock;
  bus: EventBus;
  /** Where live log lines and resource samples go; without it, outcomes carry every line. */
  output?: RunOutput;
}

/** Builds the executor: `http` runs in-process through undici, `module` runs in the worker pool. */
export function createExecutor(opts: ExecutorOptions): Executor {
  const { clock, output } = opts;
  const http = new HttpRunner({ bodyExcerptBytes: opts.httpBodyExcerptBytes, outboundAllow: opts.outboundAllow, clock });
  const pool = new ModulePool({
    tasksDir: opts.tasksDir,
    workers: opts.workers,
    logMaxBytes: opts.logMaxBytes,
    resultMaxBytes: opts.resultMaxBytes,
    ...(opts.killGraceMs === undefined ? {} : { killGraceMs: opts.killGraceMs }),
    ...(output && { onLogs: output.lines, onSample: output.sample }),
    clock,
    bus: opts.bus,
  });
  let closing = false;

  const route = (job: RunJob): Promise<RunOutcome> => {
    switch (job.kind) {
      case 'http':
        return http.run(job);
      case 'module':
        return pool.run(job);
      case 'script':
      case 'shell':
        return Promise.resolve(failedOutcome(clock, 'unsupported_task_kind', `${job.kind} tasks are not available in this release`));
      default:
        return Promise.resolve(failedOutcome(clock, 'unsupported_task_kind', `unknown task kind ${String(job.kind)}`));
    }
  };

  return {
    execute(job) {
      if (closing) return Promise.resolve(failedOutcome(clock, 'shutting_down', 'the executor is closing'));
      try {
        // A runner bug must not leave the run hanging or reject into the dispatcher.
        const ran = route(job).catch((err: unknown) => failedOutcome(clock, 'internal', coerceError(err).message));
        return output === undefined ? ran : ran.then((outcome) => (output.finish(job, outcome), outcome));
      } catch (err) {
        return Promise.resolve(failedOutcome(clock, 'internal', coerceError(err).message));
      }
    },
    cancel(runId) {
      return pool.cancel(runId) || http.cancel(runId);
    },
    async close(graceMs) {
      closing = true;
      await Promise.all([pool.close(graceMs), http.close(graceMs)]);
    },
  };
}
