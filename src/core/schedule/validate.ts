// Schedules at the API's edge: a schedule from a request checked field by field and returned
// normalized, and an interval's phase fixed when it is set.
import { formatDuration, parseDuration } from '../duration.js';
import { invalid, type FieldError } from '../errors.js';
import type { Millis, Schedule } from '../types.js';
import { cronProblem, DEFAULT_TIMEZONE } from './cron.js';
import { iso, readInstant } from './instant.js';
import { nextOccurrence } from './occurrences.js';

/** Shortest `every` an interval schedule may have. */
export const MIN_INTERVAL_MS = 1000;
/** Largest `jitter` a schedule may ask for. */
export const MAX_JITTER_MS = 86_400_000;

const FIELDS: Record<Schedule['type'], readonly string[]> = {
  once: ['type', 'at', 'maxRuns', 'jitter'],
  interval: ['type', 'every', 'startAt', 'endAt', 'maxRuns', 'jitter'],
  cron: ['type', 'expression', 'timezone', 'startAt', 'endAt', 'maxRuns', 'jitter'],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- time zones -----------------------------------------------------------------------------

const IANA_AREAS = new Set([
  'Africa', 'America', 'Antarctica', 'Arctic', 'Asia', 'Atlantic', 'Australia', 'Europe', 'Indian', 'Pacific', 'Etc',
]);
let zoneList: ReadonlySet<string> | null = null;
function knownZones(): ReadonlySet<string> {
  zoneList ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);
  return zoneList;
}
function intlAccepts(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why `zone` is not an IANA time zone name, or null when it is one. */
function timezoneProblem(zone: string): string | null {
  if (knownZones().has(zone)) return null;
  // Node's list holds ICU's canonical names (Asia/Calcutta, Europe/Kiev); the current IANA names
  // (Asia/Kolkata, Europe/Kyiv) are links ICU resolves, so Area/Location names Intl knows pass too.
  const area = zone.split('/')[0] ?? '';
  if (zone.includes('/') && IANA_AREAS.has(area) && intlAccepts(zone)) return null;
  const lower = zone.toLowerCase();
  const near = [...knownZones()].find((z) => z.toLowerCase() === lower);
  if (near !== undefined) return `unknown time zone '${zone}'; did you mean '${near}'?`;
  if (/^[A-Z]{2,5}$/.test(zone) || /^[A-Z]{3,4}\d/.test(zone)) {
    // EST, CEST, PST8PDT: abbreviations say nothing about when DST starts and ends there.
    return `'${zone}' is an abbreviation, not an IANA time zone name; use a name like Europe/Berlin or America/New_York`;
  }
  return `unknown time zone '${zone}'; use an IANA name like Europe/Berlin, America/New_York or UTC`;
}

// ---- schedules ------------------------------------------------------------------------------

/**
 * Validates a schedule from the API and returns it normalized (`type` checked, durations and
 * dates parsed and re-checked, timezone an IANA name, cron expression able to fire).
 * Throws SundialError `invalid_schedule` with field errors whose paths start with `path`.
 */
export function validateSchedule(input: unknown, path = '/schedule'): Schedule {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string): void => {
    errors.push({ path: field === '' ? path : `${path}/${field}`, message });
  };
  if (!isRecord(input)) {
    fail('', 'must be an object like { "type": "cron", "expression": "0 9 * * *" }');
    throw invalid(errors, 'invalid_schedule');
  }
  const type = input.type;
  if (type !== 'once' && type !== 'interval' && type !== 'cron') {
    fail('type', "must be 'once', 'interval' or 'cron'");
    throw invalid(errors, 'invalid_schedule');
  }
  for (const key of Object.keys(input)) {
    if (!FIELDS[type].includes(key)) fail(key, `is not a field of a '${type}' schedule`);
  }

  const instant = (field: string, required: boolean): Millis | undefined => {
    const v = input[field];
    if (v === undefined) {
      if (required) fail(field, 'is required');
      return undefined;
    }
    const r = readInstant(v);
    if (typeof r === 'string') {
      fail(field, r);
      return undefined;
    }
    return r;
  };

  let maxRuns: number | undefined;
  if (input.maxRuns !== undefined) {
    const v = input.maxRuns;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail('maxRuns', 'must be a positive integer');
    else maxRuns = v;
  }
  let jitter: string | undefined;
  if (input.jitter !== undefined) {
    const ms = typeof input.jitter === 'string' ? parseDuration(input.jitter) : null;
    if (ms === null) fail('jitter', 'must be a duration like 5s, 1m or PT30S');
    else if (ms > MAX_JITTER_MS) fail('jitter', `must be at most ${formatDuration(MAX_JITTER_MS)}`);
    else jitter = (input.jitter as string).trim();
  }
  const common = { ...(maxRuns !== undefined && { maxRuns }), ...(jitter !== undefined && { jitter }) };

  if (type === 'once') {
    const at = instant('at', true);
    if (errors.length > 0 || at === undefined) throw invalid(errors, 'invalid_schedule');
    return { type, at: iso(at), ...common };
  }

  const startAt = instant('startAt', false);
  const endAt = instant('endAt', false);
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) fail('endAt', 'must be after startAt');
  const bounds = {
    ...(startAt !== undefined && { startAt: iso(startAt) }),
    ...(endAt !== undefined && { endAt: iso(endAt) }),
  };

  if (type === 'interval') {
    const every = input.every;
    const ms = typeof every === 'string' ? parseDuration(every) : null;
    if (every === undefined) fail('every', 'is required');
    else if (ms === null) fail('every', 'must be a duration like 30s, 5m, 1h30m or PT5M (years and months are not allowed)');
    else if (ms < MIN_INTERVAL_MS) fail('every', `must be at least ${formatDuration(MIN_INTERVAL_MS)}`);
    if (errors.length > 0) throw invalid(errors, 'invalid_schedule');
    return { type, every: (every as string).trim(), ...bounds, ...common };
  }

  let timezone: string | undefined;
  if (input.timezone !== undefined) {
    if (typeof input.timezone !== 'string' || input.timezone.trim() === '') {
      fail('timezone', 'must be an IANA time zone name like Europe/Berlin');
    } else {
      const problem = timezoneProblem(input.timezone.trim());
      if (problem !== null) fail('timezone', problem);
      else timezone = input.timezone.trim();
    }
  }
  let expression: string | undefined;
  if (typeof input.expression !== 'string' || input.expression.trim() === '') {
    fail('expression', input.expression === undefined ? 'is required' : 'must be a cron expression string');
  } else {
    expression = input.expression.trim().replace(/\s+/g, ' ');
    // An unusable zone is already reported; the expression is checked in UTC meanwhile.
    const problem = cronProblem(expression, timezone ?? DEFAULT_TIMEZONE);
    if (problem !== null) fail('expression', problem);
  }
  if (errors.length > 0 || expression === undefined) throw invalid(errors, 'invalid_schedule');
  const schedule: Schedule = { type, expression, ...(timezone !== undefined && { timezone }), ...bounds, ...common };
  if (endAt !== undefined && nextOccurrence(schedule, (startAt ?? 0) - 1) === null) {
    throw invalid([{ path: `${path}/endAt`, message: 'the expression has no occurrence before endAt (and after startAt)' }], 'invalid_schedule');
  }
  return schedule;
}

/**
 * Fixes an interval schedule's phase: one without `startAt` gets `startAt = now + every`, so its
 * occurrences are `startAt + k·every` (k ≥ 0) whatever the clock says later. Other schedules
 * come back unchanged. Call when a task is created or its schedule is set.
 */
export function anchorSchedule(schedule: Schedule, now: Millis): Schedule {
  if (schedule.type !== 'interval' || schedule.startAt !== undefined) return schedule;
  const every = parseDuration(schedule.every);
  if (every === null) return schedule;
  return { ...schedule, startAt: iso(now + every) };
}
