// Pieces of the PostgreSQL store's filtered reads (queries.ts): numbered parameters, WHERE
// clauses, namespace scopes, paging, and the collation that folds case like JavaScript.
// Values always travel as parameters ($1…); only constants of this code are written into SQL.
import { SundialError } from '../../core/errors.js';
import type { Page, NamespaceScope } from '../store.js';
import type { Sql } from './sql.js';

/** The values of a statement, each added where its placeholder is written. */
export class Params {
  readonly values: unknown[] = [];

  /** Adds `value` and returns its placeholder (`$1`, `$2`…). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A WHERE clause of the conditions (none: empty). */
export function whereSql(where: readonly string[]): string {
  return where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
}

/** An explicit empty list of namespaces sees nothing (`'*'` sees all). */
export function isEmptyScope(scope: NamespaceScope): boolean {
  return scope !== '*' && scope.length === 0;
}

/**
 * Whether a text value can match nothing stored: PostgreSQL text cannot hold U+0000, so a filter
 * value with one (which PostgreSQL would refuse as a parameter) matches no row, as in SQLite.
 */
export function unmatchable(value: string | undefined): boolean {
  return value !== undefined && value.includes('\0');
}

/**
 * The namespaces a read can find: `'*'`, or the listed ones that can exist; null when none can
 * (an explicit empty list sees nothing), and the read returns nothing.
 */
export function readableScope(scope: NamespaceScope): NamespaceScope | null {
  if (scope === '*') return scope;
  const names = scope.filter((ns) => !unmatchable(ns));
  return names.length === 0 ? null : names;
}

/** Adds the namespace condition of a readableScope (nothing for `'*'`). */
export function scopeFilter(scope: NamespaceScope, where: string[], params: Params): void {
  if (scope === '*') return;
  if (scope.length === 1) where.push(`namespace = ${params.add(scope[0])}`);
  else where.push(`namespace = ANY(${params.add([...scope])}::text[])`);
}

/** Refuses a cursor key holding U+0000: no list makes one (no stored text holds it). */
export function checkCursorText(...values: unknown[]): void {
  if (values.some((v) => typeof v === 'string' && unmatchable(v))) {
    throw new SundialError('invalid_cursor', 'The pagination cursor is not valid');
  }
}

/** The API validates limits; this only keeps a bad one from breaking the paging arithmetic. */
export function pageSize(limit: number): number {
  return Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;
}

/** Trims the one extra row fetched to learn whether another page exists. */
export function page<T>(items: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  if (items.length <= limit) return { items, nextCursor: null };
  items.length = limit;
  return { items, nextCursor: cursorOf(items[limit - 1]!) };
}

/** A count from SQL: bigint and numeric aggregates may arrive as strings, depending on the pool's parsers. */
export function toCount(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/**
 * Collations whose lower() applies Unicode's full case mapping (context-dependent final sigma,
 * 'İ' → 'i̇'), as JavaScript's toLowerCase() does: ICU's root locale (V8 itself lowers non-ASCII
 * text with ICU), and PostgreSQL 18's builtin one. Any of them makes the search agree with the
 * SQLite store's exactly.
 */
const FULL_FOLD = ['und-x-icu', 'unicode', 'pg_unicode_fast'] as const;
/** Collations whose lower() maps every Unicode letter one to one (differs from JS in rare cases only). */
const SIMPLE_FOLD = ['pg_c_utf8', 'C.utf8', 'C.UTF-8', 'en_US.utf8', 'en_US.UTF-8'] as const;

/** How a statement lower-cases text: a COLLATE clause, or '' for the database's own ctype. */
const foldings = new WeakMap<object, Promise<string>>();

/**
 * The COLLATE clause under which `lower()` folds case like JavaScript, found once per pool:
 * lower() follows the collation's ctype, and a database whose ctype is C folds ASCII only.
 * Preference: a full Unicode mapping (FULL_FOLD); else the database's ctype unless it is C or
 * POSIX; else a simple Unicode mapping (SIMPLE_FOLD); else the database's ctype (ASCII only).
 */
export function foldCollation(sql: Sql): Promise<string> {
  let hit = foldings.get(sql);
  if (hit === undefined) {
    hit = probeFolding(sql);
    foldings.set(sql, hit);
    hit.catch(() => foldings.delete(sql));
  }
  return hit;
}

async function probeFolding(sql: Sql): Promise<string> {
  const pick = (list: string) =>
    `(SELECT c.collname::text FROM pg_catalog.pg_collation c WHERE c.collname::text = ANY(${list}::text[]) ` +
    'AND c.collencoding IN (-1, pg_catalog.pg_char_to_encoding(pg_catalog.getdatabaseencoding())) ' +
    `ORDER BY pg_catalog.array_position(${list}::text[], c.collname::text) LIMIT 1)`;
  const { rows } = await sql.query<{ full: string | null; simple: string | null; ctype: string; utf8: boolean }>(
    `SELECT ${pick('$1')} AS full, ${pick('$2')} AS simple, current_setting('lc_ctype') AS ctype, ` +
      "pg_catalog.getdatabaseencoding() = 'UTF8' AS utf8",
    [FULL_FOLD, SIMPLE_FOLD],
  );
  const r = rows[0];
  if (r === undefined || !r.utf8) return '';
  // Map back to this module's own constants: nothing read from the database is written into SQL.
  const full = FULL_FOLD.find((c) => c === r.full);
  if (full !== undefined) return ` COLLATE "${full}"`;
  if (r.ctype !== 'C' && r.ctype !== 'POSIX') return '';
  const simple = SIMPLE_FOLD.find((c) => c === r.simple);
  return simple === undefined ? '' : ` COLLATE "${simple}"`;
}
