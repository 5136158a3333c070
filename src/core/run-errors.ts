// The run error codes: what a failed, timed-out or cancelled run's `error.code` can be, each with a
// one-line meaning. This is the only list: the executor's runners, the dispatcher and the stores
// produce codes from it (`RunError.code` is typed by it), docs/errors.md documents every one
// (a test keeps the two in step), and docs/api.md shows the same table to API clients.
// A code is never reused for another meaning; a code no longer produced stays, because stored
// runs keep it.

import type { RunError } from './types.js';

export const RUN_ERROR_CODES = {
  // The executor, for every task kind.
  unsupported_task_kind: 'The task kind cannot run on this executor (yet).',
  invalid_spec: 'The task spec is not usable (the API should have refused it).',
  shutting_down: 'The executor was closing and did not start the run.',
  timeout: 'The run passed its timeout.',
  cancelled: 'The run was cancelled while it ran (through the API, its task deleted, or the overlap policy).',
  internal: 'A bug in the executor or the scheduler; the run was failed rather than left hanging.',
  // Module tasks.
  module_not_found: 'The module file does not exist under the tasks directory.',
  module_outside_tasks_dir: 'The module file resolves outside the tasks directory.',
  module_load_failed: 'Importing the module failed (syntax error, failing top-level code, missing import).',
  module_export_missing: 'The named export does not exist or is not a function.',
  module_threw: 'The task function threw or rejected.',
  // Module and script tasks.
  result_not_json: 'The returned value cannot be serialised as JSON.',
  result_too_large: 'The returned value is larger than the result limit.',
  result_too_deep: 'The returned value nests arrays and objects more than 64 levels deep.',
  worker_crashed: 'The worker process running the run exited unexpectedly.',
  worker_lost: 'The worker process was killed (another run on it would not stop, or the executor closed).',
  worker_start_failed: 'No worker process could be started.',
  // HTTP tasks (outbound_blocked also for fetch in scripts).
  http_status: 'The response status is not the expected one.',
  http_error: 'The request failed on the network (refused, reset, DNS, TLS…); detail.code has the cause.',
  http_too_many_redirects: 'More than 5 redirects.',
  outbound_blocked: 'The target address is private, loopback, link-local, metadata… and not allow-listed.',
  // Script tasks.
  script_syntax: 'The script does not parse (detail has line and column).',
  script_no_default_export: 'The script has no default export, or it is not a function.',
  script_threw: 'The script threw or its promise rejected (including stack overflow).',
  script_memory_limit: 'The script used more than its interpreter memory limit.',
  script_never_settled: 'Nothing was left that could settle the promise the script returned (it can never finish).',
  // Shell tasks.
  shell_disabled: 'Shell tasks are off on this server (SUNDIAL_SHELL_TASKS).',
  shell_spawn_failed: 'The command could not be started (not found, not executable, bad working directory).',
  shell_exit: 'The command exited with a non-zero status or was killed by a signal (detail: exitCode, signal).',
  // Secrets (every kind that references them).
  secret_missing: 'A secret the spec references does not exist (any more) in the task\'s namespace; detail.names lists them.',
  secret_unreadable: 'A secret the spec references cannot be decrypted: sealed under a key this node does not hold, or altered.',
  // The scheduler and the stores.
  lost: 'The node running it died mid-run (found at restart or when its lease expired).',
  plan_failed: 'Planning the schedule occurrence failed (a bug in the planner); that occurrence failed, the claim went on.',
} as const satisfies Record<string, string>;

export type RunErrorCode = keyof typeof RUN_ERROR_CODES;

/** Whether `code` is in the catalog (for codes that crossed a process boundary as plain strings). */
export function isRunErrorCode(code: string): code is RunErrorCode {
  return Object.hasOwn(RUN_ERROR_CODES, code);
}

/** A run error with a catalog code. */
export function runError(code: RunErrorCode, message: string, detail?: unknown): RunError {
  return detail === undefined ? { code, message } : { code, message, detail };
}
