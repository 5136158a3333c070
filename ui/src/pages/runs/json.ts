// JSON as the dashboard shows it.

/** Indented JSON for a block. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

/** One-line JSON for a table cell. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value) ?? '';
}
