// The parent's side of a forked worker child: which flags a child may inherit, where its entry is,
// how restarts back off, which handles keep the parent alive, and that 'exit' can arrive before
// the child's last IPC messages. The worker pool (worker-pool.ts, pool-child.ts) uses these for the
// module and the script pool alike.

import type { ChildProcess } from 'node:child_process';
import { extname, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** How long after 'exit' the last IPC messages may still be in the pipe. */
const DRAIN_AFTER_EXIT_MS = 200;

/** Delay before the next start after `failures` consecutive failed ones: 250 ms, doubling to 30 s. */
export function backoff(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
}

/** A child entry next to `moduleUrl`, with that module's own extension (.ts under tsx, .js in dist/). */
export function workerEntryBeside(moduleUrl: string, name: string): string {
  return fileURLToPath(new URL(`./${name}${extname(fileURLToPath(moduleUrl))}`, moduleUrl));
}

const INHERIT_NOT = /^--(test|inspect|watch|debug)/;
const PRELOAD_FLAGS = /^--(import|require|loader|experimental-loader)$/;
const PRELOAD_INLINE = /^(--(?:import|require|loader|experimental-loader))=(.*)$/;

/** A preload specifier made absolute, for a child that runs in another working directory. */
function absolutePreload(spec: string): string {
  if (spec.startsWith('./') || spec.startsWith('../')) return pathToFileURL(resolvePath(spec)).href;
  if (/^[a-z]+:/i.test(spec) || spec.startsWith('/')) return spec;
  try {
    return import.meta.resolve(spec);
  } catch {
    return spec;
  }
}

/**
 * The parent's flags minus those a child must not inherit (the test runner's, the inspector's).
 * `absolutePreloads` is for children forked with another cwd, where a relative or bare
 * `--import` would resolve against the wrong directory.
 */
export function childExecArgv(absolutePreloads = false): string[] {
  const args = process.execArgv;
  if (!absolutePreloads) return args.filter((a) => !INHERIT_NOT.test(a));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (INHERIT_NOT.test(a)) continue;
    const inline = PRELOAD_INLINE.exec(a);
    if (inline !== null) out.push(`${inline[1]}=${absolutePreload(inline[2]!)}`);
    else if (PRELOAD_FLAGS.test(a) && i + 1 < args.length) out.push(a, absolutePreload(args[++i]!));
    else out.push(a);
  }
  return out;
}

type Refable = { ref?: () => void; unref?: () => void } | null | undefined;

// A child holds the parent's event loop open through three handles besides the process itself:
// the IPC channel and the two output pipes. All of them must follow, or unref does nothing.

/** Lets the child keep the parent process alive (runs in flight whose results must arrive). */
export function refChild(proc: ChildProcess): void {
  proc.ref();
  (proc.channel as Refable)?.ref?.();
  (proc.stdout as Refable)?.ref?.();
  (proc.stderr as Refable)?.ref?.();
}

/** Lets the parent exit although the child lives (an idle pool whose owner forgot close()). */
export function unrefChild(proc: ChildProcess): void {
  proc.unref();
  (proc.channel as Refable)?.unref?.();
  (proc.stdout as Refable)?.unref?.();
  (proc.stderr as Refable)?.unref?.();
}

/**
 * Calls `onExit` as soon as the child exits, and `onGone` exactly once when the pool may answer
 * its runs: after the IPC channel has been read to its end. 'exit' can overtake the last IPC
 * messages (a child that reports results and then exits), while 'disconnect' comes after them;
 * the wait for it is bounded. A spawn failure has no pid and may never emit 'exit': `onGone`
 * then gets the error. Other errors (a send on a closing channel) are followed by 'exit'.
 */
export function watchChildEnd(
  proc: ChildProcess,
  onExit: () => void,
  onGone: (code: number | null, signal: NodeJS.Signals | null, spawnError: Error | null) => void,
): void {
  let gone = false;
  const end = (code: number | null, signal: NodeJS.Signals | null, spawnError: Error | null): void => {
    if (gone) return;
    gone = true;
    onGone(code, signal, spawnError);
  };
  proc.on('exit', (code, signal) => {
    onExit();
    if (!proc.connected) {
      end(code, signal, null);
      return;
    }
    const t = setTimeout(() => end(code, signal, null), DRAIN_AFTER_EXIT_MS);
    proc.once('disconnect', () => {
      clearTimeout(t);
      end(code, signal, null);
    });
  });
  proc.on('error', (err: Error) => {
    if (proc.pid === undefined) end(null, null, err);
  });
}
