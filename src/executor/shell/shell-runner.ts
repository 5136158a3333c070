// Runs `shell` tasks: one process tree per run, in the sandbox ShellSandbox plans (bubblewrap
// when it works here), with rlimits, an allow-listed environment, the payload on stdin, output
// streamed as log lines, and resource figures read from /proc.
//
// Every run is started through a small host-side wrapper:
//   setpriv --pdeathsig KILL -- sh -c '"$@" 3>&-; …report… >&3; exit $s' sundial-shell <sandbox argv>
// The parent-death signal ties the run to this server: if the server dies, the wrapper dies, and
// bubblewrap's --die-with-parent takes the sandbox down. The wrapper waits for the sandbox, so
// once it returns, its own cutime/cstime and I/O counters hold the whole run's (see the chain in
// shell-sandbox.ts: every process of the run is reaped by a waiting parent); it writes them to
// fd 3 before exiting. So even a 5 ms command reports exact CPU and disk writes; the sampler adds
// live figures, the peak RSS, and a best effort where no such wrapper exists (sandbox 'none',
// whose escaped orphans are reaped by init).
//
// Ending a run (timeout, cancel, close): SIGTERM to the run's own processes (those whose
// environment holds SUNDIAL_RUN_ID=<run>; the sandbox's helpers have none), then SIGKILL after
// killGraceMs to the whole pid namespace (its pid 1; the kernel kills the rest) or, without
// bubblewrap, to the wrapper's tree, its process group and every process marked with the run id
// (root can read any environ, which catches `setsid` and double-fork escapes). The outcome
// resolves only once the wrapper has exited and, without bubblewrap, no marked process is left.
//
// Known limit: Node gives children sockets, not pipes, as stdout and stderr; a command that opens
// /dev/stdout or /dev/stderr by path gets ENXIO (writing to fd 1 or 2, `>&2`, works).

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../../core/clock.js';
import { coerceError } from '../../core/errors.js';
import type { LogLevel, LogLine } from '../../core/types.js';
import type { LogSink, RunJob, RunOutcome, SampleSink } from '../executor.js';
import { TRUNCATED_MARKER, utf8Prefix } from '../log-capture.js';
import { failedOutcome, makeOutcome } from '../outcome.js';
import {
  findProcessesByEnv,
  listChildren,
  listProcessGroup,
  listProcessTree,
  parseIo,
  processRunning,
  parseStatLine,
  probeWriteAccounting,
  ProcessTreeSampler,
  type TreeSample,
} from '../proc-usage.js';
import {
  buildCommand,
  ENV_FD,
  ENV_SCRIPT_NAME,
  envAssignments,
  SANDBOX_GID,
  SANDBOX_UID,
  ShellSandbox,
  TOOL_ENV,
  type ResourceLimits,
  type SandboxPlan,
  type SandboxPreference,
} from './shell-sandbox.js';

/** Per-task resource limits, as a task spec or the operator gives them. */
export type ShellLimits = Partial<ResourceLimits>;

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
  onWarning?: (message: string) => void;
  /** 'auto' (default) uses bubblewrap when it works; tests force one path. */
  sandbox?: SandboxPreference;
}

/** Splits long lines so one line cannot hold a run's whole log or a huge buffer. */
export const LINE_MAX_BYTES = 64 * 1024;
const BUILTIN_LIMITS = { processes: 64, openFiles: 256, fileSizeBytes: 100 * 1024 * 1024 };
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RUN_ID_VAR = 'SUNDIAL_RUN_ID';
/** What the sandbox's last step prints when it cannot exec the command (exit status 126 or 127). */
const EXEC_FAILURE_RE = new RegExp(`^${ENV_SCRIPT_NAME}: \\d+: exec: (.*): ([^:]*)$`);
const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';
/** The host wrapper (see the header); `3>&-` keeps the report channel away from the command (fd 4, the environment, goes on). */
const REPORT_SCRIPT = '"$@" 3>&-; s=$?; { read -r l </proc/$$/stat; echo "$l"; while read -r l; do echo "$l"; done </proc/$$/io; } >&3 2>/dev/null; exit $s';
/** How often SIGKILL is repeated while processes of an ended run remain, and for how long at most. */
const KILL_RETRY_MS = 100;
const KILL_GIVE_UP_MS = 5000;
/**
 * Sampling: every 25 ms at first, so a short command still has its memory seen (CPU and writes
 * come exact from the wrapper anyway), 100 ms up to a second, then 500 ms. A sample of a run's
 * tree (5–6 processes: the sandbox's helpers and the command) reads ~25 small /proc files, about
 * 0.6 ms of this thread; ~13 samples in a run's first second, 2 a second after.
 */
const sampleInterval = (elapsedMs: number): number => (elapsedMs < 100 ? 25 : elapsedMs < 1000 ? 100 : 500);
/** After the run's processes are gone, how long the output pipes may stay open. */
const STREAM_WAIT_MS = 2000;

// ---- the spec ---------------------------------------------------------------------------------

interface ParsedSpec {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  limits: ShellLimits;
}

const LIMIT_KEYS = ['processes', 'openFiles', 'fileSizeBytes', 'cpuSeconds'] as const;

/** Reads a shell spec defensively (ShellSpec may not declare every field yet). */
export function parseShellSpec(raw: unknown): { spec: ParsedSpec; problems: [] } | { spec: null; problems: string[] } {
  const problems: string[] = [];
  const s = (raw ?? {}) as Record<string, unknown>;
  const noNul = (v: string): boolean => !v.includes('\0');
  const command = s.command;
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === 'string' && noNul(a))) {
    problems.push('command: must be a non-empty array of strings without NUL characters');
  } else if (command[0] === '' || (command[0] as string).includes('=')) {
    problems.push("command[0]: the program must be a non-empty name without '='");
  }
  if (s.cwd !== undefined && (typeof s.cwd !== 'string' || !noNul(s.cwd))) problems.push('cwd: must be a string');
  const env: Record<string, string> = {};
  if (s.env !== undefined) {
    if (typeof s.env !== 'object' || s.env === null || Array.isArray(s.env)) problems.push('env: must be an object of strings');
    else {
      for (const [k, v] of Object.entries(s.env as Record<string, unknown>)) {
        if (!ENV_NAME_RE.test(k)) problems.push(`env.${k}: names must match ${ENV_NAME_RE.source}`);
        else if (k.startsWith('SUNDIAL_')) problems.push(`env.${k}: SUNDIAL_* variables are set by Sundial`);
        else if (typeof v !== 'string' || !noNul(v)) problems.push(`env.${k}: must be a string without NUL characters`);
        else env[k] = v;
      }
    }
  }
  const limits: ShellLimits = {};
  if (s.limits !== undefined) {
    if (typeof s.limits !== 'object' || s.limits === null) problems.push('limits: must be an object');
    else {
      for (const [k, v] of Object.entries(s.limits as Record<string, unknown>)) {
        if (!(LIMIT_KEYS as readonly string[]).includes(k)) problems.push(`limits.${k}: unknown limit`);
        else if (!Number.isSafeInteger(v) || (v as number) <= 0) problems.push(`limits.${k}: must be a positive integer`);
        else limits[k as (typeof LIMIT_KEYS)[number]] = v as number;
      }
    }
  }
  if (problems.length > 0) return { spec: null, problems };
  return { spec: { command: command as string[], cwd: (s.cwd as string | undefined) ?? '', env, limits }, problems: [] };
}

/** A task's limits: its own, else the operator's defaults, else built-in; never above the ceilings. */
export function effectiveLimits(own: ShellLimits, defaults: ShellLimits, max: ShellLimits, timeoutMs: number): ResourceLimits {
  const builtin: ResourceLimits = { ...BUILTIN_LIMITS, cpuSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)) };
  const out = { ...builtin };
  for (const k of LIMIT_KEYS) out[k] = Math.min(own[k] ?? defaults[k] ?? builtin[k], max[k] ?? Infinity);
  return out;
}

// ---- the task directory -----------------------------------------------------------------------

class SpawnError extends Error {}

/** Creates `<dataDir>/shell/<namespace>/<taskId>/`, owned by the sandbox user, 0700; its real path. */
function prepareWorkdir(dataDir: string, job: RunJob, asRoot: boolean): string {
  for (const seg of [job.namespace, job.taskId]) {
    if (seg === '' || seg === '.' || seg === '..' || seg.includes('/') || seg.includes('\0')) {
      throw new SpawnError(`cannot make a working directory for namespace ${JSON.stringify(job.namespace)}, task ${JSON.stringify(job.taskId)}`);
    }
  }
  const base = join(resolve(dataDir), 'shell');
  const nsDir = join(base, job.namespace);
  const dir = join(nsDir, job.taskId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Traverse-only for the levels above: without bubblewrap the command reaches its own
  // directory but cannot list the other tasks'.
  chmodSync(base, 0o711);
  chmodSync(nsDir, 0o711);
  if (!lstatSync(dir).isDirectory()) throw new SpawnError(`${dir} is not a directory`);
  if (asRoot) chownSync(dir, SANDBOX_UID, SANDBOX_GID);
  chmodSync(dir, 0o700);
  return realpathSync(dir);
}

/** The absolute working directory for `cwd` (relative to the task directory), or why not. */
function resolveCwd(workdir: string, cwd: string): string {
  if (cwd === '' || cwd === '.') return workdir;
  if (isAbsolute(cwd)) throw new SpawnError(`cwd ${JSON.stringify(cwd)} must be relative to the task's directory`);
  if (cwd.split(/[\\/]+/).includes('..')) throw new SpawnError(`cwd ${JSON.stringify(cwd)} may not contain '..'`);
  let real: string;
  try {
    real = realpathSync(join(workdir, cwd));
  } catch {
    throw new SpawnError(`cwd ${JSON.stringify(cwd)} does not exist in the task's directory`);
  }
  if (real !== workdir && !real.startsWith(workdir + sep)) {
    throw new SpawnError(`cwd ${JSON.stringify(cwd)} resolves outside the task's directory (through a symlink)`);
  }
  if (!statSync(real).isDirectory()) throw new SpawnError(`cwd ${JSON.stringify(cwd)} is not a directory`);
  return real;
}

/**
 * Whether `program` exists as an executable file, looked up as the sandbox will (PATH, or a path
 * relative to cwd). The sandbox shows the host's /usr and the task directory at the same paths, so
 * the host's view answers; anything else fails inside and is reported from there.
 */
function programExists(program: string, cwd: string, path: string): boolean {
  const candidates = program.includes('/') ? [resolve(cwd, program)] : path.split(':').map((d) => resolve(cwd, d || '.', program));
  return candidates.some((p) => {
    try {
      const st = statSync(p);
      return st.isFile() && (st.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

// ---- output -----------------------------------------------------------------------------------

/** Splits a byte stream into lines of at most LINE_MAX_BYTES (longer ones are split). */
class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;

  push(chunk: Buffer, onLine: (line: string) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.#add(chunk.subarray(start, nl), onLine);
      onLine(this.#take(this.#size));
      start = nl + 1;
    }
    this.#add(chunk.subarray(start), onLine);
  }

  /** The last line, if it had no newline. */
  end(onLine: (line: string) => void): void {
    if (this.#size > 0) onLine(this.#take(this.#size));
  }

  #add(bytes: Buffer, onLine: (line: string) => void): void {
    if (bytes.length === 0) return;
    this.#parts.push(bytes);
    this.#size += bytes.length;
    while (this.#size > LINE_MAX_BYTES) {
      const all = Buffer.concat(this.#parts, this.#size);
      let cut = LINE_MAX_BYTES;
      // Not inside a UTF-8 sequence: step back over continuation bytes (10xxxxxx).
      while (cut > LINE_MAX_BYTES - 4 && (all[cut]! & 0xc0) === 0x80) cut--;
      onLine(all.toString('utf8', 0, cut));
      this.#parts = [all.subarray(cut)];
      this.#size = all.length - cut;
    }
  }

  #take(size: number): string {
    const all = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, size);
    this.#parts = [];
    this.#size = 0;
    const end = all.length > 0 && all[all.length - 1] === 13 ? all.length - 1 : all.length;
    return all.toString('utf8', 0, end);
  }
}

/** A run's log: capped, streamed to the sink at most once per event-loop turn. */
class RunOutput {
  truncated = false;
  stdoutLines = 0;
  stderrLines = 0;
  firstStderr: string | null = null;
  #bytes = 0;
  #pending: LogLine[] = [];
  #scheduled = false;

  constructor(
    readonly job: RunJob,
    readonly sink: LogSink,
    readonly maxBytes: number,
  ) {}

  line(level: LogLevel, message: string, at: number): void {
    if (this.truncated) return;
    if (level === 'error') {
      if (this.stderrLines++ === 0) this.firstStderr = message;
    } else this.stdoutLines++;
    const size = Buffer.byteLength(message, 'utf8') + 1;
    if (this.#bytes + size <= this.maxBytes) {
      this.#bytes += size;
      this.#pending.push({ at, level, message });
    } else {
      const part = utf8Prefix(message, this.maxBytes - this.#bytes - 1);
      if (part !== '') this.#pending.push({ at, level, message: part });
      this.#pending.push({ at, level: 'warn', message: TRUNCATED_MARKER });
      this.#bytes = this.maxBytes;
      this.truncated = true;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    this.sink(this.job, lines);
  }
}

// ---- exit status ------------------------------------------------------------------------------

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

/**
 * Exit code and signal. bubblewrap and shells report a child's death by signal n as exit code
 * 128 + n, so codes 129–192 are read as signals (the code is kept beside the name).
 */
function exitDetail(code: number | null, signal: NodeJS.Signals | null): { exitCode: number | null; signal: string | null } {
  if (signal !== null) return { exitCode: null, signal };
  if (code !== null && code > 128 && code <= 128 + 64) return { exitCode: code, signal: SIGNAL_NAMES.get(code - 128) ?? null };
  return { exitCode: code, signal: null };
}

function exitMessage(d: { exitCode: number | null; signal: string | null }, limits: ResourceLimits): string {
  if (d.signal === 'SIGXCPU') return `the command was killed by SIGXCPU: it reached its CPU time limit (${limits.cpuSeconds} s of CPU per process)`;
  if (d.signal === 'SIGXFSZ') return `the command was killed by SIGXFSZ: it reached its file size limit (${limits.fileSizeBytes} bytes per file)`;
  if (d.signal !== null) return `the command was killed by ${d.signal}`;
  return `the command exited with status ${d.exitCode}`;
}

/** The wrapper's report: its /proc stat line, then its /proc io lines. */
function parseReport(text: string): { cpuMs: number; writeBytes: number } | null {
  const nl = text.indexOf('\n');
  if (nl < 0) return null;
  const stat = parseStatLine(text.slice(0, nl));
  if (stat === null) return null;
  return { cpuMs: stat.selfCpuMs + stat.childCpuMs, writeBytes: parseIo(text.slice(nl + 1)).writeBytes };
}

// ---- the runner -------------------------------------------------------------------------------

type Why = 'timeout' | 'cancel' | 'close';

/** What one run left behind, for its outcome. */
interface RunState {
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  spawnError: Error | null;
  out: RunOutput;
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
    const { setpriv, sh } = plan.tools;
    const host = [...(setpriv === null ? [] : [setpriv, '--pdeathsig', 'KILL', '--']), sh!, '-c', REPORT_SCRIPT, 'sundial-shell', ...argv];
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
    const out = new RunOutput(job, o.onLogs, o.logMaxBytes);
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

/** Finds and signals the processes of one run. */
class RunKiller {
  constructor(
    readonly plan: SandboxPlan,
    readonly runId: string,
    /** The host wrapper; spared so it can still report the run's totals. */
    readonly wrapper: number | undefined,
  ) {}

  /** The run's own processes: those carrying its id in their environment. */
  #marked(): number[] {
    const among = this.plan.kind === 'bwrap' && this.wrapper !== undefined ? listProcessTree(this.wrapper) : undefined;
    return findProcessesByEnv(RUN_ID_VAR, this.runId, among);
  }

  /** Everything to SIGKILL: the namespace (from its pid 1 down), or the tree, group and marked processes. */
  #all(): number[] {
    const w = this.wrapper;
    if (w === undefined) return this.#marked();
    if (this.plan.kind === 'bwrap') {
      // wrapper → bwrap's monitor → pid 1 of the namespace; killing pid 1 ends the namespace,
      // and the monitor, spared, reaps it and exits normally.
      return listChildren(w).flatMap((monitor) => listProcessTree(monitor).slice(1));
    }
    const pids = new Set([...listProcessTree(w), ...listProcessGroup(w), ...this.#marked()]);
    pids.delete(w);
    // Zombies are dead already; their reaper (init, for orphans) collects them.
    return [...pids].filter(processRunning);
  }

  signal(sig: 'SIGTERM' | 'SIGKILL'): void {
    for (const pid of sig === 'SIGTERM' ? this.#marked() : this.#all()) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }

  /** SIGKILL, repeated until the wrapper has exited; after KILL_GIVE_UP_MS the wrapper too. */
  untilExit(exited: () => boolean): void {
    const start = performance.now();
    const tick = (): void => {
      if (exited()) return;
      this.signal('SIGKILL');
      if (performance.now() - start > KILL_GIVE_UP_MS && this.wrapper !== undefined) {
        try {
          process.kill(this.wrapper, 'SIGKILL');
        } catch {
          // gone
        }
      }
      setTimeout(tick, KILL_RETRY_MS);
    };
    tick();
  }

  /** Without bubblewrap: kills what is left of a finished run and waits until none is left. */
  async leftovers(): Promise<void> {
    const start = performance.now();
    for (;;) {
      const left = this.#all();
      if (left.length === 0 || performance.now() - start > KILL_GIVE_UP_MS) return;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
