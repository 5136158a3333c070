// Filtered, paginated reads. Their SQL depends on which filters are present, so statements are
// built per filter combination and cached (a handful of shapes in practice).
import type Database from 'better-sqlite3';
import { SundialError } from '../../core/errors.js';
import { LATENESS_BOUNDS_MS, type LatenessBucket } from '../../core/lateness.js';
import type { AuditEntry, Millis, RunStatus, Run, Task, TaskStatus } from '../../core/types.js';
import type { AuditFilter, NamespaceScope, Page, RecentRun, RunCounts, RunFilter, RunMinute, TaskFilter, TaskSort } from '../store.js';
import { decodeCursor, decodeTaskCursor, encodeCursor, type TaskSortValue } from '../cursor.js';
import { RUN_COLUMNS, rowToAudit, rowToRun, rowToTask, type AuditRow, type RunRow, type TaskRow } from '../rows.js';
import { TASK_ORDERS, fits, type TaskOrder } from '../task-orders.js';

/** The name of the SQL function used for case-insensitive substring search. */
const CONTAINS_CI = 'sundial_contains_ci';

/** Builds and caches the statements of filtered reads. */
export class Queries {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Database.Statement<Record<string, unknown>, unknown>>();

  constructor(db: Database.Database) {
    this.#db = db;
    // SQLite's LIKE and lower() fold ASCII only; JavaScript folds all of Unicode ("Ä" ~ "ä").
    db.function(CONTAINS_CI, { deterministic: true }, (text: unknown, needle: unknown) =>
      typeof text === 'string' && typeof needle === 'string' && text.toLowerCase().includes(needle) ? 1 : 0,
    );
  }

  /**
   * Tasks in the filter's sort order (default: id order, i.e. creation order: ids are UUIDv7).
   * The time sorts have no index (next_run_at and last_run_at change on every run, and indexing
   * them would cost the scheduler's hot path), so they scan the scope and keep the top page:
   * about 25 ms per 100,000 tasks. `name` reads the tasks_name index, see nameColumn.
   */
  listTasks(f: TaskFilter): Page<Task> {
    if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
    const sort = f.sort ?? 'createdAt';
    const order = TASK_ORDERS[sort];
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: pageSize(f.limit) + 1 };
    scopeFilter(f.namespaces, where, params);
    if (f.status !== undefined) add(where, params, 'status = @status', 'status', f.status);
    if (f.kind !== undefined) add(where, params, 'kind = @kind', 'kind', f.kind);
    if (f.schedule === 'none') where.push('schedule IS NULL');
    else if (f.schedule !== undefined) add(where, params, "json_extract(schedule, '$.type') = @scheduleType", 'scheduleType', f.schedule);
    if (f.q !== undefined && f.q !== '') {
      add(where, params, `(${CONTAINS_CI}(name, @q) OR ${CONTAINS_CI}(description, @q))`, 'q', f.q.toLowerCase());
    }
    const column = order.column === 'name' ? nameColumn(f) : order.column;
    if (f.cursor !== undefined) where.push(afterTask(order, column, decodeTaskCursor(f.cursor, sort), sort, params));
    const rows = this.#all<TaskRow>(`SELECT * FROM tasks${whereSql(where)} ORDER BY ${orderBy(order, column)} LIMIT @limit`, params);
    return page(rows.map((r) => rowToTask(r)), pageSize(f.limit), (t) =>
      encodeCursor(sort === 'createdAt' ? ['t', t.id] : ['ts', sort, order.value(t), t.id]),
    );
  }

  /**
   * The last `perTask` finished runs of each task, newest due first: one backward seek on
   * runs_task_time per task, stepping over the few pending runs at the end of its history.
   */
  listRecentRuns(taskIds: readonly string[], perTask: number): Map<string, RecentRun[]> {
    const out = new Map<string, RecentRun[]>();
    for (const taskId of taskIds) {
      const rows = this.#all<RecentRunRow>(
        'SELECT id, status, scheduled_for, started_at, finished_at FROM runs INDEXED BY runs_task_time ' +
          "WHERE task_id = @taskId AND status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped') " +
          'ORDER BY scheduled_for DESC, id DESC LIMIT @n',
        { taskId, n: pageSize(perTask) },
      );
      out.set(
        taskId,
        rows.map((r) => ({ id: r.id, status: r.status, scheduledFor: r.scheduled_for, startedAt: r.started_at, finishedAt: r.finished_at })),
      );
    }
    return out;
  }

  /** Runs by due time: newest first (`desc`, the default) or oldest first (`asc`). */
  listRuns(f: RunFilter): Page<Run> {
    if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
    const asc = f.order === 'asc';
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: pageSize(f.limit) + 1 };
    scopeFilter(f.namespaces, where, params);
    if (f.taskId !== undefined) add(where, params, 'task_id = @taskId', 'taskId', f.taskId);
    const onlyScheduled = f.status?.length === 1 && f.status[0] === 'scheduled';
    // An empty status list means "any status", like an absent one. `scheduled` alone is written
    // as a literal so the runs_due partial index (pending runs only) qualifies.
    if (onlyScheduled) where.push("status = 'scheduled'");
    else if (f.status !== undefined && f.status.length > 0) {
      add(where, params, 'status IN (SELECT value FROM json_each(@statuses))', 'statuses', JSON.stringify(f.status));
    }
    if (f.from !== undefined) add(where, params, 'scheduled_for >= @from', 'from', f.from);
    if (f.to !== undefined) add(where, params, 'scheduled_for < @to', 'to', f.to);
    if (f.cursor !== undefined) {
      const [, sf, id] = decodeCursor(f.cursor, asc ? 'ra' : 'r');
      where.push(`(scheduled_for, id) ${asc ? '>' : '<'} (@afterAt, @afterId)`);
      params.afterAt = sf;
      params.afterId = id;
    }
    // Pending runs of all tasks: left alone, the planner may walk runs_time through all history
    // (any namespace filter tips it that way) instead of the small runs_due; a task's own are
    // better read from runs_task_time.
    const index = onlyScheduled && f.taskId === undefined ? ' INDEXED BY runs_due' : '';
    const dir = asc ? 'ASC' : 'DESC';
    const rows = this.#all<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs${index}${whereSql(where)} ORDER BY scheduled_for ${dir}, id ${dir} LIMIT @limit`,
      params,
    );
    return page(rows.map(rowToRun), pageSize(f.limit), (r) => encodeCursor([asc ? 'ra' : 'r', r.scheduledFor, r.id]));
  }

  /** Audit entries, newest first. */
  listAudit(f: AuditFilter): Page<AuditEntry> {
    if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: pageSize(f.limit) + 1 };
    scopeFilter(f.namespaces, where, params);
    if (f.actor !== undefined) add(where, params, 'actor = @actor', 'actor', f.actor);
    if (f.action !== undefined) add(where, params, 'action = @action', 'action', f.action);
    if (f.targetId !== undefined) add(where, params, 'target_id = @targetId', 'targetId', f.targetId);
    if (f.from !== undefined) add(where, params, 'at >= @from', 'from', f.from);
    if (f.to !== undefined) add(where, params, 'at < @to', 'to', f.to);
    if (f.cursor !== undefined) {
      const [, at, id] = decodeCursor(f.cursor, 'a');
      where.push('(at, id) < (@afterAt, @afterId)');
      params.afterAt = at;
      params.afterId = id;
    }
    const rows = this.#all<AuditRow>(`SELECT * FROM audit${whereSql(where)} ORDER BY at DESC, id DESC LIMIT @limit`, params);
    return page(rows.map(rowToAudit), pageSize(f.limit), (a) => encodeCursor(['a', a.at, a.id]));
  }

  /** Tasks per status in the scope. */
  countTasks(namespaces: NamespaceScope): Partial<Record<TaskStatus, number>> {
    if (isEmptyScope(namespaces)) return {};
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    scopeFilter(namespaces, where, params);
    const rows = this.#all<{ status: TaskStatus; n: number }>(`SELECT status, count(*) AS n FROM tasks${whereSql(where)} GROUP BY status`, params);
    const out: Partial<Record<TaskStatus, number>> = {};
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  /**
   * Runs per status and the backlog, without scanning history: finished runs come from the
   * `run_counts` table (run-counts.ts), runs in flight from the partial indexes `runs_due`
   * (pending) and `runs_active` (leased), which hold only those rows.
   */
  countRuns(namespaces: NamespaceScope, now: Millis): RunCounts {
    if (isEmptyScope(namespaces)) return { byStatus: {}, backlog: 0 };
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    scopeFilter(namespaces, where, params);
    const scope = where.length > 0 ? ` AND ${where.join(' AND ')}` : '';
    const rows = this.#all<{ status: RunStatus; n: number }>(
      `SELECT status, sum(n) AS n FROM run_counts${whereSql(where)} GROUP BY status ` +
        `UNION ALL SELECT 'scheduled', count(*) FROM runs INDEXED BY runs_due WHERE status = 'scheduled'${scope} ` +
        `UNION ALL SELECT status, count(*) FROM runs INDEXED BY runs_active WHERE status IN ('queued', 'running')${scope} GROUP BY status`,
      params,
    );
    const byStatus: Partial<Record<RunStatus, number>> = {};
    for (const r of rows) if (r.n > 0) byStatus[r.status] = r.n;
    const backlog = this.#all<{ n: number }>(
      `SELECT (SELECT count(*) FROM runs INDEXED BY runs_due WHERE status = 'scheduled' AND scheduled_for <= @now${scope}) + ` +
        // INDEXED BY: left alone, the planner reads runs_time, i.e. all history due before now.
        `(SELECT count(*) FROM runs INDEXED BY runs_active WHERE status IN ('queued', 'running') AND status = 'queued' ` +
        `AND scheduled_for <= @now${scope}) AS n`,
      { ...params, now },
    );
    return { byStatus, backlog: backlog[0]?.n ?? 0 };
  }

  /**
   * Runs due in [sliceFrom, sliceTo), per minute counted from `from`: one GROUP BY minute, status
   * and lateness bucket (a CASE ladder over LATENESS_BOUNDS_MS) on a runs_time range scan. Pending
   * runs are left out: they count nowhere yet. About 1 µs per run in the slice.
   */
  countRunsPerMinute(namespaces: NamespaceScope, from: Millis, sliceFrom: Millis, sliceTo: Millis): RunMinute[] {
    if (isEmptyScope(namespaces)) return [];
    const where: string[] = ["status <> 'scheduled'", "status <> 'queued'"];
    const params: Record<string, unknown> = { from, sliceFrom, sliceTo };
    scopeFilter(namespaces, where, params);
    const rows = this.#all<{ minute: number; status: RunStatus; bucket: number | null; n: number; max_late: number | null }>(
      // better-sqlite3 binds JS numbers as REAL: the cast keeps the division an integer one.
      `SELECT (scheduled_for - CAST(@from AS INTEGER)) / ${MINUTE_MS} AS minute, status, ${LATENESS_BUCKET_SQL} AS bucket, count(*) AS n, ` +
        // INDEXED BY: the window is a range of runs_time; no other index may stand in for it.
        'max(started_at - scheduled_for) AS max_late FROM runs INDEXED BY runs_time ' +
        `WHERE scheduled_for >= @sliceFrom AND scheduled_for < @sliceTo AND ${where.join(' AND ')} GROUP BY minute, status, bucket`,
      params,
    );
    const minutes = new Map<number, RunMinute>();
    for (const r of rows) {
      let m = minutes.get(r.minute);
      if (m === undefined) minutes.set(r.minute, (m = { at: from + r.minute * MINUTE_MS, byStatus: {}, lateness: [] }));
      m.byStatus[r.status] = (m.byStatus[r.status] ?? 0) + r.n;
      if (r.bucket !== null) addLateness(m.lateness, r.bucket, r.n, r.max_late ?? 0);
    }
    return [...minutes.values()].sort((a, b) => a.at - b.at);
  }

  #all<R>(sql: string, params: Record<string, unknown>): R[] {
    let stmt = this.#cache.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare<Record<string, unknown>, unknown>(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt.all(params) as R[];
  }
}

/** A row of listRecentRuns. */
interface RecentRunRow {
  id: string;
  status: RunStatus;
  scheduled_for: number;
  started_at: number | null;
  finished_at: number | null;
}


/** The ORDER BY of a task sort; the time columns put NULL (no such time) last both ways. */
function orderBy(o: TaskOrder, column: string | null): string {
  const dir = o.desc ? 'DESC' : 'ASC';
  if (column === null) return `id ${dir}`;
  return `${column} ${dir}${o.times ? ' NULLS LAST' : ''}, id ${dir}`;
}

/**
 * How a name sort names its column. Walking tasks_name (or tasks_namespace_name for one
 * namespace) in order is instant when most tasks qualify, but when a filter or a list of
 * namespaces keeps few of them, it visits every task in index order, a random read each: 65–140
 * ms per 100,000 tasks. So only an unfiltered listing of all or one namespace walks the index;
 * any other condition gets `+name`, which SQLite cannot serve from an index, and a scan with a
 * top-page sort (15–35 ms per 100,000 tasks whatever matches, plus what `q` costs).
 */
function nameColumn(f: TaskFilter): string {
  const filtered = f.status !== undefined || f.kind !== undefined || f.schedule !== undefined || (f.q !== undefined && f.q !== '');
  const allOrOne = f.namespaces === '*' || f.namespaces.length === 1;
  return !filtered && allOrOne ? 'name' : '+name';
}

/** The keyset condition "after the cursor's task" in the order `o` (params filled in). */
function afterTask(
  o: TaskOrder,
  column: string | null,
  after: { value: TaskSortValue; id: string },
  sort: TaskSort,
  params: Record<string, unknown>,
): string {
  if (!fits(o, after.value)) throw new SundialError('invalid_cursor', `The pagination cursor does not fit sort=${sort}`);
  const cmp = o.desc ? '<' : '>';
  params.afterId = after.id;
  if (column === null) return `id ${cmp} @afterId`;
  // Past the last non-NULL value come the NULLs (in id order); past a NULL, only later NULLs.
  if (after.value === null) return `(${column} IS NULL AND id ${cmp} @afterId)`;
  params.afterValue = after.value;
  const rest = o.times ? ` OR ${column} IS NULL` : '';
  return `((${column}, id) ${cmp} (@afterValue, @afterId)${rest})`;
}

const MINUTE_MS = 60_000;

/** Bucket index of a run's lateness (NULL: not started): a CASE ladder over LATENESS_BOUNDS_MS. */
const LATENESS_BUCKET_SQL =
  'CASE WHEN started_at IS NULL THEN NULL ' +
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

function isEmptyScope(scope: NamespaceScope): boolean {
  return scope !== '*' && scope.length === 0;
}

function scopeFilter(scope: NamespaceScope, where: string[], params: Record<string, unknown>): void {
  if (scope === '*') return;
  if (scope.length === 1) add(where, params, 'namespace = @ns', 'ns', scope[0]);
  else add(where, params, 'namespace IN (SELECT value FROM json_each(@nsList))', 'nsList', JSON.stringify(scope));
}

function add(where: string[], params: Record<string, unknown>, clause: string, name: string, value: unknown): void {
  where.push(clause);
  params[name] = value;
}

function whereSql(where: string[]): string {
  return where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
}

/** The API validates limits; this only keeps a bad one from breaking the paging arithmetic. */
function pageSize(limit: number): number {
  return Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;
}

/** Trims the one extra row fetched to learn whether another page exists. */
function page<T>(items: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  if (items.length <= limit) return { items, nextCursor: null };
  items.length = limit;
  return { items, nextCursor: cursorOf(items[limit - 1]!) };
}
