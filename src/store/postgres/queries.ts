// Filtered, paginated reads of the PostgreSQL store (the counterpart of ../sqlite/queries.ts, whose
// behaviour they keep exactly: orders, tie-breaks, cursors, scopes, page sizes). Statements are
// built per filter combination, with every value a parameter.
//
// Orders: SQLite compares text bytewise; PostgreSQL uses the database collation unless told
// otherwise, so every text sort key and keyset comparison here says COLLATE "C" (byte order of
// UTF-8, i.e. SQLite's BINARY). An index serves such an order only if it has the C collation too.
import { SundialError } from '../../core/errors.js';
import { LATENESS_BOUNDS_MS, type LatenessBucket } from '../../core/lateness.js';
import type { AuditEntry, Millis, Run, RunStatus, Task, TaskStatus } from '../../core/types.js';
import { decodeCursor, decodeTaskCursor, encodeCursor, type TaskSortValue } from '../cursor.js';
import { RUN_COLUMNS, rowToAudit, rowToRun, rowToTask, type AuditRow, type RunRow, type TaskRow } from '../rows.js';
import type { AuditFilter, NamespaceScope, Page, RecentRun, RunCounts, RunFilter, RunMinute, TaskFilter } from '../store.js';
import { TASK_ORDERS, fits, type TaskOrder } from '../task-orders.js';
import {
  Params,
  checkCursorText,
  foldCollation,
  isEmptyScope,
  page,
  pageSize,
  readableScope,
  scopeFilter,
  toCount,
  unmatchable,
  whereSql,
} from './query-builder.js';
import type { Sql } from './sql.js';

/** Statuses of a finished run (the recent history of a task). */
const FINISHED = "('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped')";

/** Tasks in the filter's sort order (same contract and cursors as the SQLite store). */
export async function listTasks(sql: Sql, f: TaskFilter): Promise<Page<Task>> {
  if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
  const sort = f.sort ?? 'createdAt';
  const order = TASK_ORDERS[sort];
  // The cursor is checked before anything is read: a bad one is `invalid_cursor`, whatever matches.
  const after = f.cursor === undefined ? null : decodeTaskCursor(f.cursor, sort);
  if (after !== null && !fits(order, after.value)) {
    throw new SundialError('invalid_cursor', `The pagination cursor does not fit sort=${sort}`);
  }
  if (after !== null) checkCursorText(after.value, after.id);
  // Text that cannot be stored (U+0000) matches nothing, as in SQLite; PostgreSQL would refuse it.
  const scope = readableScope(f.namespaces);
  if (scope === null || unmatchable(f.q)) return { items: [], nextCursor: null };
  const limit = pageSize(f.limit);
  const where: string[] = [];
  const params = new Params();
  scopeFilter(scope, where, params);
  if (f.status !== undefined) where.push(`status = ${params.add(f.status)}`);
  if (f.kind !== undefined) where.push(`kind = ${params.add(f.kind)}`);
  if (f.schedule === 'none') where.push('schedule IS NULL');
  else if (f.schedule !== undefined) where.push(`(schedule::jsonb ->> 'type') = ${params.add(f.schedule)}`);
  if (f.q !== undefined && f.q !== '') {
    // As in SQLite: the needle lower-cased by JavaScript, a substring of the lower-cased text
    // (strpos, not LIKE: '%' and '_' are plain characters). lower() folds per the collation.
    const fold = await foldCollation(sql);
    const q = params.add(f.q.toLowerCase());
    where.push(`(strpos(lower(name${fold}), ${q}) > 0 OR strpos(lower(description${fold}), ${q}) > 0)`);
  }
  if (after !== null) where.push(afterTask(order, after, params));
  const rows = await sql.query<TaskRow>(
    `SELECT * FROM tasks${whereSql(where)} ORDER BY ${orderBy(order)} LIMIT ${params.add(limit + 1)}`,
    params.values,
  );
  return page(rows.rows.map((r) => rowToTask(r)), limit, (t) =>
    encodeCursor(sort === 'createdAt' ? ['t', t.id] : ['ts', sort, order.value(t), t.id]),
  );
}

/**
 * The last `perTask` finished runs of each task, newest due first, in one statement: a lateral
 * backward read of runs_task_time per task id.
 */
export async function listRecentRuns(sql: Sql, taskIds: readonly string[], perTask: number): Promise<Map<string, RecentRun[]>> {
  const out = new Map<string, RecentRun[]>();
  for (const id of taskIds) out.set(id, []);
  const ids = [...out.keys()].filter((id) => !unmatchable(id));
  if (ids.length === 0) return out;
  const { rows } = await sql.query<RecentRunRow>(
    'SELECT t.task_id, r.id, r.status, r.scheduled_for, r.started_at, r.finished_at ' +
      'FROM unnest($1::text[]) WITH ORDINALITY AS t (task_id, ord) CROSS JOIN LATERAL (' +
      'SELECT id, status, scheduled_for, started_at, finished_at FROM runs ' +
      `WHERE runs.task_id = t.task_id AND status IN ${FINISHED} ` +
      'ORDER BY scheduled_for DESC, id COLLATE "C" DESC LIMIT $2) AS r ' +
      'ORDER BY t.ord, r.scheduled_for DESC, r.id COLLATE "C" DESC',
    [ids, pageSize(perTask)],
  );
  for (const r of rows) {
    out.get(r.task_id)?.push({
      id: r.id,
      status: r.status,
      scheduledFor: Number(r.scheduled_for),
      startedAt: r.started_at === null ? null : Number(r.started_at),
      finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    });
  }
  return out;
}

/** Runs by due time: newest first (`desc`, the default) or oldest first (`asc`). */
export async function listRuns(sql: Sql, f: RunFilter): Promise<Page<Run>> {
  if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
  const asc = f.order === 'asc';
  const after = f.cursor === undefined ? null : decodeCursor(f.cursor, asc ? 'ra' : 'r');
  if (after !== null) checkCursorText(after[2]);
  const scope = readableScope(f.namespaces);
  if (scope === null || unmatchable(f.taskId)) return { items: [], nextCursor: null };
  const limit = pageSize(f.limit);
  const where: string[] = [];
  const params = new Params();
  scopeFilter(scope, where, params);
  if (f.taskId !== undefined) where.push(`task_id = ${params.add(f.taskId)}`);
  // An empty status list means "any status", like an absent one. `scheduled` alone is written
  // as a literal so the runs_due partial index (pending runs only) qualifies.
  if (f.status?.length === 1 && f.status[0] === 'scheduled') where.push("status = 'scheduled'");
  else if (f.status !== undefined && f.status.length > 0) where.push(`status = ANY(${params.add([...f.status])}::text[])`);
  if (f.from !== undefined) where.push(`scheduled_for >= ${params.add(f.from)}`);
  if (f.to !== undefined) where.push(`scheduled_for < ${params.add(f.to)}`);
  if (after !== null) where.push(afterKey('scheduled_for', asc ? '>' : '<', after[1], after[2], params));
  const dir = asc ? 'ASC' : 'DESC';
  const { rows } = await sql.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM runs${whereSql(where)} ORDER BY scheduled_for ${dir}, id COLLATE "C" ${dir} LIMIT ${params.add(limit + 1)}`,
    params.values,
  );
  return page(rows.map(rowToRun), limit, (r) => encodeCursor([asc ? 'ra' : 'r', r.scheduledFor, r.id]));
}

/** Audit entries, newest first. */
export async function listAudit(sql: Sql, f: AuditFilter): Promise<Page<AuditEntry>> {
  if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
  const after = f.cursor === undefined ? null : decodeCursor(f.cursor, 'a');
  if (after !== null) checkCursorText(after[2]);
  const scope = readableScope(f.namespaces);
  if (scope === null || [f.actor, f.action, f.targetId].some(unmatchable)) return { items: [], nextCursor: null };
  const limit = pageSize(f.limit);
  const where: string[] = [];
  const params = new Params();
  scopeFilter(scope, where, params);
  if (f.actor !== undefined) where.push(`actor = ${params.add(f.actor)}`);
  if (f.action !== undefined) where.push(`action = ${params.add(f.action)}`);
  if (f.targetId !== undefined) where.push(`target_id = ${params.add(f.targetId)}`);
  if (f.from !== undefined) where.push(`at >= ${params.add(f.from)}`);
  if (f.to !== undefined) where.push(`at < ${params.add(f.to)}`);
  if (after !== null) where.push(afterKey('at', '<', after[1], after[2], params));
  const { rows } = await sql.query<AuditRow>(
    `SELECT * FROM audit${whereSql(where)} ORDER BY at DESC, id COLLATE "C" DESC LIMIT ${params.add(limit + 1)}`,
    params.values,
  );
  return page(rows.map(rowToAudit), limit, (a) => encodeCursor(['a', a.at, a.id]));
}

/**
 * Runs per status and the backlog, in one statement and without scanning history: finished runs
 * from `run_counts` (summed over its shards), runs in flight from the partial indexes `runs_due`
 * (pending) and `runs_active` (leased), which hold only those rows. The backlog is the pending and
 * queued runs due at or before `now` (running ones have started).
 */
export async function countRuns(sql: Sql, namespaces: NamespaceScope, now: Millis): Promise<RunCounts> {
  const scope = readableScope(namespaces);
  if (scope === null) return { byStatus: {}, backlog: 0 };
  const params = new Params();
  const where: string[] = [];
  scopeFilter(scope, where, params);
  const inScope = where.map((w) => ` AND ${w}`).join('');
  const at = params.add(now);
  const { rows } = await sql.query<{ status: RunStatus; n: string | number; due: string | number }>(
    `SELECT status, sum(n)::bigint AS n, 0::bigint AS due FROM run_counts${whereSql(where)} GROUP BY status ` +
      `UNION ALL SELECT 'scheduled', count(*), count(*) FILTER (WHERE scheduled_for <= ${at}) ` +
      `FROM runs WHERE status = 'scheduled'${inScope} ` +
      `UNION ALL SELECT status, count(*), count(*) FILTER (WHERE status = 'queued' AND scheduled_for <= ${at}) ` +
      `FROM runs WHERE status IN ('queued', 'running')${inScope} GROUP BY status`,
    params.values,
  );
  const byStatus: Partial<Record<RunStatus, number>> = {};
  let backlog = 0;
  for (const r of rows) {
    const n = toCount(r.n);
    if (n > 0) byStatus[r.status] = n;
    backlog += toCount(r.due);
  }
  return { byStatus, backlog };
}

/**
 * Runs due in [from, to), per minute counted from `from`: one GROUP BY minute, status and lateness
 * bucket (LATENESS_BUCKET_SQL) over a range of runs_time (or a scan, for a window of most runs).
 * Pending runs (`scheduled`, `queued`) are left out: they count nowhere yet; so are minutes
 * without runs. Reads every run of the window, about 0.6 µs each (a hash aggregate).
 */
export async function countRunsPerMinute(sql: Sql, namespaces: NamespaceScope, from: Millis, to: Millis): Promise<RunMinute[]> {
  const scope = readableScope(namespaces);
  if (scope === null || !(from < to)) return [];
  const params = new Params();
  const start = params.add(from);
  const where = [`scheduled_for >= ${start}`, `scheduled_for < ${params.add(to)}`, "status <> 'scheduled'", "status <> 'queued'"];
  scopeFilter(scope, where, params);
  const { rows } = await sql.query<{ minute: string | number; status: RunStatus; bucket: number | null; n: string | number; max_late: string | number | null }>(
    // scheduled_for >= from: the integer division is a floor.
    `SELECT (scheduled_for - ${start}::bigint) / ${MINUTE_MS} AS minute, status, ${LATENESS_BUCKET_SQL} AS bucket, ` +
      `count(*) AS n, max(started_at - scheduled_for) AS max_late FROM runs${whereSql(where)} ` +
      'GROUP BY 1, 2, 3',
    params.values,
  );
  const minutes = new Map<number, RunMinute>();
  for (const r of rows) {
    const minute = Number(r.minute);
    let m = minutes.get(minute);
    if (m === undefined) minutes.set(minute, (m = { at: from + minute * MINUTE_MS, byStatus: {}, lateness: [] }));
    const n = toCount(r.n);
    m.byStatus[r.status] = (m.byStatus[r.status] ?? 0) + n;
    if (r.bucket !== null) addLateness(m.lateness, Number(r.bucket), n, toCount(r.max_late));
  }
  return [...minutes.values()].sort((a, b) => a.at - b.at);
}

/** Tasks per status in the scope. */
export async function countTasks(sql: Sql, namespaces: NamespaceScope): Promise<Partial<Record<TaskStatus, number>>> {
  const scope = readableScope(namespaces);
  if (scope === null) return {};
  const where: string[] = [];
  const params = new Params();
  scopeFilter(scope, where, params);
  const { rows } = await sql.query<{ status: TaskStatus; n: string | number }>(
    `SELECT status, count(*) AS n FROM tasks${whereSql(where)} GROUP BY status`,
    params.values,
  );
  const out: Partial<Record<TaskStatus, number>> = {};
  for (const r of rows) out[r.status] = toCount(r.n);
  return out;
}

/** A row of listRecentRuns. */
interface RecentRunRow {
  task_id: string;
  id: string;
  status: RunStatus;
  scheduled_for: number | string;
  started_at: number | string | null;
  finished_at: number | string | null;
}


/** A sort key as compared: text in byte order (SQLite's BINARY), times as they are. */
function sortKey(o: TaskOrder): string | null {
  return o.column === null ? null : o.times ? o.column : `${o.column} COLLATE "C"`;
}

/** The ORDER BY of a task sort; the time columns put NULL (no such time) last both ways. */
function orderBy(o: TaskOrder): string {
  const dir = o.desc ? 'DESC' : 'ASC';
  const key = sortKey(o);
  if (key === null) return `id COLLATE "C" ${dir}`;
  return `${key} ${dir}${o.times ? ' NULLS LAST' : ''}, id COLLATE "C" ${dir}`;
}

/** The keyset condition "after the cursor's task" in the order `o` (its value already checked by fits). */
function afterTask(o: TaskOrder, after: { value: TaskSortValue; id: string }, params: Params): string {
  const cmp = o.desc ? '<' : '>';
  if (o.column === null) return `id COLLATE "C" ${cmp} ${params.add(after.id)}`;
  // Past the last non-NULL value come the NULLs (in id order); past a NULL, only later NULLs.
  if (after.value === null) return `(${o.column} IS NULL AND id COLLATE "C" ${cmp} ${params.add(after.id)})`;
  const keyset = afterKey(sortKey(o)!, cmp, after.value, after.id, params, o.column);
  return o.times ? `(${keyset} OR ${o.column} IS NULL)` : keyset;
}

/**
 * `(key, id) cmp (value, afterId)` with the id in byte order, spelled so the leading `key cmp=
 * value` bound can limit an index range scan (a row comparison mixing collations cannot).
 * `plain` is the key without its COLLATE, for the equality (equal under any deterministic collation).
 */
function afterKey(key: string, cmp: '<' | '>', value: string | number, afterId: string, params: Params, plain = key): string {
  const v = params.add(value);
  return `(${key} ${cmp}= ${v} AND (${key} ${cmp} ${v} OR (${plain} = ${v} AND id COLLATE "C" ${cmp} ${params.add(afterId)})))`;
}

const MINUTE_MS = 60_000;

/**
 * Bucket index of a run's lateness (NULL: not started), as LATENESS_BOUNDS_MS defines it: the first
 * bucket whose bound is ≥ the lateness. For whole-ms bounds that is the number of bounds below the
 * lateness, i.e. width_bucket over the bounds + 1 (a binary search, and a far cheaper expression
 * than a CASE ladder: a third of the time on a large window, and it keeps JIT compilation away).
 * Should a bound ever not be whole, the CASE ladder says the same thing directly.
 */
const LATENESS_BUCKET_SQL = LATENESS_BOUNDS_MS.every((b) => Number.isSafeInteger(b))
  ? `width_bucket(started_at - scheduled_for, '{${LATENESS_BOUNDS_MS.map((b) => b + 1).join(',')}}'::bigint[])`
  : 'CASE WHEN started_at IS NULL THEN NULL ' +
    LATENESS_BOUNDS_MS.map((bound, i) => `WHEN started_at - scheduled_for <= ${bound} THEN ${i} `).join('') +
    `ELSE ${LATENESS_BOUNDS_MS.length} END`;

/** Merges one (status, bucket) group into a minute's lateness histogram. */
function addLateness(histogram: LatenessBucket[], bucket: number, n: number, maxMs: number): void {
  const hit = histogram.find((b) => b.bucket === bucket);
  if (hit === undefined) histogram.push({ bucket, n, maxMs });
  else {
    hit.n += n;
    hit.maxMs = Math.max(hit.maxMs, maxMs);
  }
}
