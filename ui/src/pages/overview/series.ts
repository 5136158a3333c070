// The per-minute run series behind the Overview's charts, kept current from live events.
//
// GET /v1/stats/runs gives one bucket per minute of `scheduledFor` (finished runs by status, runs
// started, lateness p50/p99). After that, every run transition is applied here: a final status
// adds to its bucket's count, a start adds a lateness sample; a new minute appends an empty
// bucket and drops the oldest. Lateness percentiles of a minute seen only live are exact; for
// the minute that was in progress when the series was fetched, the server's part is known only
// by its p50/p99, so that one minute's figures merge the two approximately.

import type { paths } from '../../api/schema';
import type { RunTransitionEvent } from '../../live/live-events';

/** Outcomes the bar chart stacks, bottom to top. */
export const OUTCOMES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** GET /v1/stats/runs, as the server sends it. */
export type RunStats = paths['/v1/stats/runs']['get']['responses'][200]['content']['application/json'];

/** One minute on screen. */
export interface Minute {
  /** Start of the minute (epoch ms). */
  at: number;
  counts: Record<Outcome, number>;
  lateP50Ms: number | null;
  lateP99Ms: number | null;
  /** The server's summary of the starts it counted (null: none). */
  serverLate: { n: number; p50: number; p99: number } | null;
  /** Starts seen live since: how many runs started how many ms late (few distinct values, even at 500 runs/s). */
  liveLate: Map<number, number>;
}

export interface LiveSeries {
  bucketMs: number;
  minutes: Minute[];
  /** When the server counted (server time, estimated): events up to then are in the counts already. */
  countedAt: number;
}

const FINAL = new Set<string>(OUTCOMES);

function emptyMinute(at: number): Minute {
  return { at, counts: { succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, skipped: 0 }, lateP50Ms: null, lateP99Ms: null, serverLate: null, liveLate: new Map() };
}

/** The series as fetched, counted by the server at about `countedAt`. */
export function fromResponse(res: RunStats, countedAt: number): LiveSeries {
  return {
    bucketMs: res.bucketMs,
    countedAt,
    minutes: res.buckets.map((b) => ({
      at: Date.parse(b.at),
      counts: { succeeded: b.succeeded, failed: b.failed, timed_out: b.timed_out, cancelled: b.cancelled, skipped: b.skipped },
      lateP50Ms: b.lateP50Ms,
      lateP99Ms: b.lateP99Ms,
      serverLate: b.started > 0 && b.lateP50Ms !== null && b.lateP99Ms !== null ? { n: b.started, p50: b.lateP50Ms, p99: b.lateP99Ms } : null,
      liveLate: new Map(),
    })),
  };
}

/** Moves the window so its last minute is the one holding `nowMs` (a no-op when it already is). */
export function advance(s: LiveSeries, nowMs: number): LiveSeries {
  const last = s.minutes[s.minutes.length - 1];
  if (last === undefined) return s;
  const target = Math.floor((nowMs - last.at) / s.bucketMs);
  if (target <= 0) return s;
  const n = s.minutes.length;
  const added = Array.from({ length: Math.min(target, n) }, (_, i) => emptyMinute(last.at + (target - Math.min(target, n) + i + 1) * s.bucketMs));
  return { ...s, minutes: [...s.minutes, ...added].slice(-n) };
}

/** Weighted nearest-rank percentile of (value, weight) pairs. */
function percentile(pairs: [number, number][], p: number): number | null {
  const total = pairs.reduce((sum, [, w]) => sum + w, 0);
  if (total === 0) return null;
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [v, w] of sorted) {
    seen += w;
    if (seen >= rank) return v;
  }
  return sorted[sorted.length - 1]![0];
}

/** p50/p99 of a minute's lateness: the live samples, plus the server's part as weighted points. */
function latenessOf(m: Minute): { p50: number | null; p99: number | null } {
  const pairs: [number, number][] = [...m.liveLate];
  if (m.serverLate !== null) {
    // The server's n starts, stood for by their percentiles: the runs ranked at or above p99's
    // rank at p99, the rest at p50 (both percentiles of these n points are the server's).
    const { n, p50, p99 } = m.serverLate;
    const top = n - Math.ceil(0.99 * n) + 1;
    pairs.push([p50, n - top], [p99, top]);
  }
  return { p50: percentile(pairs, 0.5), p99: percentile(pairs, 0.99) };
}

/**
 * The series with `events` applied (pass only the namespace shown). Events of minutes before
 * the window are dropped; an event of a later minute first advances the window to it (the
 * server's clock runs the series, not the browser's). A run due in a future minute (cancelled
 * early, say) counts nowhere yet, as on the server.
 */
export function applyTransitions(s: LiveSeries, events: RunTransitionEvent[]): LiveSeries {
  let out: LiveSeries = { ...s, minutes: [...s.minutes] };
  // Minutes copied in this batch (each once), so the previous series is never changed.
  const copies = new Set<Minute>();
  for (const e of events) {
    const isFinal = FINAL.has(e.to);
    const isStart = e.to === 'running' && e.startedAt !== null;
    if (!isFinal && !isStart) continue;
    // Already counted by the server (an event can reach us after the series it is part of).
    if (Date.parse(e.at) <= s.countedAt) continue;
    const due = Date.parse(e.scheduledFor);
    if (Math.floor(due / s.bucketMs) > Math.floor(Date.parse(e.at) / s.bucketMs)) continue;
    out = advance(out, due);
    const first = out.minutes[0];
    if (first === undefined || due < first.at) continue;
    const index = Math.floor((due - first.at) / s.bucketMs);
    let m = out.minutes[index];
    if (m === undefined) continue;
    if (!copies.has(m)) {
      m = { ...m, counts: { ...m.counts }, liveLate: new Map(m.liveLate) };
      copies.add(m);
      out.minutes[index] = m;
    }
    if (isFinal) m.counts[e.to as Outcome] += 1;
    else {
      const late = Math.max(0, Date.parse(e.startedAt!) - due);
      m.liveLate.set(late, (m.liveLate.get(late) ?? 0) + 1);
    }
  }
  for (const m of copies) {
    if (m.liveLate.size === 0) continue;
    const late = latenessOf(m);
    m.lateP50Ms = late.p50;
    m.lateP99Ms = late.p99;
  }
  return copies.size === 0 && out.minutes.length === s.minutes.length && out.minutes.every((m, i) => m === s.minutes[i]) ? s : out;
}

/** Failed and timed-out runs over the whole window. */
export function failuresIn(s: LiveSeries): { failed: number; timedOut: number } {
  let failed = 0;
  let timedOut = 0;
  for (const m of s.minutes) {
    failed += m.counts.failed;
    timedOut += m.counts.timed_out;
  }
  return { failed, timedOut };
}
