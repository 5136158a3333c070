// Resource use of processes and process trees, read straight from /proc (Linux only).
//
// Why /proc and not the `pidusage` package: pidusage reads the CPU and RSS of one pid at a time.
// A run is a tree (a shell, its children, the sandbox's helpers), children come and go between
// two readings, and we need the peak and the disk writes as well: none of that is in pidusage.
// /proc has all of it, for the price of three small synchronous reads per process:
//   /proc/<pid>/stat    utime, stime and cutime, cstime (CPU of children the process reaped)
//   /proc/<pid>/status  VmRSS (resident now) and VmHWM (the process's own peak)
//   /proc/<pid>/io      write_bytes (pages sent towards the block layer) and wchar
// The kernel adds a reaped child's CPU and I/O to its parent's figures (wait4), so a process's
// counters cover its waited-for descendants too; ProcessTreeSampler relies on that.
//
// Reads are synchronous on purpose: a /proc file costs 15–30 µs here (open, read, close), less than
// a trip through libuv's threadpool would; a process about 0.1 ms in all, a shell run's tree of six
// 0.6 ms. The sampler caps the members it reads (512) so a huge tree cannot stall the event loop.
// Nothing here shells out after the one-time `getconf CLK_TCK`.

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One process's cumulative resource use. CPU and I/O include the children it has reaped. */
export interface ProcUsage {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** Start time in clock ticks since boot: with the pid, identifies a process (pids are reused). */
  startTicks: number;
  /** utime + stime + cutime + cstime. */
  cpuMs: number;
  /** cutime + cstime alone: CPU of reaped children. */
  childCpuMs: number;
  rssBytes: number;
  /** This process's own peak RSS (VmHWM). */
  hwmBytes: number;
  /** Bytes this process (and its reaped children) caused to be written to storage; 0 if unreadable. */
  writeBytes: number;
  /** Bytes passed to write() and friends, to files, pipes and sockets alike; 0 if unreadable. */
  wcharBytes: number;
}

let ticks = 0;

/**
 * The kernel's clock-tick rate for /proc times (USER_HZ), read once with `getconf CLK_TCK`.
 * It is 100 on every mainstream Linux architecture, which is the fallback if getconf fails.
 */
export function clockTicksPerSecond(): number {
  if (ticks === 0) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 });
    const n = Number.parseInt(r.stdout ?? '', 10);
    ticks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticks;
}

const buf = Buffer.allocUnsafe(16 * 1024);

/**
 * A small /proc file as text, or null if it cannot be read (the process is gone, or no access).
 * Plain open/read into one reused buffer: readFileSync's fstat and allocations make it 2–4 times
 * slower on these zero-sized files. Files larger than the buffer are read in full all the same.
 */
function readText(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let text = '';
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) {
      text += buf.toString('latin1', 0, n);
    }
    return text;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may itself hold spaces and ')'). */
function statFields(pid: number): string[] | null {
  const text = readText(`/proc/${pid}/stat`);
  if (text === null) return null;
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // [0] is field 3 (state); field N of proc(5) is at [N - 3].
  return text.slice(close + 2).split(' ');
}

function statusKb(text: string, key: string): number {
  const at = text.indexOf(`\n${key}:`);
  if (at < 0) return 0;
  return Number.parseInt(text.slice(at + key.length + 2).trimStart(), 10) * 1024 || 0;
}

// Anchored at line starts: `write_bytes: ` is also the tail of `cancelled_write_bytes: `.
const WRITE_BYTES_RE = /^write_bytes: (\d+)$/m;
const WCHAR_RE = /^wchar: (\d+)$/m;

function ioField(text: string, re: RegExp): number {
  return Number(re.exec(text)?.[1] ?? 0);
}

/** Parses the numbers of a /proc/<pid>/stat line (as read from the file, comm and all). */
export function parseStatLine(text: string, tick = clockTicksPerSecond()): { selfCpuMs: number; childCpuMs: number } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).trim().split(' ');
  if (f.length < 20) return null;
  const ms = (i: number): number => ((Number(f[i]) || 0) * 1000) / tick;
  return { selfCpuMs: ms(11) + ms(12), childCpuMs: ms(13) + ms(14) };
}

/** Parses /proc/<pid>/io text into its counters. */
export function parseIo(text: string): { writeBytes: number; wcharBytes: number } {
  return { writeBytes: ioField(text, WRITE_BYTES_RE), wcharBytes: ioField(text, WCHAR_RE) };
}

/** The resource use of one process, or null when it no longer exists. */
export function readProcUsage(pid: number): ProcUsage | null {
  const f = statFields(pid);
  if (f === null || f.length < 20) return null;
  const status = readText(`/proc/${pid}/status`);
  if (status === null) return null;
  const tick = clockTicksPerSecond();
  const ms = (i: number): number => ((Number(f[i]) || 0) * 1000) / tick;
  // /proc/<pid>/io needs ptrace-read access; a non-root server cannot read it for other users.
  const io = readText(`/proc/${pid}/io`);
  const childCpuMs = ms(13) + ms(14);
  return {
    pid,
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    sid: Number(f[3]),
    startTicks: Number(f[19]),
    cpuMs: ms(11) + ms(12) + childCpuMs,
    childCpuMs,
    rssBytes: statusKb(status, 'VmRSS'),
    hwmBytes: statusKb(status, 'VmHWM'),
    writeBytes: io === null ? 0 : ioField(io, WRITE_BYTES_RE),
    wcharBytes: io === null ? 0 : ioField(io, WCHAR_RE),
  };
}

/** Every pid in /proc (a snapshot; processes come and go while it is read). */
export function listPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

let childrenFile: boolean | undefined;

/** Whether the kernel has /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN); checked once. */
function hasChildrenFile(): boolean {
  childrenFile ??= readText(`/proc/self/task/${process.pid}/children`) !== null;
  return childrenFile;
}

/** Direct children of a process: its threads' `children` files, or a scan of every parent pid. */
export function listChildren(pid: number): number[] {
  if (!hasChildrenFile()) return listPids().filter((p) => statFields(p)?.[1] === String(pid));
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    const text = readText(`/proc/${pid}/task/${tid}/children`);
    if (text === null) continue;
    for (const s of text.split(' ')) if (s.trim() !== '') out.push(Number(s));
  }
  return out;
}

/**
 * A process and all its descendants, parents before children, at most `max` of them. Processes
 * that were reparented away (double fork, `setsid` plus an exiting parent) are not descendants any
 * more; inside a pid namespace they are reparented to its pid 1, so a namespace's init finds them.
 */
export function listProcessTree(rootPid: number, max = 4096): number[] {
  if (statFields(rootPid) === null) return [];
  const out = [rootPid];
  for (let i = 0; i < out.length && out.length < max; i++) {
    for (const c of listChildren(out[i]!)) {
      if (out.length >= max) break;
      out.push(c);
    }
  }
  return out;
}

/** Processes whose stat field `index` (proc(5) numbering) equals `value`. */
function scanStat(index: number, value: number): number[] {
  const want = String(value);
  return listPids().filter((p) => statFields(p)?.[index - 3] === want);
}

/** The members of a process group. */
export function listProcessGroup(pgid: number): number[] {
  return scanStat(5, pgid);
}

/** The members of a session. */
export function listSession(sid: number): number[] {
  return scanStat(6, sid);
}

/** The processes in the same pid namespace as `pid` (root sees them all from outside). */
export function listPidNamespace(pid: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return [];
  }
  return listPids().filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/pid`) === ns;
    } catch {
      return false;
    }
  });
}

/** True when this process's environment block holds exactly `name=value`. */
export function hasEnvEntry(pid: number, name: string, value: string): boolean {
  let env: Buffer;
  try {
    env = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return false;
  }
  const needle = Buffer.from(`${name}=${value}\0`);
  for (let at = env.indexOf(needle); at >= 0; at = env.indexOf(needle, at + 1)) {
    if (at === 0 || env[at - 1] === 0) return true;
  }
  return false;
}

/**
 * Processes whose initial environment holds `name=value` (this process excluded). Root can read
 * every environ; others only their own processes'. A process that rewrites its environment
 * block or execs with a cleared environment is not found: this is a net, not a boundary.
 */
export function findProcessesByEnv(name: string, value: string, among: number[] = listPids()): number[] {
  return among.filter((p) => p !== process.pid && hasEnvEntry(p, name, value));
}

/** True while a process exists (zombies included). */
export function processExists(pid: number): boolean {
  return statFields(pid) !== null;
}

/** True while a process exists and is not a zombie. */
export function processRunning(pid: number): boolean {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z' && f[0] !== 'X';
}

/**
 * Whether this filesystem and kernel account block-layer writes (`write_bytes`): writes 256 KiB
 * to a scratch file in `dir` and watches this process's own counter. False on storage that
 * bypasses the page cache's accounting (some network and FUSE filesystems), and on kernels
 * without CONFIG_TASK_IO_ACCOUNTING.
 */
export function probeWriteAccounting(dir: string): boolean {
  const before = readText('/proc/self/io');
  if (before === null) return false;
  const file = join(dir, `.write-probe-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(file, Buffer.alloc(256 * 1024, 1));
    const after = readText('/proc/self/io');
    return after !== null && ioField(after, WRITE_BYTES_RE) - ioField(before, WRITE_BYTES_RE) >= 128 * 1024;
  } catch {
    return false;
  } finally {
    rmSync(file, { force: true });
  }
}

// ---- sampling a tree ----------------------------------------------------------------------

/** Cumulative figures of a tree at one sample. */
export interface TreeSample {
  /** Milliseconds since the sampler started. */
  elapsedMs: number;
  /** CPU time of the tree so far, including members that have exited. */
  cpuMs: number;
  /** Summed RSS of the members now. */
  rssBytes: number;
  /** Highest summed RSS seen, or the highest single member's VmHWM if larger. */
  peakRssBytes: number;
  writeBytes: number;
  wcharBytes: number;
  /** Members read at this sample. */
  processes: number;
}

export interface ProcessTreeSamplerOptions {
  /** Milliseconds to the next sample, given the time since start. Default: 100 in the first second, then 500. */
  interval?: (elapsedMs: number) => number;
  /** Called after each timed sample. */
  onSample?: (sample: TreeSample) => void;
  /** The members of the tree; default: `listProcessTree(root, 512)`. */
  members?: (rootPid: number) => number[];
}

/** Most processes one sample reads (at ~0.1 ms each, on the event loop's thread). */
const MAX_SAMPLED_MEMBERS = 512;

export const defaultSampleInterval = (elapsedMs: number): number => (elapsedMs < 1000 ? 100 : 500);

/**
 * Samples the resource use of a process tree: the sum over its members, plus what members that
 * vanished since the previous sample had used, so CPU and writes are not lost when a child exits.
 *
 * A vanished member's counters usually live on in its parent, which reaped it (cutime and the I/O
 * counters grow by the child's totals). They are lost only when the reaper is outside the tree
 * (an orphan adopted by init) or reaps without accounting (SIGCHLD ignored). So a vanished member
 * counts only for the part its nearest surviving ancestor's children-counters did not absorb.
 * Between samples this is an estimate; for exact totals read the counters of a process that
 * waited for the whole tree (see ShellRunner's wrapper).
 *
 * Peak memory is the larger of the highest summed RSS at a sample and the highest VmHWM of any
 * single member: the latter catches a spike between samples, the former concurrent members.
 */
export class ProcessTreeSampler {
  readonly rootPid: number;
  readonly #interval: (elapsedMs: number) => number;
  readonly #onSample: ((s: TreeSample) => void) | undefined;
  readonly #members: (rootPid: number) => number[];
  readonly #t0 = performance.now();
  #seen = new Map<number, ProcUsage>();
  #lostCpuMs = 0;
  #lostWrite = 0;
  #lostWchar = 0;
  #last: TreeSample;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(rootPid: number, opts: ProcessTreeSamplerOptions = {}) {
    this.rootPid = rootPid;
    this.#interval = opts.interval ?? defaultSampleInterval;
    this.#onSample = opts.onSample;
    this.#members = opts.members ?? ((root) => listProcessTree(root, MAX_SAMPLED_MEMBERS));
    this.#last = { elapsedMs: 0, cpuMs: 0, rssBytes: 0, peakRssBytes: 0, writeBytes: 0, wcharBytes: 0, processes: 0 };
  }

  /** Takes a sample now and then on the interval, until `stop()`. */
  start(): this {
    this.sample();
    this.#schedule();
    return this;
  }

  /** The latest cumulative figures. */
  get last(): TreeSample {
    return this.#last;
  }

  /** Pids read at the latest sample. */
  get members(): number[] {
    return [...this.#seen.keys()];
  }

  /** Stops the timer; returns the latest figures (takes a last sample if the tree is still there). */
  stop(): TreeSample {
    if (!this.#stopped) {
      this.#stopped = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      this.sample();
    }
    return this.#last;
  }

  /** Reads the tree now and folds it into the cumulative figures. */
  sample(): TreeSample {
    const now = new Map<number, ProcUsage>();
    for (const pid of this.#members(this.rootPid)) {
      const u = readProcUsage(pid);
      if (u !== null) now.set(pid, u);
    }
    this.#accountVanished(now);
    let cpu = 0;
    let rss = 0;
    let hwm = 0;
    let write = 0;
    let wchar = 0;
    for (const u of now.values()) {
      cpu += u.cpuMs;
      rss += u.rssBytes;
      hwm = Math.max(hwm, u.hwmBytes);
      write += u.writeBytes;
      wchar += u.wcharBytes;
    }
    this.#seen = now;
    const prev = this.#last;
    this.#last = {
      elapsedMs: performance.now() - this.#t0,
      // Never backwards: a member can vanish with counters nobody absorbed and we do not know.
      cpuMs: Math.max(prev.cpuMs, cpu + this.#lostCpuMs),
      rssBytes: rss,
      peakRssBytes: Math.max(prev.peakRssBytes, rss, hwm),
      writeBytes: Math.max(prev.writeBytes, write + this.#lostWrite),
      wcharBytes: Math.max(prev.wcharBytes, wchar + this.#lostWchar),
      processes: now.size,
    };
    return this.#last;
  }

  #accountVanished(now: Map<number, ProcUsage>): void {
    // The same process at both samples: a pid reused by a newcomer does not count.
    const alive = (pid: number): boolean => {
      const a = this.#seen.get(pid);
      const b = now.get(pid);
      return a !== undefined && b !== undefined && a.startTicks === b.startTicks;
    };
    // Vanished members grouped by their nearest ancestor that is still alive (or -1: none).
    const groups = new Map<number, { cpu: number; write: number; wchar: number }>();
    for (const [pid, u] of this.#seen) {
      if (alive(pid)) continue;
      let anc = u.ppid;
      for (let hops = 0; hops < 64 && this.#seen.has(anc) && !alive(anc); hops++) anc = this.#seen.get(anc)!.ppid;
      const key = alive(anc) ? anc : -1;
      const g = groups.get(key) ?? { cpu: 0, write: 0, wchar: 0 };
      g.cpu += u.cpuMs;
      g.write += u.writeBytes;
      g.wchar += u.wcharBytes;
      groups.set(key, g);
    }
    for (const [anc, g] of groups) {
      let absorbedCpu = 0;
      let absorbedWrite = 0;
      let absorbedWchar = 0;
      if (anc !== -1) {
        const before = this.#seen.get(anc)!;
        const after = now.get(anc)!;
        absorbedCpu = after.childCpuMs - before.childCpuMs;
        // The I/O counters do not split own and children's: the growth is an upper bound.
        absorbedWrite = after.writeBytes - before.writeBytes;
        absorbedWchar = after.wcharBytes - before.wcharBytes;
      }
      this.#lostCpuMs += Math.max(0, g.cpu - absorbedCpu);
      this.#lostWrite += Math.max(0, g.write - absorbedWrite);
      this.#lostWchar += Math.max(0, g.wchar - absorbedWchar);
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = Math.max(1, this.#interval(performance.now() - this.#t0));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#stopped) return;
      const s = this.sample();
      this.#onSample?.(s);
      this.#schedule();
    }, delay);
    // The process being watched keeps the event loop alive, not its sampler.
    this.#timer.unref();
  }
}
