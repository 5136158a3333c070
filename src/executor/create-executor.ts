// The executor the scheduler talks to: routes each job to the runner of its kind.

import type { Clock } from '../core/clock.js';
import type { LogLine } from '../core/types.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { Executor, RunJob, RunOutcome, RunOutput } from './executor.js';
import { HttpRunner } from './http-runner.js';
import { ModulePool } from './module/module-pool.js';
import { failedOutcome, makeOutcome } from './outcome.js';
import { DEFAULT_MEMORY_BYTES } from './script/script-limits.js';
import { ScriptPool } from './script/script-pool.js';
import { bindSecrets, maskingOutput, type SecretSource } from './secret-binding.js';
import type { Masker } from '../core/secrets/masker.js';
import { secretReferences } from '../core/secrets/references.js';
import type { SandboxPreference } from './shell/shell-sandbox.js';
import { ShellRunner, type ShellLimits } from './shell/shell-runner.js';

/** Whether the job's spec references secrets (most do not: they skip the lookup and its await). */
function referencesSecrets(job: RunJob): boolean {
  return (job.kind === 'http' || job.kind === 'shell' || job.kind === 'script') && secretReferences(job.kind, job.spec).length > 0;
}

/** Without a recorder: keeps each run's streamed lines for its outcome (no live follow, no samples). */
function collectingOutput(): RunOutput {
  const kept = new Map<string, LogLine[]>();
  return {
    lines(job, lines) {
      const cur = kept.get(job.runId);
      if (cur === undefined) kept.set(job.runId, lines.slice());
      else for (const l of lines) cur.push(l);
    },
    sample() {},
    finish(job, outcome) {
      const lines = kept.get(job.runId);
      if (lines === undefined) return;
      kept.delete(job.runId);
      outcome.logs = outcome.logs.length === 0 ? lines : lines.concat(outcome.logs);
    },
  };
}

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
  /** Variables `module` workers get besides PATH, HOME, locale, TZ and TMPDIR (SUNDIAL_MODULE_ENV). */
  moduleEnv?: readonly string[];
  /** How long a timed-out or cancelled module run may take to stop before its worker is killed (default 1000). */
  killGraceMs?: number;
  clock: Clock;
  bus: EventBus;
  /** Where live log lines and resource samples go; without it, each outcome carries its run's lines. */
  output?: RunOutput;
  /** Reads the secrets runs reference (absent: a run that references one fails `secret_unreadable`). */
  secrets?: SecretSource;
  /** `script` tasks: the QuickJS worker pool (its workers start on the first script run). */
  script?: { workers: number; defaultMemoryBytes: number; memoryMaxBytes: number; namespaceMemoryBytes?: ((namespace: string) => number | undefined) | undefined };
  /** `shell` tasks; absent or `enabled: false`: their runs fail `shell_disabled`. */
  shell?: {
    enabled: boolean;
    dataDir: string;
    network: boolean;
    sandbox: SandboxPreference;
    maxLimits: ShellLimits;
    /** Told once when isolation is degraded (no bubblewrap, no user namespaces…). */
    onWarning?: (message: string, refused?: boolean) => void;
  };
}

/**
 * Builds the executor: `http` runs in-process through undici, `module` in the module worker pool,
 * `script` in the QuickJS worker pool, `shell` in a sandboxed process tree per run.
 */
export function createExecutor(opts: ExecutorOptions): Executor {
  const { clock } = opts;
  // Runs given secret values are masked (by run id) in everything they write, on its way out.
  const maskers = new Map<string, Masker>();
  /** Runs whose secrets are being read, by id: true once cancelled meanwhile. */
  const binding = new Map<string, boolean>();
  const output = maskingOutput(opts.output ?? collectingOutput(), maskers);
  const http = new HttpRunner({ bodyExcerptBytes: opts.httpBodyExcerptBytes, outboundAllow: opts.outboundAllow, clock });
  const pool = new ModulePool({
    tasksDir: opts.tasksDir,
    workers: opts.workers,
    logMaxBytes: opts.logMaxBytes,
    resultMaxBytes: opts.resultMaxBytes,
    ...(opts.killGraceMs === undefined ? {} : { killGraceMs: opts.killGraceMs }),
    ...(opts.moduleEnv !== undefined && { passEnv: opts.moduleEnv }),
    onLogs: output.lines,
    onSample: output.sample,
    clock,
    bus: opts.bus,
    // Forking the children while the server starts would compete with it for the CPU (and a
    // node with no executor role never needs them): they start at prepare('module'), which the
    // server calls once it listens and the dispatcher calls for every claimed module run.
    startOnFirstRun: true,
  });
  const shell = new ShellRunner({
    enabled: opts.shell?.enabled ?? false,
    dataDir: opts.shell?.dataDir ?? '.',
    network: opts.shell?.network ?? false,
    sandbox: opts.shell?.sandbox ?? 'auto',
    defaultLimits: {},
    maxLimits: opts.shell?.maxLimits ?? {},
    logMaxBytes: opts.logMaxBytes,
    clock,
    onLogs: output.lines,
    onSample: output.sample,
    ...(opts.shell?.onWarning && { onWarning: opts.shell.onWarning }),
  });
  const scripts = new ScriptPool({
    workers: opts.script?.workers ?? 2,
    defaultMemoryBytes: opts.script?.defaultMemoryBytes ?? DEFAULT_MEMORY_BYTES,
    memoryMaxBytes: opts.script?.memoryMaxBytes ?? DEFAULT_MEMORY_BYTES * 4,
    namespaceMemoryBytes: opts.script?.namespaceMemoryBytes,
    logMaxBytes: opts.logMaxBytes,
    resultMaxBytes: opts.resultMaxBytes,
    outboundAllow: opts.outboundAllow,
    ...(opts.killGraceMs === undefined ? {} : { killGraceMs: opts.killGraceMs }),
    clock,
    bus: opts.bus,
    onLogs: output.lines,
    onSample: output.sample,
  });
  void shell.probe();
  let closing = false;

  const route = (job: RunJob): Promise<RunOutcome> => {
    switch (job.kind) {
      case 'http':
        return http.run(job);
      case 'module':
        return pool.run(job);
      case 'shell':
        return shell.run(job);
      case 'script':
        return scripts.run(job);
      default:
        return Promise.resolve(failedOutcome(clock, 'unsupported_task_kind', `unknown task kind ${String(job.kind)}`));
    }
  };

  const runJob = (job: RunJob): Promise<RunOutcome> => {
    // A runner bug must not leave the run hanging or reject into the dispatcher.
    const ran = route(job).catch((err: unknown) => failedOutcome(clock, 'internal', coerceError(err).message));
    return ran.then((outcome) => (output.finish(job, outcome), outcome));
  };

  return {
    execute(job) {
      if (closing) return Promise.resolve(failedOutcome(clock, 'shutting_down', 'the executor is closing'));
      try {
        // Most runs reference no secret: they go straight to their runner, with no await between.
        if (!referencesSecrets(job)) return runJob(job);
        // While its secrets are read the run is in no runner yet: a cancel is noted here.
        binding.set(job.runId, false);
        return bindSecrets(job, opts.secrets, clock).then((bound) => {
          const cancelled = binding.get(job.runId) === true;
          binding.delete(job.runId);
          if (cancelled) return makeOutcome(clock, 'cancelled', { error: { code: 'cancelled', message: 'the run was cancelled' } });
          if (!('job' in bound)) return bound;
          if (closing) return failedOutcome(clock, 'shutting_down', 'the executor is closing');
          if (bound.masker !== null) maskers.set(job.runId, bound.masker);
          return runJob(bound.job).finally(() => maskers.delete(job.runId));
        });
      } catch (err) {
        return Promise.resolve(failedOutcome(clock, 'internal', coerceError(err).message));
      }
    },
    prepare(kind) {
      // Script workers start lazily (most servers never run a script); a claimed script run,
      // due within the lookahead, is the moment to start them.
      if (closing) return;
      if (kind === 'script') scripts.warm();
      else if (kind === 'module') pool.warm();
      else if (kind === 'http') http.warm();
    },
    cancel(runId) {
      if (binding.has(runId)) {
        binding.set(runId, true);
        return true;
      }
      return pool.cancel(runId) || http.cancel(runId) || scripts.cancel(runId) || shell.cancel(runId);
    },
    async close(graceMs) {
      closing = true;
      await Promise.all([pool.close(graceMs), http.close(graceMs), scripts.close(graceMs), shell.close(graceMs)]);
    },
  };
}
