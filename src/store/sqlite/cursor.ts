// Opaque pagination cursors: base64url of a small JSON array tagged with the list it belongs to,
// so a cursor from one list is refused by another instead of silently paging wrong.
import { SundialError } from '../../core/errors.js';

/** Which list a cursor pages through, and the key of the last item it returned. */
export type CursorKey = ['t', string] | ['r', number, string] | ['a', number, string];

/** Encodes the position after the last item of a page. */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor of the given list kind; anything else is `invalid_cursor`. */
export function decodeCursor<K extends CursorKey[0]>(cursor: string, kind: K): Extract<CursorKey, [K, ...unknown[]]> {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new SundialError('invalid_cursor', 'The pagination cursor is not valid');
  }
  if (!Array.isArray(value) || value[0] !== kind || !validShape(value)) {
    throw new SundialError('invalid_cursor', 'The pagination cursor does not belong to this list');
  }
  return value as Extract<CursorKey, [K, ...unknown[]]>;
}

function validShape(v: unknown[]): boolean {
  if (v[0] === 't') return v.length === 2 && typeof v[1] === 'string';
  return v.length === 3 && Number.isSafeInteger(v[1]) && typeof v[2] === 'string';
}
