// STUB: owned by the core-domain helper; signatures are fixed, bodies to be written.
import type { Millis, Schedule } from './types.js';

/**
 * Validates a schedule from the API and returns it normalized (`type` checked, durations and
 * dates parsed and re-checked, timezone an IANA name, cron expression able to fire).
 * Throws SundialError `invalid_schedule` with field errors whose paths start with `path`.
 */
export function validateSchedule(input: unknown, path = '/schedule'): Schedule {
  throw new Error(`not implemented: validateSchedule(${String(input)}, ${path})`);
}

/**
 * The first occurrence strictly after `after`, honouring startAt/endAt (not maxRuns or
 * jitter, which the planner applies). Null when the schedule has no further occurrence.
 */
export function nextOccurrence(schedule: Schedule, after: Millis): Millis | null {
  throw new Error(`not implemented: nextOccurrence(${String(schedule)}, ${after})`);
}

/** Up to `count` occurrences at or after `from` (for previews). */
export function previewSchedule(schedule: Schedule, from: Millis, count: number): Millis[] {
  throw new Error(`not implemented: previewSchedule(${String(schedule)}, ${from}, ${count})`);
}

/** The schedule in words, e.g. "every 5 minutes", "at 09:00 on Monday (Europe/Berlin)". */
export function describeSchedule(schedule: Schedule): string {
  throw new Error(`not implemented: describeSchedule(${String(schedule)})`);
}
