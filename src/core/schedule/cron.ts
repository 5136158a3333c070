// Cron through croner: the matchers (memoized), why an expression cannot be used, and the
// occurrences after or before an instant. The DST rules DESIGN.md asks for (classic cron /
// Cronos) are croner 11's own, pinned by test/core/schedule/dst.test.ts.
import { Cron } from 'croner';
import type { Millis } from '../types.js';

/** Time zone of a cron schedule that names none. */
export const DEFAULT_TIMEZONE = 'UTC';
/**
 * croner searches no further than the year 3000; occurrences from then on are reported as none
 * rather than searched for (a pure function must not spin for centuries).
 */
export const CRON_HORIZON_MS: Millis = Date.UTC(3000, 0, 1);

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
export function cronProblem(expression: string, timezone: string): string | null {
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

export function cronNext(expression: string, timezone: string, after: Millis): Millis | null {
  if (after >= CRON_HORIZON_MS) return null;
  const next = cronFor(expression, timezone).nextRun(new Date(after));
  return next === null ? null : next.getTime();
}

/** Up to `limit` occurrences of the cron expression strictly before `before`, newest first. */
export function cronPrevious(expression: string, timezone: string, before: Millis, limit: number): Millis[] {
  const ref = new Date(Math.min(before, CRON_HORIZON_MS));
  return cronFor(expression, timezone)
    .previousRuns(limit, ref)
    .map((d) => d.getTime())
    .filter((t) => t < before);
}
