// API errors as values: every failed call becomes an ApiError carrying the server's problem
// document (RFC 9457), so forms can put each field's message next to its control.

/** One field's message from a 400 problem (`path` is a JSON pointer such as `/schedule/expression`). */
export interface FieldProblem {
  path: string;
  message: string;
}

/** The problem+json body every API error has. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: FieldProblem[];
  [extra: string]: unknown;
}

/** A failed API call. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
    this.status = problem.status;
    this.problem = problem;
  }

  /** Messages of fields at or under `path` (e.g. `/schedule` also gets `/schedule/timezone`). */
  fieldMessages(path: string): string[] {
    return (this.problem.errors ?? []).filter((e) => e.path === path || e.path.startsWith(`${path}/`)).map((e) => e.message);
  }
}

/** Builds an ApiError from whatever a failed response carried (a problem, or not). */
export function toApiError(status: number, body: unknown): ApiError {
  if (body !== null && typeof body === 'object' && 'code' in body && 'status' in body) return new ApiError(body as Problem);
  const detail = typeof body === 'string' && body !== '' ? body : `The server answered ${status}`;
  return new ApiError({ type: 'about:blank', title: 'Request failed', status, detail, code: status === 0 ? 'network' : 'http_error' });
}

/** A message for any error a call may throw. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.problem.detail || err.problem.title;
  if (err instanceof Error) return err.message;
  return String(err);
}
