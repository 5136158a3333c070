// Plain aligned text for people: columns padded with two spaces, no trailing blanks, no colour,
// so output reads the same in a terminal, a log file and a test assertion.

/** One column of a table: its header (written as shown, upper case by convention) and its cell text. */
export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Right-align (numbers, durations). */
  align?: 'left' | 'right';
  /** Longest cell kept; longer text is cut with `…`. */
  max?: number;
}

/** Renders rows under their headers, each column as wide as its widest cell. */
export function formatTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((c) => clip(cleanCell(c.value(row)), c.max)));
  const headers = columns.map((c) => c.header);
  const widths = headers.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i] ?? ''))));
  const line = (values: string[]): string =>
    values
      .map((v, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - width(v));
        return columns[i]?.align === 'right' ? pad + v : v + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** Renders `key  value` lines with the keys padded to one width. */
export function formatKeyValues(pairs: readonly (readonly [string, string])[]): string {
  const keyWidth = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs
    .map(([k, v]) => `${k}${' '.repeat(keyWidth - width(k))}  ${cleanCell(v)}`.trimEnd())
    .join('\n');
}

/**
 * Makes server-supplied text safe for one table cell: line breaks become spaces and other control
 * characters are shown as `?`, because a task name holding an escape sequence must not be able
 * to rewrite the operator's terminal.
 */
export function cleanCell(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\r\n|[\r\n\t]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Like cleanCell but keeps line breaks and tabs (log messages span lines). */
export function cleanText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
}

function clip(text: string, max: number | undefined): string {
  if (max === undefined || width(text) <= max) return text;
  return [...text].slice(0, Math.max(0, max - 1)).join('') + '…';
}

// Code points, not UTF-16 units, so a name with an emoji does not shift the columns after it.
function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
