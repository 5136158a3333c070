// Small parsing helpers the route files share (headers and query strings the schemas cannot
// fully express).

import { invalid, SundialError } from '../../core/errors.js';
import { validateInstant } from '../../core/schedule/instant.js';
import { RUN_STATUSES, type Millis, type RunStatus, type Task } from '../../core/types.js';
import type { Services } from '../../services/index.js';
import { ErrorCollector } from '../../services/validation.js';
import { DEFAULT_LIMIT } from '../schemas/common.js';

/** What every route plugin receives. */
export interface RouteDeps {
  services: Services;
}

/** The ETag of a task: its version, quoted. */
export function etagOf(task: Task): string {
  return `"${task.version}"`;
}

/** The version an If-Match header asks for (undefined: absent or `*`). */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  if (value === '*') return undefined;
  const m = /^"(\d{1,15})"$/.exec(value) ?? /^(\d{1,15})$/.exec(value);
  if (!m) throw invalid([{ path: '/headers/if-match', message: 'must be the ETag of a task, e.g. "3"' }]);
  return Number(m[1]);
}

/** Page size of a listing request (TypeBox validators do not fill in schema defaults). */
export function limitOf(query: { limit?: number | undefined }): number {
  return query.limit ?? DEFAULT_LIMIT;
}

/** Optional `from`/`to` query instants, all errors at once. */
export function parseRange(query: { from?: string | undefined; to?: string | undefined }, check = new ErrorCollector()): { from?: Millis; to?: Millis } {
  const from = query.from === undefined ? undefined : check.run(() => validateInstant(query.from, '/query/from'));
  const to = query.to === undefined ? undefined : check.run(() => validateInstant(query.to, '/query/to'));
  check.throwIfAny();
  if (from !== undefined && to !== undefined && to <= from) throw invalid([{ path: '/query/to', message: 'must be after from' }]);
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}

/** A comma-separated status list. */
export function parseStatuses(text: string | undefined): RunStatus[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const parts = text.split(',').map((s) => s.trim());
  const bad = parts.filter((s) => !(RUN_STATUSES as readonly string[]).includes(s));
  if (bad.length > 0) {
    throw invalid([{ path: '/query/status', message: `unknown status ${bad.map((b) => `"${b}"`).join(', ')}; use ${RUN_STATUSES.join(', ')}` }]);
  }
  return [...new Set(parts)] as RunStatus[];
}

/** A 501 for parts of the API that are announced but not built yet. */
export function notYet(what: string): SundialError {
  return new SundialError('not_implemented', `${what} is not available yet`);
}
