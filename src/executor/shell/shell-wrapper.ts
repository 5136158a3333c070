// Every run is started through a small host-side wrapper:
//   setpriv --pdeathsig KILL -- sh -c '"$@" 3>&-; …report… >&3; exit $s' sundial-shell <sandbox argv>
// The parent-death signal ties the run to this server: if the server dies, the wrapper dies, and
// bubblewrap's --die-with-parent takes the sandbox down. The wrapper waits for the sandbox, so
// once it returns, its own cutime/cstime and I/O counters hold the whole run's (see the chain in
// shell-sandbox.ts: every process of the run is reaped by a waiting parent); it writes them to
// fd 3 before exiting. So even a 5 ms command reports exact CPU and disk writes; the sampler adds
// live figures, the peak RSS, and a best effort where no such wrapper exists (sandbox 'none',
// whose escaped orphans are reaped by init).

import { parseIo, parseStatLine } from '../proc-usage.js';
import type { SandboxTools } from './shell-sandbox.js';

/** The host wrapper (see the header); `3>&-` keeps the report channel away from the command (fd 4, the environment, goes on). */
const REPORT_SCRIPT = '"$@" 3>&-; s=$?; { read -r l </proc/$$/stat; echo "$l"; while read -r l; do echo "$l"; done </proc/$$/io; } >&3 2>/dev/null; exit $s';

/** Niceness of shell runs: below the scheduler and the API, so a busy command cannot starve them. */
export const SHELL_NICE = 10;

/** The host's argv for a run: the wrapper around the sandbox's argv (nice execs, so the pid stays the wrapper's). */
export function wrapForHost(tools: SandboxTools, argv: string[]): string[] {
  const { setpriv, sh, nice } = tools;
  return [
    ...(nice ? [nice, '-n', String(SHELL_NICE)] : []),
    ...(setpriv === null ? [] : [setpriv, '--pdeathsig', 'KILL', '--']),
    sh!,
    '-c',
    REPORT_SCRIPT,
    'sundial-shell',
    ...argv,
  ];
}

/** The wrapper's report: its /proc stat line, then its /proc io lines. */
export function parseReport(text: string): { cpuMs: number; writeBytes: number } | null {
  const nl = text.indexOf('\n');
  if (nl < 0) return null;
  const stat = parseStatLine(text.slice(0, nl));
  if (stat === null) return null;
  return { cpuMs: stat.selfCpuMs + stat.childCpuMs, writeBytes: parseIo(text.slice(nl + 1)).writeBytes };
}
