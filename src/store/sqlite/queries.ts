// Filtered, paginated reads. Their SQL depends on which filters are present, so statements are
// built per filter combination and cached (a handful of shapes in practice).
import type Database from 'better-sqlite3';
import type { AuditEntry, Millis, RunStatus, Run, Task, TaskStatus } from '../../core/types.js';
import type { AuditFilter, NamespaceScope, Page, RunCounts, RunFilter, TaskFilter } from '../store.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { RUN_COLUMNS, rowToAudit, rowToRun, rowToTask, type AuditRow, type RunRow, type TaskRow } from './row-mappers.js';

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

  /** Tasks in id order (creation order: ids are UUIDv7). */
  listTasks(f: TaskFilter): Page<Task> {
    if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: pageSize(f.limit) + 1 };
    scopeFilter(f.namespaces, where, params);
    if (f.status !== undefined) add(where, params, 'status = @status', 'status', f.status);
    if (f.kind !== undefined) add(where, params, 'kind = @kind', 'kind', f.kind);
    if (f.q !== undefined && f.q !== '') {
      add(where, params, `(${CONTAINS_CI}(name, @q) OR ${CONTAINS_CI}(description, @q))`, 'q', f.q.toLowerCase());
    }
    if (f.cursor !== undefined) add(where, params, 'id > @after', 'after', decodeCursor(f.cursor, 't')[1]);
    const rows = this.#all<TaskRow>(`SELECT * FROM tasks${whereSql(where)} ORDER BY id LIMIT @limit`, params);
    return page(rows.map((r) => rowToTask(r)), pageSize(f.limit), (t) => encodeCursor(['t', t.id]));
  }

  /** Runs, newest due first. */
  listRuns(f: RunFilter): Page<Run> {
    if (isEmptyScope(f.namespaces)) return { items: [], nextCursor: null };
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: pageSize(f.limit) + 1 };
    scopeFilter(f.namespaces, where, params);
    if (f.taskId !== undefined) add(where, params, 'task_id = @taskId', 'taskId', f.taskId);
    // An empty status list means "any status", like an absent one.
    if (f.status !== undefined && f.status.length > 0) {
      add(where, params, 'status IN (SELECT value FROM json_each(@statuses))', 'statuses', JSON.stringify(f.status));
    }
    if (f.from !== undefined) add(where, params, 'scheduled_for >= @from', 'from', f.from);
    if (f.to !== undefined) add(where, params, 'scheduled_for < @to', 'to', f.to);
    if (f.cursor !== undefined) {
      const [, sf, id] = decodeCursor(f.cursor, 'r');
      where.push('(scheduled_for, id) < (@afterAt, @afterId)');
      params.afterAt = sf;
      params.afterId = id;
    }
    const rows = this.#all<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs${whereSql(where)} ORDER BY scheduled_for DESC, id DESC LIMIT @limit`,
      params,
    );
    return page(rows.map(rowToRun), pageSize(f.limit), (r) => encodeCursor(['r', r.scheduledFor, r.id]));
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

  /**
   * Runs per status and the backlog, without scanning history: finished runs come from the
   * `run_counts` table (run-counts.ts), runs in flight from the partial indexes `runs_due`
   * (pending) and `runs_active` (leased), which hold only those rows.
   */
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

  #all<R>(sql: string, params: Record<string, unknown>): R[] {
    let stmt = this.#cache.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare<Record<string, unknown>, unknown>(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt.all(params) as R[];
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
