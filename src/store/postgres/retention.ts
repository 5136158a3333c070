// History retention on PostgreSQL (Store.pruneHistory): the counterpart of ../sqlite/retention.ts.
//
// Reads first, then ONE statement that deletes: a CTE picks the runs (age candidates, oldest
// finish first, then the per-task candidates) with FOR UPDATE SKIP LOCKED, deletes them, their
// logs and samples, and subtracts them from this node's shard of run_counts. A single statement
// is a transaction of its own, so the call is atomic whether `sql` is a pool, a checked-out
// client or the store's retrying wrapper (which may send each query to another connection), and
// no lock is held while the reads run.
//
// - SKIP LOCKED: another node pruning the same rows, or a write reopening a cancelled occurrence,
//   holds its rows; they are left to the next call instead of waiting on them. Rows are re-checked
//   as finished when locked, so a run reopened meanwhile is not deleted.
// - run_logs.run_id and run_samples.run_id are in the database's default collation, runs.id in
//   "C": the ids are compared in the former's, or their indexes cannot be used (a scan of all
//   logs per batch, ~50 ms per 200,000 lines).
// - run_counts rows are written in key order (COLLATE "C", the byte order the other writers'
//   JavaScript sort gives), the lock order every writer of the shard keeps (no deadlocks).
// - Per task: RetentionTracker decides which tasks to count (../retention-tracker.ts); a count is
//   a capped count of the task's runs and, for a task over its limit, its `keep`-th newest
//   finished run found through runs_task_time, which is where its history may be cut.
import type { Millis } from '../../core/types.js';
import { RetentionTracker, type RunKey, type TrackerOptions } from '../retention-tracker.js';
import type { PruneOptions } from '../store.js';
import type { Sql } from './sql.js';

/** Most reads (round trips) one call makes to find per-task candidates. */
const MAX_READS = 20;

/** Far above any due time: the cutoff that keeps nothing (`keepPerTask` 0). */
const NO_CUTOFF = Number.MAX_SAFE_INTEGER;

/** The test for a finished run, on the columns of `alias` (the status test guards pending and running runs whatever sets finished_at). */
function finished(alias = ''): string {
  const a = alias === '' ? '' : `${alias}.`;
  return `${a}finished_at IS NOT NULL AND ${a}status NOT IN ('scheduled', 'queued', 'running')`;
}
const FINISHED = finished();

/** Runs past the age limit, capped: whether the age limit alone fills this call. */
const COUNT_OLD = `SELECT count(*)::int AS n FROM (SELECT 1 FROM runs WHERE finished_at < $1 AND ${FINISHED} LIMIT $2) o`;

const WINDOW =
  'SELECT task_id, count(*)::int AS n, max(finished_at)::float8 AS last FROM (SELECT task_id, finished_at FROM runs ' +
  'WHERE finished_at >= $1 AND finished_at < $2 ORDER BY finished_at LIMIT $3) w GROUP BY task_id';

// A loose index scan: one index probe per task id instead of reading every run.
const NEXT_TASKS =
  'WITH RECURSIVE t(id, k) AS (SELECT (SELECT min(task_id) FROM runs WHERE task_id > $1), 1 ' +
  'UNION ALL SELECT (SELECT min(task_id) FROM runs WHERE task_id > t.id), t.k + 1 FROM t WHERE t.id IS NOT NULL AND t.k < $2) ' +
  'SELECT id FROM t WHERE id IS NOT NULL';

/**
 * Counts several tasks in one round trip. Per task ($1 ids, $2/$3 a cutoff remembered from an
 * earlier call or null; $4 keep; $5 most runs to count past a cut): `total`, its runs of any
 * status up to keep + 1 (when no cutoff is known: within `keep` there is nothing to delete);
 * `sf`/`id`, the cutoff (the remembered one, or its `keep`-th newest finished run in listRuns
 * order, or for keep 0 one past everything); `excess`, its finished runs older than the cutoff.
 */
const CHECK = `
SELECT t.task_id, a.n AS total, k.sf::float8 AS sf, k.id,
  CASE WHEN k.sf IS NULL THEN 0 ELSE (SELECT count(*)::int FROM (SELECT 1 FROM runs r WHERE r.task_id = t.task_id AND ${finished('r')}
    AND (r.scheduled_for, r.id) < (k.sf, k.id) LIMIT $5) x) END AS excess
FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS t(task_id, csf, cid, ord)
CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM (SELECT 1 FROM runs WHERE t.csf IS NULL AND task_id = t.task_id LIMIT $4 + 1) c) a
CROSS JOIN LATERAL (
  SELECT coalesce(t.csf, c.sf, CASE WHEN $4 = 0 AND a.n > 0 THEN ${NO_CUTOFF}::bigint END) AS sf, coalesce(t.cid, c.id, '') AS id
  FROM (SELECT 1) one LEFT JOIN LATERAL (
    SELECT scheduled_for AS sf, id FROM runs WHERE t.csf IS NULL AND $4 > 0 AND a.n > $4 AND task_id = t.task_id AND ${FINISHED}
    ORDER BY scheduled_for DESC, id DESC OFFSET greatest($4 - 1, 0) LIMIT 1) c ON true
) k
ORDER BY t.ord`;

/** Tasks counted in one CHECK query. */
const CHECK_TASKS = 50;

/**
 * The delete: $1 age limit (null: none), $2 most runs, $3 shard, $4…$7 per-task cuts (task, due
 * time and id of the oldest run kept, most runs to take). Returns per task how many runs went and
 * how many of those for their age.
 */
const DELETE = `
WITH cut AS (
  SELECT * FROM unnest($4::text[], $5::bigint[], $6::text[], $7::int[]) AS c(task_id, sf, cid, n)
), cand AS (
  (SELECT id, true AS old, finished_at AS ord FROM runs WHERE $1::bigint IS NOT NULL AND finished_at < $1 AND ${FINISHED}
    ORDER BY finished_at LIMIT $2)
  UNION ALL
  SELECT r.id, false, NULL FROM cut CROSS JOIN LATERAL (
    SELECT id FROM runs WHERE task_id = cut.task_id AND ${FINISHED} AND (scheduled_for, id) < (cut.sf, cut.cid)
    ORDER BY scheduled_for, id LIMIT cut.n) r
), picked AS (
  SELECT r.id, r.namespace, r.status, r.task_id, bool_or(c.old) AS old, min(c.ord) AS ord
  FROM runs r JOIN cand c ON c.id = r.id WHERE ${finished('r')}
  GROUP BY r.id
), locked AS (
  SELECT r.id FROM runs r WHERE r.id IN (SELECT id FROM picked) AND ${finished('r')}
  FOR UPDATE SKIP LOCKED
), chosen AS (
  SELECT p.* FROM picked p JOIN locked l ON l.id = p.id ORDER BY p.old DESC, p.ord, p.id LIMIT $2
), gone AS (
  DELETE FROM runs r USING chosen c WHERE r.id = c.id RETURNING r.id, r.namespace, r.status, r.task_id
), logs AS (
  DELETE FROM run_logs WHERE run_id IN (SELECT id COLLATE "default" FROM chosen)
), samples AS (
  DELETE FROM run_samples WHERE run_id IN (SELECT id COLLATE "default" FROM chosen)
), counts AS (
  SELECT namespace, status, count(*)::bigint AS n FROM gone GROUP BY namespace, status
), bump AS (
  INSERT INTO run_counts (namespace, status, shard, n)
  SELECT namespace, status, $3, -n FROM counts ORDER BY namespace COLLATE "C", status COLLATE "C"
  ON CONFLICT (namespace, status, shard) DO UPDATE SET n = run_counts.n + excluded.n
)
SELECT g.task_id, count(*)::int AS n, count(*) FILTER (WHERE c.old)::int AS old FROM gone g JOIN chosen c ON c.id = g.id GROUP BY g.task_id`;

/** Per-task bookkeeping of one store across calls (keep one per store and pass it every call). */
export class PgRetentionState {
  #tracker: RetentionTracker | null = null;

  constructor(private readonly trackerOptions: TrackerOptions = {}) {}

  /** The tracker for `keep` (a new one when the limit changed). */
  trackerFor(keep: number): RetentionTracker {
    if (this.#tracker?.keep !== keep) this.#tracker = new RetentionTracker(keep, this.trackerOptions);
    return this.#tracker;
  }
}

/** States of callers that pass the same `sql` object every time (a pool, say). */
const states = new WeakMap<object, PgRetentionState>();

/** A per-task cut planned by the reads. */
interface Cut {
  taskId: string;
  sf: number;
  id: string;
  n: number;
}

/**
 * Deletes finished runs past the retention limits; returns how many (see Store.pruneHistory).
 * `state` carries the per-task bookkeeping from call to call: pass the same one every time (the
 * default keys it by `sql`, which only works when `sql` is the same object every call; a fresh
 * state restarts the walk over the tasks from the first one).
 */
export async function pruneHistoryPg(
  sql: Sql,
  opts: PruneOptions,
  now: Millis,
  shard: number,
  state: PgRetentionState = stateOf(sql),
): Promise<number> {
  const limit = Math.max(0, Math.floor(opts.limit));
  if (limit === 0) return 0;
  const before = opts.finishedBefore;
  let old = 0;
  if (before !== null) {
    old = (await sql.query<{ n: number }>(COUNT_OLD, [before, limit])).rows[0]?.n ?? 0;
  }
  const cuts: Cut[] = [];
  const tracker = opts.keepPerTask === null ? null : state.trackerFor(Math.max(0, Math.floor(opts.keepPerTask)));
  if (tracker !== null && old < limit) await planCuts(sql, tracker, now, limit - old, cuts);
  if (old === 0 && cuts.length === 0) return 0;
  const { rows } = await sql.query<{ task_id: string; n: number; old: number }>(DELETE, [
    before,
    limit,
    shard,
    cuts.map((c) => c.taskId),
    cuts.map((c) => c.sf),
    cuts.map((c) => c.id),
    cuts.map((c) => c.n),
  ]);
  let deleted = 0;
  for (const r of rows) {
    deleted += r.n;
    if (r.old > 0) tracker?.deletedElsewhere(r.task_id, r.old);
  }
  return deleted;
}

function stateOf(sql: Sql): PgRetentionState {
  let s = states.get(sql);
  if (s === undefined) states.set(sql, (s = new PgRetentionState()));
  return s;
}

/** Reads what the per-task limit would delete, up to `room` runs, into `cuts`. */
async function planCuts(sql: Sql, tracker: RetentionTracker, now: Millis, room: number, cuts: Cut[]): Promise<void> {
  const keep = tracker.keep;
  let planned = 0;
  for (let reads = 0; planned < room && reads < MAX_READS; reads++) {
    const step = tracker.next(now);
    if (step.kind === 'idle') return;
    if (step.kind === 'window') {
      const { rows } = await sql.query<{ task_id: string; n: number; last: number }>(WINDOW, [step.from, step.to, step.rows]);
      let read = 0;
      let last: number | null = null;
      for (const r of rows) {
        read += r.n;
        if (last === null || r.last > last) last = r.last;
      }
      tracker.windowRead(step, rows.map((r) => ({ taskId: r.task_id, n: r.n })), read >= step.rows, last);
      continue;
    }
    if (step.kind === 'pass') {
      const { rows } = await sql.query<{ id: string }>(NEXT_TASKS, [step.after ?? '', step.tasks]);
      tracker.passRead(step, rows.map((r) => r.id));
      continue;
    }
    const ids = tracker.queued(CHECK_TASKS);
    const known = ids.map((id) => tracker.cutOf(id));
    const { rows } = await sql.query<{ task_id: string; total: number; sf: number | null; id: string; excess: number }>(CHECK, [
      ids,
      known.map((c) => c?.sf ?? null),
      known.map((c) => c?.id ?? null),
      keep,
      room - planned + 1,
    ]);
    for (const r of rows) {
      const left = room - planned;
      // Full: the rest stay in line, counted again by the next call.
      if (left <= 0) break;
      if (r.sf === null) {
        // Within its limit, or fewer than `keep` finished runs (the rest pending or running),
        // counted as `keep` so that the next count waits for `slack` more finishes.
        tracker.checked(r.task_id, Math.min(r.total, keep), true);
        continue;
      }
      const cut: RunKey = { sf: Number(r.sf), id: r.id };
      const n = Math.min(r.excess, left);
      if (n > 0) {
        cuts.push({ taskId: r.task_id, sf: cut.sf, id: cut.id, n });
        planned += n;
      }
      // More than fits in this call: the task stays first in line, with its cutoff.
      const done = r.excess <= left;
      tracker.checked(r.task_id, done ? keep : keep + tracker.slack + 1, done, keep === 0 ? null : cut);
    }
  }
}
