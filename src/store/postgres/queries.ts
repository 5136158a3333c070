// Filtered, paginated reads of the PostgreSQL store (the counterpart of ../sqlite/queries.ts).
// STUB: the signatures are fixed; the bodies are being written.
import type { AuditEntry, Millis, Task, TaskStatus, Run } from '../../core/types.js';
import type { AuditFilter, NamespaceScope, Page, RecentRun, RunCounts, RunFilter, RunMinute, TaskFilter } from '../store.js';
import type { Sql } from './sql.js';

/** Tasks in the filter's sort order (same contract and cursors as the SQLite store). */
export async function listTasks(_sql: Sql, _f: TaskFilter): Promise<Page<Task>> {
  throw new Error('not built yet');
}

/** The last `perTask` finished runs of each task, newest due first. */
export async function listRecentRuns(_sql: Sql, _taskIds: readonly string[], _perTask: number): Promise<Map<string, RecentRun[]>> {
  throw new Error('not built yet');
}

/** Runs by due time, `desc` (default) or `asc`. */
export async function listRuns(_sql: Sql, _f: RunFilter): Promise<Page<Run>> {
  throw new Error('not built yet');
}

/** Audit entries, newest first. */
export async function listAudit(_sql: Sql, _f: AuditFilter): Promise<Page<AuditEntry>> {
  throw new Error('not built yet');
}

/** Runs by status (finished ones from the sharded run_counts) and the backlog. */
export async function countRuns(_sql: Sql, _namespaces: NamespaceScope, _now: Millis): Promise<RunCounts> {
  throw new Error('not built yet');
}

/** Runs due in [from, to) per minute, by status and lateness bucket. */
export async function countRunsPerMinute(_sql: Sql, _namespaces: NamespaceScope, _from: Millis, _to: Millis): Promise<RunMinute[]> {
  throw new Error('not built yet');
}

/** Tasks per status in the scope. */
export async function countTasks(_sql: Sql, _namespaces: NamespaceScope): Promise<Partial<Record<TaskStatus, number>>> {
  throw new Error('not built yet');
}
