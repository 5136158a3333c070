// One catalog of every error Sundial reports, each with a stable code and an HTTP status.
// The API turns a SundialError into application/problem+json (RFC 9457) with
// `type: https://sundial.dev/problems/<code>`; docs/errors.md documents each code.
// Codes are never reused for a different meaning.

export interface FieldError {
  /** JSON pointer-ish path of the offending field, e.g. `/schedule/timezone`. */
  path: string;
  message: string;
}

export const ERROR_CATALOG = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  unsupported_task_kind: { status: 400, title: 'This task kind is not available' },
  invalid_schedule: { status: 400, title: 'The schedule is not valid' },
  invalid_cursor: { status: 400, title: 'The pagination cursor is not valid' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'Your key may not do this' },
  not_found: { status: 404, title: 'Not found' },
  task_not_found: { status: 404, title: 'No such task' },
  run_not_found: { status: 404, title: 'No such run' },
  api_key_not_found: { status: 404, title: 'No such API key' },
  api_key_not_active: { status: 409, title: 'The API key is revoked, expired or already rotated' },
  key_expired: { status: 401, title: 'The API key has expired' },
  channel_not_found: { status: 404, title: 'No such notification channel' },
  task_name_taken: { status: 409, title: 'A task with this name already exists' },
  channel_name_taken: { status: 409, title: 'A channel with this name already exists' },
  secret_not_found: { status: 404, title: 'No such secret' },
  secret_unknown: { status: 400, title: 'The task references a secret that does not exist' },
  secrets_key_missing: { status: 501, title: 'Secrets are off: this server has no key-encryption key' },
  alert_rule_not_found: { status: 404, title: 'No such alert rule' },
  alert_rule_name_taken: { status: 409, title: 'An alert rule with this name already exists' },
  run_not_reschedulable: { status: 409, title: 'Only scheduled or queued runs can be rescheduled' },
  run_already_finished: { status: 409, title: 'The run has already finished' },
  idempotency_conflict: { status: 409, title: 'The idempotency key was used with a different request' },
  version_mismatch: { status: 412, title: 'The task changed since you read it' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  rate_limited: { status: 429, title: 'Too many requests' },
  quota_exceeded: { status: 403, title: 'The namespace is at its quota' },
  shutting_down: { status: 503, title: 'The server is shutting down' },
  not_ready: { status: 503, title: 'The server is not ready' },
  database_unavailable: { status: 503, title: 'The database cannot be reached' },
  node_id_taken: { status: 409, title: 'Another live node uses this node id' },
  stale_lease: { status: 409, title: 'The run is held by another claim' },
  internal: { status: 500, title: 'Internal error' },
  not_implemented: { status: 501, title: 'Not implemented yet' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** An error that is a value: a stable code, an HTTP status, a message, and field errors. */
export class SundialError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    opts: { errors?: FieldError[]; cause?: unknown; extra?: Record<string, unknown> } = {},
  ) {
    const entry = ERROR_CATALOG[code];
    super(detail ?? entry.title, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SundialError';
    this.code = code;
    this.status = entry.status;
    this.title = entry.title;
    this.errors = opts.errors;
    this.extra = opts.extra;
  }
}

/** Shorthand for a 400 with one or more field errors. */
export function invalid(errors: FieldError[], code: ErrorCode = 'validation_failed'): SundialError {
  const first = errors[0];
  const detail = errors.length === 1 && first ? `${first.path}: ${first.message}` : `${errors.length} fields are not valid`;
  return new SundialError(code, detail, { errors });
}

/** Turns anything thrown into an Error, so catch blocks never handle `unknown`. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  try {
    return new Error(JSON.stringify(err));
  } catch {
    return new Error(String(err));
  }
}
