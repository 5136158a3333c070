// Opaque pagination cursors: base64url of a small JSON array tagged with the list it belongs to,
// so a cursor from one list (or one order of a list) is refused by another instead of silently
// paging wrong.
import { SundialError } from '../core/errors.js';

/** A sort key value of a task listing: a name, a time, or null (a task without that time). */
export type TaskSortValue = string | number | null;

/**
 * Which list a cursor pages through, and the key of the last item it returned:
 * - `t`: tasks in id order (the default sort), by id;
 * - `ts`: tasks in another sort order: the sort's name, the last item's sort value and its id;
 * - `r` / `ra`: runs newest / oldest due first, by due time and id;
 * - `a`: audit rows, newest first, by time and id;
 * - `ch` / `ar`: notification channels / alert rules, by namespace and name;
 * - `nt` / `al`: a channel's deliveries / alerts, newest first, by id (UUIDv7: time order);
 * - `sc`: secrets, by namespace and name.
 */
export type CursorKey =
  | ['t', string]
  | ['ts', string, TaskSortValue, string]
  | ['r', number, string]
  | ['ra', number, string]
  | ['a', number, string]
  | ['ch', string, string]
  | ['ar', string, string]
  | ['sc', string, string]
  | ['nt', string]
  | ['al', string];

/** Encodes the position after the last item of a page. */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor of the given list kind; anything else is `invalid_cursor`. */
export function decodeCursor<K extends CursorKey[0]>(cursor: string, kind: K): Extract<CursorKey, [K, ...unknown[]]> {
  const value = parseCursor(cursor);
  if (value[0] !== kind) throw new SundialError('invalid_cursor', mismatch(value[0]));
  return value as Extract<CursorKey, [K, ...unknown[]]>;
}

/**
 * Decodes a task-list cursor made for `sort` (`createdAt`, `-name`…): the last item's sort value
 * (null for the id-ordered sorts, whose key is the id) and id. A cursor of another sort is
 * `invalid_cursor`: its key means nothing in this order.
 */
export function decodeTaskCursor(cursor: string, sort: string): { value: TaskSortValue; id: string } {
  const key = parseCursor(cursor);
  if (key[0] !== 't' && key[0] !== 'ts') throw new SundialError('invalid_cursor', mismatch(key[0]));
  const [madeFor, value, id] = key[0] === 't' ? ['createdAt', null, key[1]] : [key[1], key[2], key[3]];
  if (madeFor !== sort) {
    throw new SundialError('invalid_cursor', `The pagination cursor was made for sort=${madeFor}, not sort=${sort}; start again without cursor`);
  }
  return { value, id };
}

/** The key a cursor holds, checked for shape; anything else is `invalid_cursor`. */
function parseCursor(cursor: string): CursorKey {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new SundialError('invalid_cursor', 'The pagination cursor is not valid');
  }
  if (!Array.isArray(value) || !validShape(value)) {
    throw new SundialError('invalid_cursor', 'The pagination cursor does not belong to this list');
  }
  return value as CursorKey;
}

/** Why a well-formed cursor of another list (or order) is refused. */
function mismatch(kind: CursorKey[0]): string {
  return kind === 'r' || kind === 'ra'
    ? 'The pagination cursor does not belong to this list (or was made for the other order)'
    : 'The pagination cursor does not belong to this list';
}

function validShape(v: unknown[]): boolean {
  switch (v[0]) {
    case 't':
      return v.length === 2 && typeof v[1] === 'string';
    case 'ts':
      return v.length === 4 && typeof v[1] === 'string' && (v[2] === null || typeof v[2] === 'string' || Number.isSafeInteger(v[2])) && typeof v[3] === 'string';
    case 'r':
    case 'ra':
    case 'a':
      return v.length === 3 && Number.isSafeInteger(v[1]) && typeof v[2] === 'string';
    case 'ch':
    case 'ar':
    case 'sc':
      return v.length === 3 && typeof v[1] === 'string' && typeof v[2] === 'string';
    case 'nt':
    case 'al':
      return v.length === 2 && typeof v[1] === 'string';
    default:
      return false;
  }
}
