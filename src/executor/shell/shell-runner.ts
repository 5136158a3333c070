// Runs `shell` tasks: one process tree per run, in the sandbox ShellSandbox plans (bubblewrap
// when it works here), with rlimits, an allow-listed environment, the payload on stdin, output
// streamed as log lines, and resource figures read from /proc.
//
// Each run goes through the host wrapper of shell-wrapper.ts, whose report gives exact totals;
// ending a run is shell-killer.ts's. The outcome resolves only once the wrapper has exited and,
// without bubblewrap, no process marked with the run id is left.
//
// Known limit: Node gives children sockets, not pipes, as stdout and stderr; a command that opens
// /dev/stdout or /dev/stderr by path gets ENXIO (writing to fd 1 or 2, `>&2`, works).

import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../../core/clock.js';
import { coerceError } from '../../core/errors.js';
import type { LogLevel } from '../../core/types.js';
import type { LogSink, RunJob, RunOutcome, SampleSink } from '../executor.js';
import { failedOutcome, makeOutcome } from '../outcome.js';
import { probeWriteAccounting, ProcessTreeSampler, type TreeSample } from '../proc-usage.js';
import { EXEC_FAILURE_RE, exitDetail, exitMessage } from './shell-exit.js';
import { RunKiller } from './shell-killer.js';
import { LineSplitter, ShellLog } from './shell-output.js';
import { buildCommand, ENV_FD, envAssignments, ShellSandbox, TOOL_ENV, type ResourceLimits, type SandboxPlan, type SandboxPreference } from './shell-sandbox.js';
import { effectiveLimits, parseShellSpec, type ShellLimits } from './shell-spec.js';
import { parseReport, wrapForHost } from './shell-wrapper.js';
import { prepareWorkdir, programExists, resolveCwd, SpawnError } from './shell-workdir.js';

export type { ShellLimits } from './shell-spec.js';

export interface ShellRunnerOptions {
  /** Off: every run fails `shell_disabled` at once. */
  enabled: boolean;
  /** Task directories live under `<dataDir>/shell/<namespace>/<taskId>/`. */
  dataDir: string;
  /** Most bytes of output (newlines included) kept per run; then one `[truncated]` line. */
  logMaxBytes: number;
  /** Between SIGTERM and SIGKILL on timeout, cancel and close (default 2000). */
  killGraceMs?: number;
  /** Commands may use the host's network (default false: an empty network namespace). */
  network?: boolean;
  /** Limits of tasks that set none (built in: 64 processes, 256 files, 100 MiB, CPU = the timeout). */
  defaultLimits: ShellLimits;
  /** Ceilings: a task's own limits are clamped to these. */
  maxLimits: ShellLimits;
  clock: Clock;
  onLogs: LogSink;
  onSample?: SampleSink;
  /** Told once when isolation is degraded or impossible, and when disk writes cannot be counted. */
  onWarning?: (message: string, refused?: boolean) => void;
  /** 'auto' (default) uses bubblewrap when it works; tests force one path. */
  sandbox?: SandboxPreference;
}

const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';
/**
 * Sampling: every 25 ms at first, so a short command still has its memory seen (CPU and writes
 * come exact from the wrapper anyway), 100 ms up to a second, then 500 ms. A sample of a run's
 * tree (5–6 processes: the sandbox's helpers and the command) reads ~25 small /proc files, about
 * 0.6 ms of this thread; ~13 samples in a run's first second, 2 a second after.
 */
const sampleInterval = (elapsedMs: number): number => (elapsedMs < 100 ? 25 : elapsedMs < 1000 ? 100 : 500);
/** After the run's processes are gone, how long the output pipes may stay open. */
const STREAM_WAIT_MS = 2000;

type Why = 'timeout' | 'cancel' | 'close';

/** What one run left behind, for its outcome. */
interface RunState {
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  spawnError: Error | null;
  out: ShellLog;
  /** The wrapper's report (fd 3). */
  report: string;
  usage: TreeSample | undefined;
}

/** One run in flight. */
interface Flight {
  job: RunJob;
  why: Why | null;
  stop: (why: Why) => void;
}

/** Runs shell jobs, one sandboxed process tree each. */
export class ShellRunner {
  readonly #o: ShellRunnerOptions;
  readonly #sandbox: ShellSandbox;
  readonly #flights = new Map<string, Flight>();
  readonly #done = new Set<Promise<RunOutcome>>();
  #closing = false;
  #writeAccounting: boolean | undefined;

  constructor(opts: ShellRunnerOptions) {
    this.#o = opts;
    this.#sandbox = new ShellSandbox({ preference: opts.sandbox ?? 'auto', ...(opts.onWarning ? { onWarning: opts.onWarning } : {}) });
  }

  /** Probes the sandbox now when shell tasks are on, so degraded isolation is reported at start-up. */
  async probe(): Promise<void> {
    if (this.#o.enabled) await this.#sandbox.plan();
  }

  /** Runs one shell job; never rejects. */
  run(job: RunJob): Promise<RunOutcome> {
    const clock = this.#o.clock;
    if (!this.#o.enabled) return Promise.resolve(failedOutcome(clock, 'shell_disabled', 'shell tasks are off on this server (SUNDIAL_SHELL_TASKS)'));
    if (this.#closing) return Promise.resolve(failedOutcome(clock, 'shutting_down', 'the executor is closing'));
    // Until the process exists, stopping only marks the run; #execute replaces `stop`.
    const flight: Flight = { job, why: null, stop: (why) => void (flight.why ??= why) };
    this.#flights.set(job.runId, flight);
    const done = this.#run(flight)
      .catch((err: unknown) => failedOutcome(clock, 'internal', `shell runner bug: ${coerceError(err).message}`))
      .finally(() => {
        if (this.#flights.get(job.runId) === flight) this.#flights.delete(job.runId);
      });
    this.#done.add(done);
    void done.finally(() => this.#done.delete(done));
    return done;
  }

  /** Stops the run with this id; its outcome becomes `cancelled`. */
  cancel(runId: string): boolean {
    const f = this.#flights.get(runId);
    if (f === undefined) return false;
    f.stop('cancel');
    return true;
  }

  /** Refuses new runs, waits up to `graceMs` for the running ones, then stops them (`shutting_down`). */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    if (this.#done.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.#done]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    for (const f of this.#flights.values()) f.stop('close');
    await Promise.allSettled([...this.#done]);
  }

  /** The outcome for a run stopped by timeout, cancel or close. */
  #stoppedOutcome(why: Why, job: RunJob, parts: { logsTruncated?: boolean } = {}): RunOutcome {
    const clock = this.#o.clock;
    if (why === 'timeout') return makeOutcome(clock, 'timed_out', { ...parts, error: { code: 'timeout', message: `the command ran longer than ${job.timeoutMs} ms and was stopped` } });
    if (why === 'cancel') return makeOutcome(clock, 'cancelled', { ...parts, error: { code: 'cancelled', message: 'the run was cancelled' } });
    return failedOutcome(this.#o.clock, 'shutting_down', 'the executor closed while the command was running', undefined, parts);
  }

  async #run(flight: Flight): Promise<RunOutcome> {
    const { job } = flight;
    const o = this.#o;
    const clock = o.clock;
    const parsed = parseShellSpec(job.spec);
    if (parsed.spec === null) return failedOutcome(clock, 'invalid_spec', parsed.problems.join('; '), { errors: parsed.problems });
    const spec = parsed.spec;

    const plan = await this.#sandbox.plan();
    if (plan.unusable !== null) return failedOutcome(clock, 'shell_spawn_failed', plan.unusable);
    if (flight.why !== null) return this.#stoppedOutcome(flight.why, job);

    let workdir: string;
    let cwd: string;
    try {
      workdir = prepareWorkdir(o.dataDir, job, plan.asRoot);
      cwd = resolveCwd(workdir, spec.cwd);
    } catch (err) {
      if (err instanceof SpawnError) return failedOutcome(clock, 'shell_spawn_failed', err.message);
      return failedOutcome(clock, 'shell_spawn_failed', `cannot prepare the task's directory: ${coerceError(err).message}`);
    }
    if (this.#writeAccounting === undefined) {
      this.#writeAccounting = probeWriteAccounting(join(resolve(o.dataDir), 'shell'));
      if (!this.#writeAccounting) o.onWarning?.('this filesystem does not account block-layer writes (write_bytes): shell runs report diskWriteBytes as unknown');
    }

    const env = this.#environment(job, plan, workdir, spec.env);
    if (!programExists(spec.command[0]!, cwd, env.PATH ?? SANDBOX_PATH)) {
      return failedOutcome(clock, 'shell_spawn_failed', `program not found or not executable: ${spec.command[0]} (PATH=${env.PATH ?? ''})`);
    }
    const limits = effectiveLimits(spec.limits, o.defaultLimits, o.maxLimits, job.timeoutMs);
    const argv = buildCommand(plan, { command: spec.command, workdir, cwd, env, limits, network: o.network ?? false });
    const host = wrapForHost(plan.tools, argv);
    // Without bubblewrap the working directory is inherited: root enters it before dropping to
    // the sandbox user, who may lack search permission on the data directory above it.
    return this.#execute(flight, plan, host, envAssignments(env), limits, plan.kind === 'none' ? cwd : '/');
  }

  /** The command's whole environment: the allow-list, the task's own, then Sundial's. */
  #environment(job: RunJob, plan: SandboxPlan, workdir: string, own: Record<string, string>): Record<string, string> {
    return {
      PATH: SANDBOX_PATH,
      HOME: workdir,
      LANG: 'C.UTF-8',
      // The sandbox has a private /tmp; without it, /tmp is shared with the host.
      TMPDIR: plan.kind === 'bwrap' ? '/tmp' : workdir,
      ...own,
      SUNDIAL_RUN_ID: job.runId,
      SUNDIAL_TASK_ID: job.taskId,
      SUNDIAL_TASK_NAME: job.taskName,
      SUNDIAL_ATTEMPT: String(job.attempt),
      SUNDIAL_SCHEDULED_FOR: new Date(job.scheduledFor).toISOString(),
      SUNDIAL_IDEMPOTENCY_KEY: job.idempotencyKey,
    };
  }

  #execute(flight: Flight, plan: SandboxPlan, host: string[], envText: string, limits: ResourceLimits, spawnCwd: string): Promise<RunOutcome> {
    const { job } = flight;
    const o = this.#o;
    const clock = o.clock;
    let child: ChildProcess;
    try {
      child = spawn(host[0]!, host.slice(1), { cwd: spawnCwd, env: TOOL_ENV, detached: true, stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] });
    } catch (err) {
      return Promise.resolve(failedOutcome(clock, 'shell_spawn_failed', `could not start the command: ${coerceError(err).message}`));
    }
    const out = new ShellLog(job, o.onLogs, o.logMaxBytes);
    const reportStream = child.stdio[3] as Readable;
    const run: RunState = { exit: null, spawnError: null, out, report: '', usage: undefined };
    const pid = child.pid;
    let lastSampleAt = 0;
    const sampler =
      pid === undefined
        ? null
        : new ProcessTreeSampler(pid, {
            interval: sampleInterval,
            onSample: (s: TreeSample) => {
              // Runs longer than a second report about once a second (the sampler ticks every 500 ms by then).
              if (o.onSample === undefined || s.elapsedMs < 1000 || s.elapsedMs - lastSampleAt < 900) return;
              lastSampleAt = s.elapsedMs;
              o.onSample(job, { at: clock.now(), cpuMs: Math.round(s.cpuMs), rssBytes: s.rssBytes, diskWriteBytes: s.writeBytes });
            },
          }).start();
    const killer = new RunKiller(plan, job.runId, pid);

    return new Promise<RunOutcome>((resolveOutcome) => {
      let killTimer: NodeJS.Timeout | null = null;
      let streamTimer: NodeJS.Timeout | null = null;
      let leftoversGone = false;
      let closed = false;
      let finished = false;
      const timeout = setTimeout(() => flight.stop('timeout'), Math.min(Math.max(0, job.timeoutMs), 2 ** 31 - 1));

      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timeout);
        if (killTimer) clearTimeout(killTimer);
        if (streamTimer) clearTimeout(streamTimer);
        run.usage = sampler?.stop();
        out.flush();
        resolveOutcome(this.#outcome(flight, limits, run));
      };
      const afterLeftovers = (): void => {
        leftoversGone = true;
        if (closed) return finish();
        // Something that escaped every net may still hold the pipes open: stop waiting for it.
        streamTimer = setTimeout(() => {
          for (const s of [child.stdout, child.stderr, reportStream]) s?.destroy();
          finish();
        }, STREAM_WAIT_MS);
      };

      flight.stop = (why: Why): void => {
        if (flight.why !== null || run.exit !== null) return;
        flight.why = why;
        killer.signal('SIGTERM');
        killTimer = setTimeout(() => killer.untilExit(() => run.exit !== null), o.killGraceMs ?? 2000);
      };

      for (const [stream, level] of [
        [child.stdout, 'info'],
        [child.stderr, 'error'],
      ] as [Readable, LogLevel][]) {
        const lines = new LineSplitter();
        stream.on('data', (chunk: Buffer) => {
          // Past the cap the pipe is still drained (and the bytes dropped), so the command never
          // blocks on a full pipe and nothing piles up here.
          if (out.truncated) return;
          const at = clock.now();
          lines.push(chunk, (line) => out.line(level, line, at));
        });
        stream.on('end', () => {
          if (!out.truncated) lines.end((line) => out.line(level, line, clock.now()));
        });
      }
      reportStream.on('data', (d: Buffer) => {
        if (run.report.length < 4096) run.report += d.toString('latin1');
      });
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(payloadJson(job.payload));
      const envStream = child.stdio[ENV_FD] as Writable;
      envStream.on('error', () => undefined);
      envStream.end(envText);

      child.on('error', (err) => {
        run.spawnError ??= err;
        // A spawn that failed emits no 'exit', and maybe no 'close'.
        if (pid === undefined) finish();
      });
      child.on('exit', (code, signal) => {
        run.exit = { code, signal };
        clearTimeout(timeout);
        if (killTimer) clearTimeout(killTimer);
        // With bubblewrap the namespace died with its pid 1; without, orphans are ours to kill.
        if (plan.kind === 'none') void killer.leftovers().then(afterLeftovers);
        else afterLeftovers();
      });
      child.on('close', () => {
        closed = true;
        if (leftoversGone) finish();
      });
    });
  }

  #outcome(flight: Flight, limits: ResourceLimits, r: RunState): RunOutcome {
    const clock = this.#o.clock;
    const { job } = flight;
    const parts = { logsTruncated: r.out.truncated };
    if (r.spawnError !== null && r.exit === null) {
      return failedOutcome(clock, 'shell_spawn_failed', `could not start the command: ${r.spawnError.message}`, undefined, parts);
    }
    let outcome: RunOutcome;
    const command = (job.spec as { command: string[] }).command;
    const d = exitDetail(r.exit?.code ?? null, r.exit?.signal ?? null);
    const first = r.out.firstStderr;
    const onlyThat = r.out.stdoutLines === 0 && r.out.stderrLines === 1 && first !== null;
    if (flight.why !== null) outcome = this.#stoppedOutcome(flight.why, job, parts);
    else if (d.exitCode === 0) outcome = makeOutcome(clock, 'succeeded', { ...parts, result: { exitCode: 0 } });
    else if ((d.exitCode === 126 || d.exitCode === 127) && onlyThat && EXEC_FAILURE_RE.test(first)) {
      // The program could not be executed inside the sandbox (not there, bad interpreter…).
      outcome = failedOutcome(clock, 'shell_spawn_failed', `could not start ${command[0]}: ${EXEC_FAILURE_RE.exec(first)![2]}`, { exitCode: d.exitCode }, parts);
    } else if (d.exitCode === 1 && onlyThat && first.startsWith('bwrap: ')) {
      outcome = failedOutcome(clock, 'shell_spawn_failed', `the sandbox could not start: ${first.slice(7)}`, undefined, parts);
    } else outcome = failedOutcome(clock, 'shell_exit', exitMessage(d, limits), d, parts);

    const rep = parseReport(r.report);
    const u = r.usage;
    outcome.cpuMs = Math.round(Math.max(u?.cpuMs ?? 0, rep?.cpuMs ?? 0));
    outcome.peakRssBytes = u !== undefined && u.peakRssBytes > 0 ? u.peakRssBytes : null;
    outcome.diskWriteBytes = this.#writeAccounting === true ? Math.max(u?.writeBytes ?? 0, rep?.writeBytes ?? 0) : null;
    return outcome;
  }
}

function payloadJson(payload: unknown): string {
  try {
    return `${JSON.stringify(payload ?? null) ?? 'null'}\n`;
  } catch {
    return 'null\n';
  }
}
