// Schemas every route shares: problems, pages, times, path parameters.

import { Type, type TSchema } from 'typebox';
import { ERROR_CATALOG } from '../../core/errors.js';
import { NAMESPACE_PATTERN } from '../../services/names.js';

/** `schema` or null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** An instant as the API shows it. */
export const IsoTime = Type.String({ format: 'date-time', examples: ['2026-12-01T09:00:00.000Z'] });

/**
 * An instant as the API accepts it. Checked by validateInstant rather than a `format`, so a
 * missing zone is reported as exactly that.
 */
export const IsoTimeInput = Type.String({ maxLength: 64, description: 'ISO-8601 date-time with Z or an offset.', examples: ['2026-12-01T09:00:00Z'] });

/** A namespace name. */
export const Namespace = Type.String({ pattern: NAMESPACE_PATTERN });

/** RFC 9457 problem details, as every error is answered. */
export const Problem = Type.Object(
  {
    type: Type.String({ examples: ['https://sundial.dev/problems/task_not_found'] }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Enum(Object.keys(ERROR_CATALOG)),
    instance: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'application/problem+json (RFC 9457)' },
);

/** Problem responses a route may give, for the OpenAPI document. */
export function problems(...statuses: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(statuses.map((s) => [s, Problem]));
}

/** Responses every authenticated route may give. */
export const AUTH_PROBLEMS = [400, 401, 403, 429] as const;

/** `limit` and `cursor` of every listing. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Items per page (1..500, default 50).' })),
  cursor: Type.Optional(Type.String({ maxLength: 1000, description: '`nextCursor` of the previous page.' })),
};

/** Items per page when the request names none. */
export const DEFAULT_LIMIT = 50;

/** A page of `item`s. */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last.' })) });

/** `{idOrName}`: a UUID is a task id, anything else a task name. */
export const TaskRefParams = Type.Object({ idOrName: Type.String({ minLength: 1, maxLength: 200 }) });

/** `?namespace=` of routes that name a task. */
export const NamespaceQuery = Type.Object({ namespace: Type.Optional(Namespace) }, { additionalProperties: false });

/** `{id}` of runs and keys. */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
