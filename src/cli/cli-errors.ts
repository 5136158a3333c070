// Errors the CLI turns into exit codes. Scripts rely on the codes, so they are fixed here and in
// docs/cli.md: 0 done, 1 the server refused or could not be reached, 2 the command line was wrong,
// 3 a waited-for run ended without succeeding, 4 `audit verify` found the audit chain broken.

/** Exit codes of the `sundial` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2, runNotSucceeded: 3, auditBroken: 4 } as const;

/** A mistake in the command line found after commander parsed it (same exit code as commander's). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A run the CLI waited for ended in a status other than `succeeded`. */
export class RunNotSucceededError extends Error {
  override readonly name = 'RunNotSucceededError';
}

/** `sundial audit verify` found the chain broken (the message names the row and why). */
export class AuditBrokenError extends Error {
  override readonly name = 'AuditBrokenError';
}
