// STUB: owned by the core-domain helper; signatures are fixed, bodies to be written.

/**
 * Parses a duration: ISO-8601 (`PT5M`, `P1DT2H`, `PT0.5S`) or shorthand (`250ms`, `30s`, `5m`,
 * `1h30m`, `2d`). Returns milliseconds, or null when the text is not a duration.
 */
export function parseDuration(input: string): number | null {
  throw new Error(`not implemented: parseDuration(${input})`);
}

/** Formats milliseconds as shorthand (`1h30m`, `250ms`, `0s`). */
export function formatDuration(ms: number): string {
  throw new Error(`not implemented: formatDuration(${ms})`);
}
