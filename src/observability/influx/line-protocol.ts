// InfluxDB line protocol: one point per line, `measurement,tag=v field=v <ns timestamp>`.
// Escaping follows the protocol as InfluxDB 1.x, 2.x and 3.x parse it:
// - measurement: commas and spaces;
// - tag keys, tag values, field keys: commas, equals signs and spaces;
// - string field values: double quotes and backslashes, inside double quotes.
// A newline would end the point. Inside a quoted string field it is allowed and kept as it is
// (a log message with newlines stays one point, and reads back with its newlines); in names and
// tags, where no parser accepts one, it is written as the two characters `\n` (and `\r` alike).
// A backslash in a name or tag is left alone unless it ends the text or stands before a character
// escaped here, where it would swallow the separator: then it is doubled.

/** A field value: a float (a JS number), an integer (`int(n)`), a string or a boolean. */
export type FieldValue = number | string | boolean | IntValue;

/** An integer field (`42i` on the wire): kept apart from floats, since a field never changes type. */
export interface IntValue {
  readonly int: number;
}

/** Marks `n` as an integer field. */
export function int(n: number): IntValue {
  return { int: n };
}

/** One point, ready to format. `time` is the timestamp in nanoseconds, as decimal digits. */
export interface Point {
  measurement: string;
  /** Tag keys in the order written (sorted is what InfluxDB prefers). */
  tags: Record<string, string>;
  fields: Record<string, FieldValue | undefined>;
  time: string;
}

const NAME_SPECIAL = /[\\, =\n\r]/;
const MEASUREMENT_SPECIAL = /[\\, \n\r]/;

/** Escapes a tag key, tag value or field key. */
export function escapeKey(s: string): string {
  return NAME_SPECIAL.test(s) ? escapeWith(s, /[,= ]/g, /\\(?=[,= \n\r]|$)/g) : s;
}

/** Escapes a measurement name (equals signs need no escape there). */
export function escapeMeasurement(s: string): string {
  return MEASUREMENT_SPECIAL.test(s) ? escapeWith(s, /[, ]/g, /\\(?=[, \n\r]|$)/g) : s;
}

function escapeWith(s: string, special: RegExp, danglingBackslash: RegExp): string {
  return s
    .replace(danglingBackslash, '\\\\')
    .replace(special, '\\$&')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

const STRING_SPECIAL = /["\\]/;

/** A string field value, quoted: backslashes and double quotes escaped, newlines kept. */
export function quoteString(s: string): string {
  return STRING_SPECIAL.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

/** The field value as written; null for values line protocol cannot carry (NaN, ±Infinity). */
export function formatFieldValue(v: FieldValue): string | null {
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isFinite(v) ? String(v) : null;
    default:
      return Number.isFinite(v.int) ? `${Math.trunc(v.int)}i` : null;
  }
}

/**
 * The point as one line (without the newline), or null when it has no field to write (a point
 * needs at least one). Fields whose value is undefined or not finite are left out.
 */
export function formatPoint(p: Point): string | null {
  let line = escapeMeasurement(p.measurement);
  for (const k in p.tags) {
    const v = p.tags[k];
    // An empty tag value is not allowed: the tag is left out.
    if (v === undefined || v === '') continue;
    line += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  let sep = ' ';
  let any = false;
  for (const k in p.fields) {
    const v = p.fields[k];
    if (v === undefined) continue;
    const text = formatFieldValue(v);
    if (text === null) continue;
    line += `${sep}${escapeKey(k)}=${text}`;
    sep = ',';
    any = true;
  }
  return any ? `${line} ${p.time}` : null;
}

/** Largest string field InfluxDB keeps (64 KiB); longer values are cut below it. */
export const MAX_STRING_FIELD_BYTES = 64 * 1024 - 1;
const TRUNCATED = '…[truncated]';

/** `s` cut to at most `maxBytes` of UTF-8 (never inside a character), with a marker when cut. */
export function truncateUtf8(s: string, maxBytes: number = MAX_STRING_FIELD_BYTES): string {
  // Each UTF-16 unit is at most 3 bytes of UTF-8: most strings need no measuring at all.
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const room = maxBytes - Buffer.byteLength(TRUNCATED, 'utf8');
  let cut = Buffer.from(s, 'utf8').subarray(0, Math.max(0, room)).toString('utf8');
  // A character cut in half decodes as U+FFFD: drop it.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + TRUNCATED;
}
