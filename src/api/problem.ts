// One mapping from anything thrown to an RFC 9457 problem (application/problem+json). Clients
// get a stable `type`/`code` from ERROR_CATALOG, a human `detail` and per-field `errors`;
// unexpected errors become 500 `internal`, logged with their stack, which never leaves the server.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOG, invalid, SundialError, type ErrorCode, type FieldError } from '../core/errors.js';
import { fieldErrorsFrom, type SchemaErrorLike } from '../services/field-errors.js';

/** Seconds a client is asked to wait before retrying a 503. */
const RETRY_AFTER_S = 2;

/** Base of every problem `type`. */
export const PROBLEM_BASE = 'https://sundial.dev/problems/';

/** A problem document. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

/** Where Fastify found invalid input, and the path prefix its field errors get. */
const CONTEXT_PREFIX: Record<string, string> = { body: '', querystring: '/query', params: '/params', headers: '/headers' };

/** Fastify's own client errors, by code. */
const FASTIFY_ERRORS: Record<string, (err: FastifyError) => SundialError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new SundialError('payload_too_large', 'the request body is larger than the server accepts (SUNDIAL_BODY_LIMIT)'),
  FST_ERR_CTP_INVALID_JSON_BODY: (e) => new SundialError('validation_failed', `the body is not valid JSON: ${e.message}`),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new SundialError('validation_failed', 'the body is empty but Content-Type says JSON; send {} or drop the header'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new SundialError('validation_failed', 'send the body as JSON with Content-Type: application/json'),
  // The router's own refusals (see frameworkErrors in build-app.ts): a path segment whose
  // percent-encoding is not UTF-8, and one longer than any id or name (the router's 100
  // characters; schemas allow at most that).
  FST_ERR_BAD_URL: () => invalid([{ path: '/params', message: 'a path segment is not valid percent-encoded UTF-8' }]),
  FST_ERR_MAX_PARAM_LENGTH: () => invalid([{ path: '/params', message: 'a path segment is longer than 100 characters; no id or name is' }]),
};

/** The SundialError an error stands for, or null when it is unexpected (a 500). */
export function toSundialError(err: unknown): SundialError | null {
  if (err instanceof SundialError) return err;
  const fe = err as Partial<FastifyError> & { validation?: SchemaErrorLike[] };
  if (Array.isArray(fe.validation)) {
    const errors = fieldErrorsFrom(fe.validation, CONTEXT_PREFIX[fe.validationContext ?? 'body'] ?? '');
    const first = errors[0];
    const detail = errors.length === 1 && first ? `${first.path || 'the request'}: ${first.message}` : `${errors.length} fields are not valid`;
    return new SundialError('validation_failed', detail, { errors });
  }
  const known = fe.code === undefined ? undefined : FASTIFY_ERRORS[fe.code];
  if (known) return known(fe as FastifyError);
  if (err instanceof SyntaxError && fe.statusCode === 400) return new SundialError('validation_failed', `the body is not valid JSON: ${err.message}`);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 404) return new SundialError('not_found', fe.message);
    if (fe.statusCode === 413) return new SundialError('payload_too_large');
    return new SundialError('validation_failed', fe.message ?? 'the request is not valid');
  }
  return null;
}

/** The problem document for `err`. */
export function problemOf(err: SundialError, instance: string): ProblemBody {
  return {
    ...err.extra,
    type: PROBLEM_BASE + err.code,
    title: ERROR_CATALOG[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
    instance,
    ...(err.errors !== undefined && err.errors.length > 0 && { errors: err.errors }),
  };
}

/** Sends `err` as a problem. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, err: SundialError): FastifyReply {
  if (err.code === 'unauthenticated' || err.code === 'key_expired') {
    reply.header('www-authenticate', request.headers.authorization ? 'Bearer realm="sundial", error="invalid_token"' : 'Bearer realm="sundial"');
  }
  // 503s are passing: the node starts, drains or waits for its database. Clients retry.
  if (err.status === 503) reply.header('retry-after', String(RETRY_AFTER_S));
  // A rate limit says when its window ends (api/rate-limits.ts), a namespace's runsPerMinute
  // when its bucket has room again (services/quota-guard.ts).
  if (err.status === 429 && typeof err.extra?.retryAfter === 'number') reply.header('retry-after', String(err.extra.retryAfter));
  // Pre-serialized so no route's response schema can drop a field of the problem.
  return reply
    .code(err.status)
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(problemOf(err, request.url)));
}

/** Answers a request no route matched, or returns false to let it be a 404 problem. */
export type NotFoundFallback = (request: FastifyRequest, reply: FastifyReply) => boolean;

/**
 * Installs the error and not-found handlers that answer every failure with a problem.
 * `fallback` (read when a request misses) may answer instead: the dashboard's page loads.
 */
/**
 * For Fastify's `frameworkErrors` option: errors the router raises before any route or hook runs
 * (bad percent-encoding, over-long path segments). Without it Fastify answers them itself, as
 * plain JSON without a problem `code`.
 */
export function frameworkErrorProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, toSundialError(error) ?? new SundialError('internal', 'something went wrong on our side; it has been logged'));
}

export function installProblemHandlers(app: FastifyInstance, fallback: { current: NotFoundFallback } = { current: () => false }): void {
  app.setErrorHandler((error, request, reply) => {
    const known = toSundialError(error);
    if (known) return sendProblem(request, reply, known);
    request.log.error({ err: error, url: request.url, method: request.method }, 'unexpected error');
    return sendProblem(request, reply, new SundialError('internal', 'something went wrong on our side; it has been logged'));
  });
  app.setNotFoundHandler((request, reply) => {
    if (fallback.current(request, reply)) return reply;
    return sendProblem(request, reply, new SundialError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
