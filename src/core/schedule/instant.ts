// Instants as schedules and the API write them: ISO-8601 date-times that carry `Z` or a UTC
// offset. A wall-clock time without a zone names a different instant in every zone, so it is
// refused by name rather than guessed.
import { invalid, type ErrorCode } from '../errors.js';
import type { Millis } from '../types.js';

const INSTANT_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const DATE_ONLY_RE = /^\d{4}-\d{2}-\d{2}$/;
const ZONE_HINT = 'add Z or a UTC offset, e.g. 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00';

/** Why `input` is not an ISO-8601 instant with a zone, or the instant itself. */
export function readInstant(input: unknown): Millis | string {
  if (typeof input !== 'string') return 'must be an ISO-8601 date-time string';
  const text = input.trim();
  if (DATE_ONLY_RE.test(text)) return `a date without a time and a zone is ambiguous; ${ZONE_HINT}`;
  const m = INSTANT_RE.exec(text);
  if (!m) return `is not an ISO-8601 date-time; ${ZONE_HINT}`;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  if (z === undefined && sign === undefined) {
    // A wall-clock time names a different instant in every zone; guessing one is how jobs end up
    // an hour off.
    return `has no time zone, so the instant is ambiguous; ${ZONE_HINT}`;
  }
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? 0);
  if (year < 1970) return 'must be in 1970 or later';
  if (month < 1 || month > 12) return 'has a month outside 01..12';
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return `has no day ${d} in ${y}-${mo}`;
  if (hour > 23 || minute > 59 || second > 59) return 'has a time of day out of range';
  let offsetMin = 0;
  if (sign !== undefined) {
    const offH = Number(oh);
    const offM = Number(om ?? 0);
    if (offH > 23 || offM > 59) return 'has a UTC offset out of range';
    offsetMin = (sign === '-' ? -1 : 1) * (offH * 60 + offM);
  }
  const ms = Number((frac ?? '').padEnd(3, '0').slice(0, 3));
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

/** Epoch ms of an ISO-8601 date-time that carries `Z` or an offset; null for anything else. */
export function parseInstant(text: string): Millis | null {
  const r = readInstant(text);
  return typeof r === 'number' ? r : null;
}

/**
 * Reads an ISO-8601 instant from API input (e.g. `{ at }` of scheduleTask or reschedule);
 * throws a 400 whose field error explains what is wrong (a missing zone is named as such).
 */
export function validateInstant(input: unknown, path: string, code: ErrorCode = 'validation_failed'): Millis {
  const r = readInstant(input);
  if (typeof r === 'string') throw invalid([{ path, message: r }], code);
  return r;
}

/** An instant as ISO-8601 in UTC, the form schedules are stored in. */
export function iso(ms: Millis): string {
  return new Date(ms).toISOString();
}
