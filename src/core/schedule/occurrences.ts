// The pure arithmetic of "when is the next occurrence": time is always a parameter. Intervals
// are counted arithmetically (O(1) however far ahead); cron is croner's (./cron.ts).
import { parseDuration } from '../duration.js';
import { SundialError } from '../errors.js';
import type { Millis, Schedule } from '../types.js';
import { cronNext, cronPrevious, DEFAULT_TIMEZONE } from './cron.js';
import { parseInstant } from './instant.js';

/** Most occurrences one preview returns. */
export const MAX_PREVIEW_COUNT = 1000;

/** The last instant a JavaScript Date can represent. */
const MAX_DATE_MS = 8.64e15;

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

/**
 * Up to `count` occurrences at or after `from` (for previews), and no more than `maxRuns`: a task
 * created now fires at most that often.
 */
export function previewSchedule(schedule: Schedule, from: Millis, count: number): Millis[] {
  const n = Math.min(Math.max(0, Math.floor(count)), MAX_PREVIEW_COUNT, schedule.maxRuns ?? Number.POSITIVE_INFINITY);
  const out: Millis[] = [];
  let t = nextOccurrence(schedule, from - 1);
  while (t !== null && out.length < n) {
    out.push(t);
    t = nextOccurrence(schedule, t);
  }
  return out;
}
