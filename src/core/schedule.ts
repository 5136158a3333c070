// Schedules: validation at the API's edge, and the pure arithmetic of "when is the next
// occurrence". Time is always a parameter. Cron matching is croner's; the DST rules DESIGN.md
// asks for (classic cron / Cronos) are croner 11's own, pinned by test/core/schedule-dst.test.ts.
import { Cron } from 'croner';
import { formatDuration, parseDuration } from './duration.js';
import { invalid, SundialError, type ErrorCode, type FieldError } from './errors.js';
import type { Millis, Schedule } from './types.js';

/** Shortest `every` an interval schedule may have. */
export const MIN_INTERVAL_MS = 1000;
/** Largest `jitter` a schedule may ask for. */
export const MAX_JITTER_MS = 86_400_000;
/** Most occurrences one preview returns. */
export const MAX_PREVIEW_COUNT = 1000;
/** Time zone of a cron schedule that names none. */
export const DEFAULT_TIMEZONE = 'UTC';
/**
 * croner searches no further than the year 3000; occurrences from then on are reported as none
 * rather than searched for (a pure function must not spin for centuries).
 */
export const CRON_HORIZON_MS: Millis = Date.UTC(3000, 0, 1);

/** The last instant a JavaScript Date can represent. */
const MAX_DATE_MS = 8.64e15;

const FIELDS: Record<Schedule['type'], readonly string[]> = {
  once: ['type', 'at', 'maxRuns', 'jitter'],
  interval: ['type', 'every', 'startAt', 'endAt', 'maxRuns', 'jitter'],
  cron: ['type', 'expression', 'timezone', 'startAt', 'endAt', 'maxRuns', 'jitter'],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Instants

const INSTANT_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const DATE_ONLY_RE = /^\d{4}-\d{2}-\d{2}$/;
const ZONE_HINT = 'add Z or a UTC offset, e.g. 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00';

/** Why `input` is not an ISO-8601 instant with a zone, or the instant itself. */
function readInstant(input: unknown): Millis | string {
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

function iso(ms: Millis): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Time zones

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

// ---------------------------------------------------------------------------------------------
// Cron

const cronCache = new Map<string, Cron>();
const CRON_CACHE_MAX = 1000;

function isUtc(zone: string): boolean {
  return zone === 'UTC' || zone === 'Etc/UTC';
}

/** A croner matcher for the expression in the zone (memoized: parsing is the slow part). */
function cronFor(expression: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expression}`;
  let c = cronCache.get(key);
  if (c === undefined) {
    c = new Cron(expression, {
      // A fixed offset skips croner's Intl-based zone arithmetic, which UTC does not need.
      ...(isUtc(timezone) ? { utcOffset: 0 } : { timezone }),
      mode: '5-or-6-parts',
      // Vixie cron's rule: only wildcard or stepped time fields (`0 * * * *`, `*/15 ...`) make an
      // "interval" job that follows real instants through DST; lists and ranges of fixed times
      // (`0,30 2 * * *`) get the fixed-time rules (gap: once after it; overlap: first pass only).
      fixedTimeRule: 'no-wildcard',
    });
    if (cronCache.size >= CRON_CACHE_MAX) cronCache.clear();
    cronCache.set(key, c);
  }
  return c;
}

const problemCache = new Map<string, string | null>();

/** Why a cron expression cannot be used, or null (memoized: the never-fires search is costly). */
function cronProblem(expression: string, timezone: string): string | null {
  const key = `${timezone}\u0000${expression}`;
  const known = problemCache.get(key);
  if (known !== undefined) return known;
  const problem = findCronProblem(expression, timezone);
  if (problemCache.size >= CRON_CACHE_MAX) problemCache.clear();
  problemCache.set(key, problem);
  return problem;
}

function findCronProblem(expression: string, timezone: string): string | null {
  const fields = expression.split(/\s+/);
  if (!expression.startsWith('@') && fields.length !== 5 && fields.length !== 6) {
    return `must have 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first); it has ${fields.length}`;
  }
  let cron: Cron;
  try {
    cron = cronFor(expression, timezone);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return `is not a valid cron expression: ${msg.replace(/^Cron(Pattern|Options)?: /, '')}`;
  }
  // Fields are day-of-year cyclic (leap days repeat within 28 years), so a search from any
  // fixed point finds an occurrence if there ever is one.
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) {
    return 'never fires (no date matches it, e.g. 30 February)';
  }
  return null;
}

function cronNext(expression: string, timezone: string, after: Millis): Millis | null {
  if (after >= CRON_HORIZON_MS) return null;
  const next = cronFor(expression, timezone).nextRun(new Date(after));
  return next === null ? null : next.getTime();
}

/** Up to `limit` occurrences of the cron expression strictly before `before`, newest first. */
function cronPrevious(expression: string, timezone: string, before: Millis, limit: number): Millis[] {
  const ref = new Date(Math.min(before, CRON_HORIZON_MS));
  return cronFor(expression, timezone)
    .previousRuns(limit, ref)
    .map((d) => d.getTime())
    .filter((t) => t < before);
}

// ---------------------------------------------------------------------------------------------
// Validation

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

// ---------------------------------------------------------------------------------------------
// Occurrences

interface Window {
  start: Millis | null;
  end: Millis | null;
}
function windowOf(schedule: Schedule): Window {
  if (schedule.type === 'once') return { start: null, end: null };
  return {
    start: schedule.startAt === undefined ? null : parseInstant(schedule.startAt),
    end: schedule.endAt === undefined ? null : parseInstant(schedule.endAt),
  };
}

/** `every` in ms; a stored schedule was validated, so a bad value is a bug, not input. */
function everyMs(schedule: Extract<Schedule, { type: 'interval' }>): number {
  const ms = parseDuration(schedule.every);
  if (ms === null || ms <= 0) throw new SundialError('internal', `interval schedule has a bad 'every': ${schedule.every}`);
  return ms;
}

/**
 * The first occurrence strictly after `after`, honouring startAt/endAt (not maxRuns or
 * jitter, which the planner applies). Null when the schedule has no further occurrence.
 */
export function nextOccurrence(schedule: Schedule, after: Millis): Millis | null {
  if (Number.isNaN(after)) return null;
  if (schedule.type === 'once') {
    const at = parseInstant(schedule.at);
    return at !== null && at > after ? at : null;
  }
  const { start, end } = windowOf(schedule);
  // Occurrences at startAt count, so search from just before it.
  const from = start !== null && after < start ? start - 1 : after;
  let next: Millis | null;
  if (schedule.type === 'interval') {
    const every = everyMs(schedule);
    // An interval that was never anchored keeps a grid from the epoch, so it still has a phase.
    const origin = start ?? 0;
    next = from < origin ? origin : origin + (Math.floor((from - origin) / every) + 1) * every;
    // Past the last instant a Date can hold there is nothing to schedule.
    if (!(next <= MAX_DATE_MS)) return null;
  } else {
    next = cronNext(schedule.expression, schedule.timezone ?? DEFAULT_TIMEZONE, from);
  }
  if (next === null || (end !== null && next > end)) return null;
  return next;
}

/**
 * Occurrences in (`after`, `upTo`], the most recent `limit` of them, oldest first, plus how many
 * there are in all when that is known cheaply (intervals; for cron, null once the limit is hit).
 * Work is bounded by `limit`, however long the span: the planner uses this for misfires.
 */
export function recentOccurrences(
  schedule: Schedule,
  after: Millis,
  upTo: Millis,
  limit: number,
): { occurrences: Millis[]; total: number | null } {
  if (upTo <= after || limit <= 0) return { occurrences: [], total: 0 };
  if (schedule.type === 'once') {
    const at = parseInstant(schedule.at);
    const hit = at !== null && at > after && at <= upTo;
    return { occurrences: hit ? [at] : [], total: hit ? 1 : 0 };
  }
  const { start, end } = windowOf(schedule);
  const hi = end !== null ? Math.min(upTo, end) : upTo;
  const lo = start !== null ? Math.max(after, start - 1) : after;
  if (hi <= lo) return { occurrences: [], total: 0 };

  if (schedule.type === 'interval') {
    const every = everyMs(schedule);
    const origin = start ?? 0;
    const first = lo < origin ? 0 : Math.floor((lo - origin) / every) + 1;
    const last = Math.floor((hi - origin) / every);
    if (last < first) return { occurrences: [], total: 0 };
    const total = last - first + 1;
    const from = Math.max(first, last - limit + 1);
    const occurrences: Millis[] = [];
    for (let k = from; k <= last; k++) occurrences.push(origin + k * every);
    return { occurrences, total };
  }

  // Cron: walk back from the end until `after` or the limit (croner's backward search follows
  // the same DST rules as its forward one; a test pins that they agree). Chunks grow, so a short
  // outage costs a few steps and a long one still finishes in few calls.
  const tz = schedule.timezone ?? DEFAULT_TIMEZONE;
  const found: Millis[] = [];
  let before = hi + 1;
  let chunk = 8;
  let exhausted = false;
  while (found.length < limit) {
    const batch = cronPrevious(schedule.expression, tz, before, Math.min(chunk, limit - found.length));
    chunk = Math.min(chunk * 2, 256);
    for (const t of batch) {
      if (t <= lo) {
        exhausted = true;
        break;
      }
      found.push(t);
    }
    if (exhausted || batch.length === 0) {
      exhausted = true;
      break;
    }
    before = batch[batch.length - 1]!;
  }
  found.reverse();
  return { occurrences: found, total: exhausted ? found.length : null };
}

/** Up to `count` occurrences at or after `from` (for previews). */
export function previewSchedule(schedule: Schedule, from: Millis, count: number): Millis[] {
  const n = Math.min(Math.max(0, Math.floor(count)), MAX_PREVIEW_COUNT);
  const out: Millis[] = [];
  let t = nextOccurrence(schedule, from - 1);
  while (t !== null && out.length < n) {
    out.push(t);
    t = nextOccurrence(schedule, t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Words

function human(isoText: string): string {
  const ms = parseInstant(isoText);
  if (ms === null) return isoText;
  const s = iso(ms);
  const secs = s.slice(17, 19) === '00' && s.endsWith('.000Z') ? '' : s.slice(16, 23).replace(/\.000$/, '');
  return `${s.slice(0, 10)} ${s.slice(11, 16)}${secs} UTC`;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** A few common cron shapes in words; null for the rest (they are shown as written). */
function cronWords(expression: string): string | null {
  const f = expression.split(' ');
  if (f.length !== 5) return null;
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const num = (s: string): number | null => (/^\d+$/.test(s) ? Number(s) : null);
  const everyDay = dom === '*' && mon === '*';
  if (min === '*' && hour === '*' && everyDay && dow === '*') return 'every minute';
  const step = /^\*\/(\d+)$/.exec(min);
  if (step && hour === '*' && everyDay && dow === '*') return `every ${step[1]} minutes`;
  const m = num(min);
  if (m !== null && hour === '*' && everyDay && dow === '*') return `every hour at :${String(m).padStart(2, '0')}`;
  const h = num(hour);
  if (m === null || h === null || !everyDay) return null;
  const at = `at ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
  if (dow === '*') return `${at} every day`;
  if (dow === '1-5') return `${at} on weekdays`;
  const d = num(dow);
  if (d !== null && d <= 7) return `${at} on ${DAYS[d % 7]}`;
  return null;
}

/** The schedule in words, e.g. "every 5 minutes", "at 09:00 on Monday (Europe/Berlin)". */
export function describeSchedule(schedule: Schedule): string {
  let text: string;
  if (schedule.type === 'once') {
    text = `once at ${human(schedule.at)}`;
  } else {
    if (schedule.type === 'interval') {
      const ms = parseDuration(schedule.every);
      text = `every ${ms === null ? schedule.every : formatDuration(ms)}`;
    } else {
      const words = cronWords(schedule.expression);
      text = `${words ?? `cron \`${schedule.expression}\``} (${schedule.timezone ?? DEFAULT_TIMEZONE})`;
    }
    if (schedule.startAt !== undefined) text += `, from ${human(schedule.startAt)}`;
    if (schedule.endAt !== undefined) text += `, until ${human(schedule.endAt)}`;
  }
  if (schedule.maxRuns !== undefined) text += `, at most ${schedule.maxRuns} run${schedule.maxRuns === 1 ? '' : 's'}`;
  if (schedule.jitter !== undefined) text += `, jitter ${schedule.jitter}`;
  return text;
}
