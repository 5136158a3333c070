// The isolation around `shell` tasks: which tools this machine has, whether bubblewrap really
// works here (tried once), and the argv that wraps one command.
//
// With bubblewrap, as root, a run is this chain of execs (each line one process, → = exec):
//
//   bwrap (root)          new mount, pid, ipc, uts, cgroup and (unless network) net namespaces;
//                         /usr, the lib/bin links and a few /etc files read-only, /proc, /dev,
//                         a private /tmp, the task's directory read-write. --as-pid-1, so:
//   [pid 1] setpriv --pdeathsig KILL → sh   root reaper of the namespace: runs the rest in the
//                         foreground, exits with its status; the kernel then kills whatever is
//                         left in the namespace (nohup, setsid, double forks). It waits for all it
//                         adopts, so its CPU and I/O counters, and the bwrap above that waits for
//                         it, cover every process of the run.
//   setpriv → bwrap       drop to uid/gid 65534, no capabilities (bounding set too), no_new_privs;
//                         then a user namespace of its own, with nested user namespaces disabled
//   prlimit → env → sh → cmd   rlimits; an empty environment and the working directory; the
//                         task's environment, read from fd 4; the command
//
// Why the nesting: root's bubblewrap maps the sandbox uid to real root when it makes a user
// namespace, so the command must drop to 65534 in the initial namespace (setpriv) and only then
// enter a user namespace. The kernel counts RLIMIT_NPROC per (user namespace, uid), so the
// process limit set inside that namespace is per run although every run is uid 65534 (the
// namespace's own ceiling is the server's limit). It also lets bubblewrap forbid further user
// namespaces, which are most kernel exploits' first step. Without unprivileged user namespaces
// on the host the chain skips that bwrap: still isolated, but the process limit counts all
// shell runs together (all uid 65534). The PR_SET_PDEATHSIG on pid 1 is set by the root setpriv
// because a signal from bubblewrap's capability-less root monitor may not reach a uid-65534
// process: the parent-death signal is permission-checked.
//
// Nothing user-controlled reaches a privileged process: the task's environment travels on fd 4 (as
// shell assignments) and is applied by the last, unprivileged `sh`, so LD_PRELOAD and friends only
// ever reach the command. It is not in any argv either, where every host user could read it
// (/proc/<pid>/cmdline), only the command's own arguments are.
//
// Not root: one unprivileged bwrap with its own user namespace (nested ones disabled); prlimit
// runs before pid 1 (its limits then hold for the whole run); the command keeps the server's uid.

import { spawn } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';

/** The uid and gid shell commands run as when the server runs as root (nobody/nogroup). */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

/** What operators are told to run when bubblewrap is missing. */
export const INSTALL_HINT = 'run scripts/install-sandbox-tools.sh';

/** Tools are looked up in these system directories only, never in the server's PATH. */
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

/** The /etc entries commands commonly need (users, DNS, TLS roots, the loader, time zone). */
const ETC_ENTRIES = [
  'passwd', 'group', 'hosts', 'host.conf', 'resolv.conf', 'nsswitch.conf', 'gai.conf', 'services', 'protocols',
  'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'localtime', 'timezone', 'alternatives', 'ssl', 'ca-certificates',
  'ca-certificates.conf', 'pki', 'mime.types', 'os-release',
];

/** The `sh -c` script of the namespace's pid 1: the rest of argv in the foreground. */
const INIT_SCRIPT = '"$@"; exit $?';

/** The fd on which the command's environment arrives (see ENV_SCRIPT); the caller provides it. */
export const ENV_FD = 4;

/**
 * The last step, as the sandbox user: exports the assignments read from fd 4, closes it, execs
 * the command (looked up in the new PATH). `sh` would export a PWD of its own: unset first.
 */
const ENV_SCRIPT = `unset PWD; set -a; eval "$(CAT <&${ENV_FD})" && exec ${ENV_FD}<&- && exec "$@"`;

/** $0 of that script: its error messages (`sundial-env: 1: exec: prog: not found`) start with it. */
export const ENV_SCRIPT_NAME = 'sundial-env';

/** The environment as shell assignments, one per line, values single-quoted. */
export function envAssignments(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}='${v.replaceAll("'", "'\\''")}'\n`)
    .join('');
}

export type SandboxPreference = 'auto' | 'bwrap' | 'none';

export interface SandboxTools {
  bwrap: string | null;
  prlimit: string | null;
  setpriv: string | null;
  env: string | null;
  sh: string | null;
  cat: string | null;
  /** coreutils `nice`: commands run below the server's CPU priority (optional). */
  nice?: string | null;
}

export interface ResourceLimits {
  /** RLIMIT_NPROC: processes and threads. */
  processes: number;
  /** RLIMIT_NOFILE. */
  openFiles: number;
  /** RLIMIT_FSIZE, also the size of the private /tmp. */
  fileSizeBytes: number;
  /** RLIMIT_CPU, per process: SIGXCPU at this many seconds, SIGKILL one second later. */
  cpuSeconds: number;
}

/** How runs are wrapped on this machine. */
export interface SandboxPlan {
  kind: 'bwrap' | 'none';
  /** The server runs as root: commands drop to SANDBOX_UID. */
  asRoot: boolean;
  /** bwrap: each run has its own user namespace (per-run process count, no nested namespaces). */
  userns: boolean;
  tools: SandboxTools;
  /** This bubblewrap supports `--size` for tmpfs (0.7+). */
  tmpfsSize: boolean;
  /** The uid commands run as. */
  uid: number;
  /** Why isolation is weaker than it should be (warned once); null when all is well. */
  degraded: string | null;
  /** Why shell tasks cannot run at all (each run fails with this); null when they can. */
  unusable: string | null;
}

/** One command to wrap. */
export interface WrapRequest {
  command: string[];
  /** The task's directory, a real path (no symlinks). */
  workdir: string;
  /** Absolute working directory, inside `workdir`. */
  cwd: string;
  /** The command's whole environment: write `envAssignments(env)` to the child's fd ENV_FD. */
  env: Record<string, string>;
  limits: ResourceLimits;
  network: boolean;
}

/** The absolute path of a tool in the system directories, or null. */
export function findTool(name: string): string | null {
  for (const dir of TOOL_DIRS) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next directory
    }
  }
  return null;
}

export function detectTools(): SandboxTools {
  const t = findTool;
  return { bwrap: t('bwrap'), prlimit: t('prlimit'), setpriv: t('setpriv'), env: t('env'), sh: t('sh'), cat: t('cat'), nice: t('nice') };
}

/** Read-only binds of /usr and the top-level bin/lib entries (symlinks on merged-/usr systems) and /etc files. */
function systemArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const p of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(p), p);
      else if (st.isDirectory()) args.push('--ro-bind', p, p);
    } catch {
      // absent on this system
    }
  }
  // bwrap creates missing parents 0700; /etc must be readable by the sandbox user.
  args.push('--perms', '0755', '--dir', '/etc');
  for (const e of ETC_ENTRIES) if (existsSync(`/etc/${e}`)) args.push('--ro-bind-try', `/etc/${e}`, `/etc/${e}`);
  return args;
}

let cachedSystemArgs: string[] | undefined;

/** `--dir` for each ancestor of the workdir, so they are traversable (bwrap would make them 0700). */
function ancestorArgs(workdir: string): string[] {
  const dirs: string[] = [];
  for (let d = dirname(workdir); d !== '/' && d !== '.'; d = dirname(d)) dirs.unshift(d);
  return dirs.flatMap((d) => ['--perms', '0755', '--dir', d]);
}

function prlimitArgs(plan: SandboxPlan, l: ResourceLimits): string[] {
  if (plan.tools.prlimit === null) return [];
  const args = [plan.tools.prlimit];
  // Outside any user namespace and not root, RLIMIT_NPROC would count the server's own threads.
  if (plan.asRoot || plan.kind === 'bwrap') args.push(`--nproc=${l.processes}`);
  // Soft below hard, so SIGXCPU (which names the cause) comes before the SIGKILL.
  args.push(`--nofile=${l.openFiles}`, `--fsize=${l.fileSizeBytes}`, `--cpu=${l.cpuSeconds}:${l.cpuSeconds + 1}`, '--core=0', '--');
  return args;
}

function dropArgs(plan: SandboxPlan): string[] {
  if (!plan.asRoot) return [];
  return [plan.tools.setpriv!, `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_GID}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
}

function envArgs(plan: SandboxPlan, req: WrapRequest): string[] {
  // In the sandbox `env -C` enters the directory: only the dropped user may enter a 0700
  // directory owned by 65534 (pid 1 has no DAC override). Without it, the caller's cwd is inherited.
  const chdir = plan.kind === 'bwrap' ? ['-C', req.cwd] : [];
  const { env, sh, cat } = plan.tools;
  return [env!, '-i', ...chdir, '--', sh!, '-c', ENV_SCRIPT.replace('CAT', cat!), ENV_SCRIPT_NAME, ...req.command];
}

/**
 * The argv (program first) that runs `req.command` under the plan. The caller spawns it with
 * TOOL_ENV as environment, writes `envAssignments(req.env)` to the child's fd ENV_FD and closes
 * it, and, without bubblewrap, uses `req.cwd` as the working directory. No side effects (the
 * system layout is read once and cached).
 */
export function buildCommand(plan: SandboxPlan, req: WrapRequest): string[] {
  if (plan.kind === 'none') {
    const noNewPrivs = !plan.asRoot && plan.tools.setpriv !== null ? [plan.tools.setpriv, '--no-new-privs', '--'] : [];
    return [...dropArgs(plan), ...noNewPrivs, ...prlimitArgs(plan, req.limits), ...envArgs(plan, req)];
  }
  const { bwrap, setpriv, sh } = plan.tools as { bwrap: string; setpriv: string | null; sh: string };
  cachedSystemArgs ??= systemArgs();
  const outer = [
    bwrap,
    ...(plan.asRoot ? [] : ['--unshare-user', '--disable-userns']),
    '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try',
    ...(req.network ? [] : ['--unshare-net']),
    '--as-pid-1', '--die-with-parent', '--new-session', '--hostname', 'sundial',
    // pid 1 keeps only what setpriv needs to drop to the sandbox user.
    ...(plan.asRoot ? ['--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP'] : []),
    ...cachedSystemArgs,
    '--proc', '/proc', '--dev', '/dev',
    '--perms', '1777', ...(plan.tmpfsSize ? ['--size', String(req.limits.fileSizeBytes)] : []), '--tmpfs', '/tmp',
    ...ancestorArgs(req.workdir),
    '--bind', req.workdir, req.workdir,
    '--chdir', '/',
    '--',
  ];
  if (!plan.asRoot) return [...outer, ...prlimitArgs(plan, req.limits), sh, '-c', INIT_SCRIPT, 'sundial-init', ...envArgs(plan, req)];
  const inner = plan.userns ? [bwrap, '--unshare-user', '--disable-userns', '--dev-bind', '/', '/', '--die-with-parent', '--'] : [];
  return [
    ...outer,
    ...(setpriv === null ? [] : [setpriv, '--pdeathsig', 'KILL', '--']),
    sh, '-c', INIT_SCRIPT, 'sundial-init',
    ...dropArgs(plan),
    ...inner,
    ...prlimitArgs(plan, req.limits),
    ...envArgs(plan, req),
  ];
}

/** A minimal environment for the wrapping tools themselves (none of the server's). */
export const TOOL_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' });

/** Runs argv with a deadline (and `envText` on fd ENV_FD); resolves with its exit code (null if killed) and output. */
export function runWrapped(argv: string[], cwd: string, envText = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: TOOL_ENV, stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'pipe'], timeout: 10_000, killSignal: 'SIGKILL' });
    const envStream = child.stdio[ENV_FD] as Writable | null;
    envStream?.on('error', () => undefined);
    envStream?.end(envText);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ code: null, stdout, stderr: err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `id -u` in a candidate sandbox; null when it works, else why not. */
async function tryPlan(plan: SandboxPlan): Promise<string | null> {
  const dir = mkdtempSync(join(tmpdir(), 'sundial-sandbox-probe-'));
  try {
    if (plan.asRoot) chownSync(dir, SANDBOX_UID, SANDBOX_GID);
    const limits = { processes: 64, openFiles: 64, fileSizeBytes: 1 << 20, cpuSeconds: 10 };
    const env = { PATH: '/usr/bin:/bin' };
    const argv = buildCommand(plan, { command: ['id', '-u'], workdir: dir, cwd: dir, env, limits, network: false });
    const r = await runWrapped(argv, dir, envAssignments(env));
    if (r.code === 0 && r.stdout.trim() === String(plan.uid)) return null;
    const why = r.stderr.trim().split('\n')[0] || `exit ${r.code}, output ${JSON.stringify(r.stdout.trim())}`;
    return why;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** bwrap's --help, to learn which options this version has. */
async function bwrapHelp(bwrap: string): Promise<string> {
  const r = await runWrapped([bwrap, '--help'], '/');
  return r.stdout + r.stderr;
}

/** Why shell runs are refused when bubblewrap cannot isolate them, and the two ways out. */
function noIsolation(why: string): string {
  return `${why}: shell tasks would run with the host's file system and network, so they are refused; ${INSTALL_HINT}, or set SUNDIAL_SHELL_SANDBOX=none to accept running them without isolation`;
}

/**
 * Works out how shell runs are wrapped on this machine with these tools. Without working
 * bubblewrap, `auto` (the default) and `bwrap` refuse shell runs: isolation that silently
 * disappears when a package is missing is no isolation (issue 12). Only `none`, the operator's
 * explicit choice, runs commands unisolated.
 */
export async function probeSandbox(preference: SandboxPreference, tools: SandboxTools = detectTools()): Promise<SandboxPlan> {
  const asRoot = process.getuid?.() === 0;
  const base: SandboxPlan = { kind: 'none', asRoot, userns: false, tools, tmpfsSize: false, uid: asRoot ? SANDBOX_UID : (process.getuid?.() ?? 0), degraded: null, unusable: null };
  const problems: string[] = [];
  if (tools.env === null || tools.sh === null || tools.cat === null) return { ...base, unusable: 'env, cat (coreutils) or sh not found in /usr/bin or /bin' };
  if (asRoot && tools.setpriv === null) {
    return { ...base, unusable: 'setpriv (util-linux) not found: shell tasks cannot drop root privileges, so they are refused' };
  }
  if (tools.prlimit === null) problems.push('prlimit (util-linux) not found: shell tasks run without resource limits');

  let plan: SandboxPlan | null = null;
  if (preference !== 'none') {
    if (tools.bwrap === null) {
      return { ...base, unusable: noIsolation('bubblewrap (bwrap) not found') };
    } else {
      const help = await bwrapHelp(tools.bwrap);
      const failures: string[] = [];
      if (!help.includes('--disable-userns') || !help.includes('--perms')) {
        failures.push('bubblewrap 0.8 or later is needed (--disable-userns, --perms)');
      } else {
        const bw: SandboxPlan = { ...base, kind: 'bwrap', tmpfsSize: help.includes('--size') };
        // As root: first with a user namespace per run, then without. Not root: it needs one.
        for (const userns of asRoot ? [true, false] : [true]) {
          const candidate = { ...bw, userns };
          const why = await tryPlan(candidate);
          if (why === null) {
            plan = candidate;
            break;
          }
          failures.push(why);
        }
      }
      if (plan === null) {
        return { ...base, unusable: noIsolation(`bubblewrap cannot create a sandbox here (${failures.join('; ')})`) };
      } else if (!plan.userns) {
        problems.push('user namespaces are unavailable: the process limit of shell tasks counts all runs together (all run as uid 65534)');
      }
    }
  } else {
    problems.unshift("shell sandbox off (sandbox: 'none'): shell tasks run without filesystem/network isolation");
  }
  plan ??= base;
  if (plan.kind === 'none') {
    const why = await tryPlan(plan);
    if (why !== null) return { ...plan, unusable: `shell tasks cannot start here: ${why}` };
  }
  return { ...plan, degraded: problems.length > 0 ? problems.join('; ') : null };
}

const plans = new Map<SandboxPreference, Promise<SandboxPlan>>();

/** The plan for this machine, probed once per process and preference. */
export function planSandbox(preference: SandboxPreference = 'auto'): Promise<SandboxPlan> {
  let p = plans.get(preference);
  if (p === undefined) {
    p = probeSandbox(preference);
    plans.set(preference, p);
  }
  return p;
}

export interface ShellSandboxOptions {
  preference?: SandboxPreference;
  /** Told once, the first time the plan is known, when isolation is degraded or impossible. */
  onWarning?: (message: string, refused?: boolean) => void;
}

/** The sandbox as one runner sees it: the shared plan, and its own one-time warning. */
export class ShellSandbox {
  readonly #preference: SandboxPreference;
  readonly #onWarning: ((message: string, refused?: boolean) => void) | undefined;
  #warned = false;

  constructor(opts: ShellSandboxOptions = {}) {
    this.#preference = opts.preference ?? 'auto';
    this.#onWarning = opts.onWarning;
  }

  async plan(): Promise<SandboxPlan> {
    const plan = await planSandbox(this.#preference);
    if (!this.#warned) {
      this.#warned = true;
      const message = plan.unusable ?? plan.degraded;
      // `refused`: every shell run fails with this message until the operator acts.
      if (message !== null) this.#onWarning?.(message, plan.unusable !== null);
    }
    return plan;
  }
}
