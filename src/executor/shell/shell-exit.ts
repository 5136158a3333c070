// What a run's exit status means. The status passes through the sandbox's own processes, which
// turn a death by signal into a code and print their own failures, so it is read back here into
// the signal, the limit that was hit, or the reason the program never started.

import { constants as osConstants } from 'node:os';
import { ENV_SCRIPT_NAME, type ResourceLimits } from './shell-sandbox.js';

/** What the sandbox's last step prints when it cannot exec the command (exit status 126 or 127). */
export const EXEC_FAILURE_RE = new RegExp(`^${ENV_SCRIPT_NAME}: \\d+: exec: (.*): ([^:]*)$`);

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

/**
 * Exit code and signal. bubblewrap and shells report a child's death by signal n as exit code
 * 128 + n, so codes 129–192 are read as signals (the code is kept beside the name).
 */
export function exitDetail(code: number | null, signal: NodeJS.Signals | null): { exitCode: number | null; signal: string | null } {
  if (signal !== null) return { exitCode: null, signal };
  if (code !== null && code > 128 && code <= 128 + 64) return { exitCode: code, signal: SIGNAL_NAMES.get(code - 128) ?? null };
  return { exitCode: code, signal: null };
}

export function exitMessage(d: { exitCode: number | null; signal: string | null }, limits: ResourceLimits): string {
  if (d.signal === 'SIGXCPU') return `the command was killed by SIGXCPU: it reached its CPU time limit (${limits.cpuSeconds} s of CPU per process)`;
  if (d.signal === 'SIGXFSZ') return `the command was killed by SIGXFSZ: it reached its file size limit (${limits.fileSizeBytes} bytes per file)`;
  if (d.signal !== null) return `the command was killed by ${d.signal}`;
  return `the command exited with status ${d.exitCode}`;
}
