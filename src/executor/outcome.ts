// Builders for RunOutcome, so every runner reports endings the same way.

import type { Clock } from '../core/clock.js';
import type { LogLine, RunError } from '../core/types.js';
import type { RunOutcome } from './executor.js';

/** Stable error codes the executor puts on failed, timed-out and cancelled runs. */
export const EXECUTOR_ERROR_CODES = {
  unsupported_task_kind: 'The task kind cannot run on this executor (yet).',
  invalid_spec: 'The task spec is not usable (the API should have refused it).',
  shutting_down: 'The executor was closing and did not start the run.',
  timeout: 'The run passed its timeout.',
  cancelled: 'The run was cancelled (by a person, deletion, overlap policy or drain).',
  internal: 'A bug in the executor; the run was failed rather than left hanging.',
  module_not_found: 'The module file does not exist under the tasks directory.',
  module_outside_tasks_dir: 'The module file resolves outside the tasks directory.',
  module_load_failed: 'Importing the module failed (syntax error, failing top-level code, missing import).',
  module_export_missing: 'The named export does not exist or is not a function.',
  module_threw: 'The task function threw or rejected.',
  result_not_json: 'The returned value cannot be serialised as JSON.',
  result_too_large: 'The returned value is larger than the result limit.',
  worker_crashed: 'The worker process running the run exited unexpectedly.',
  worker_lost: 'The worker process was killed (another run on it would not stop, or the executor closed).',
  worker_start_failed: 'No worker process could be started.',
  http_status: 'The response status is not the expected one.',
  http_error: 'The request failed on the network (refused, reset, DNS, TLS…); detail.code has the cause.',
  http_too_many_redirects: 'More than 5 redirects.',
  outbound_blocked: 'The target address is private, loopback, link-local, metadata… and not allow-listed.',
  script_syntax: 'The script does not parse (detail has line and column).',
  script_no_default_export: 'The script has no default export, or it is not a function.',
  script_threw: 'The script threw or its promise rejected (including stack overflow).',
  script_memory_limit: "The script used more than its interpreter memory limit.",
  script_never_settled: 'Nothing was left that could settle the promise the script returned (it can never finish).',
  shell_disabled: 'Shell tasks are off on this server (SUNDIAL_SHELL_TASKS).',
  shell_spawn_failed: 'The command could not be started (not found, not executable, bad working directory).',
  shell_exit: 'The command exited with a non-zero status or was killed by a signal (detail: exitCode, signal).',
} as const;

export type ExecutorErrorCode = keyof typeof EXECUTOR_ERROR_CODES;

/** Parts of an outcome a runner decides; the rest has defaults. */
export interface OutcomeParts {
  result?: unknown;
  error?: RunError | null;
  logs?: LogLine[];
  logsTruncated?: boolean;
}

/** An outcome with the given status, no resource metrics, finished now. */
export function makeOutcome(clock: Clock, status: RunOutcome['status'], parts: OutcomeParts = {}): RunOutcome {
  const out: RunOutcome = {
    status,
    error: parts.error ?? null,
    logs: parts.logs ?? [],
    logsTruncated: parts.logsTruncated ?? false,
    cpuMs: null,
    peakRssBytes: null,
    diskWriteBytes: null,
    finishedAt: clock.now(),
  };
  if (parts.result !== undefined) out.result = parts.result;
  return out;
}

/** A failed outcome with one error. */
export function failedOutcome(clock: Clock, code: ExecutorErrorCode | string, message: string, detail?: unknown, parts: OutcomeParts = {}): RunOutcome {
  const error: RunError = detail === undefined ? { code, message } : { code, message, detail };
  return makeOutcome(clock, 'failed', { ...parts, error });
}
