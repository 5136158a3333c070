// Every fixed SQL statement of the SQLite store, prepared once after migration and reused:
// preparing costs more than running, and the hot path runs these thousands of times a second.
import type Database from 'better-sqlite3';
import type { NewRun } from '../store.js';
import { RUN_COLUMNS, toJson, type ApiKeyRow, type NodeRow, type RunRow, type TaskRow } from '../rows.js';
import { prepareAuditAppend } from './audit-chain.js';

type Db = Database.Database;

const RUN_INSERT =
  'INSERT INTO runs (id, namespace, task_id, task_name, status, attempt, retry_of, trigger, occurrence_at, ' +
  'scheduled_for, priority, payload, idempotency_key, reason, finished_at, created_at, updated_at, created_by, updated_by) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

// Only the occurrence key may absorb a conflict; any other violation (a reused id, a NOT NULL)
// is a bug and must throw, which plain INSERT OR IGNORE would hide.
const ON_OCCURRENCE_CONFLICT = ' ON CONFLICT (task_id, idempotency_key, attempt) DO NOTHING';

/** The positional parameters of RUN_INSERT for a new run. */
export function newRunParams(r: NewRun): unknown[] {
  const skipped = r.status === 'skipped';
  return [
    r.id,
    r.namespace,
    r.taskId,
    r.taskName,
    r.status,
    r.attempt,
    r.retryOf,
    r.trigger,
    r.occurrenceAt,
    r.scheduledFor,
    r.priority,
    toJson(r.payload),
    r.idempotencyKey,
    r.reason ?? null,
    // A skipped row is final when it is written.
    skipped ? r.createdAt : null,
    r.createdAt,
    r.createdAt,
    r.createdBy,
    r.createdBy,
  ];
}


/** Prepares the store's fixed statements (the schema must exist). */
export function prepareStatements(db: Db) {
  const p = <R = unknown>(sql: string) => db.prepare<unknown[], R>(sql);
  const n = <R = unknown>(sql: string) => db.prepare<Record<string, unknown>, R>(sql);
  return {
    // ---- tasks ----
    insertTask: p<TaskRow>(
      'INSERT INTO tasks (id, namespace, name, description, kind, spec, schedule, policies, payload, status, ' +
        'fired_count, next_run_at, version, created_at, updated_at, created_by, updated_by) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 1, ?, ?, ?, ?) RETURNING *',
    ),
    taskById: p<TaskRow>('SELECT * FROM tasks WHERE id = ?'),
    taskByName: p<TaskRow>('SELECT * FROM tasks WHERE namespace = ? AND name = ?'),
    updateTaskDefinition: p<TaskRow>(
      'UPDATE tasks SET name = ?, description = ?, kind = ?, spec = ?, schedule = ?, policies = ?, payload = ?, ' +
        'status = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE id = ? RETURNING *',
    ),
    setTaskNextRun: p('UPDATE tasks SET next_run_at = ? WHERE id = ?'),
    setTaskFired: p('UPDATE tasks SET fired_count = ?, next_run_at = ? WHERE id = ?'),
    // Only the latest finish counts, whatever order completions arrive in.
    setTaskLastRun: p(
      'UPDATE tasks SET last_run_at = ?, last_run_status = ? WHERE id = ? AND (last_run_at IS NULL OR last_run_at <= ?)',
    ),
    // After a pending schedule run moved or ended: the task's next due time is its earliest one left.
    recomputeNextRun: n(
      "UPDATE tasks SET next_run_at = (SELECT MIN(scheduled_for) FROM runs WHERE task_id = @task AND status = 'scheduled' " +
        "AND trigger = 'schedule') WHERE id = @task",
    ),
    deleteTask: p('DELETE FROM tasks WHERE id = ?'),
    renameTaskRuns: p(
      "UPDATE runs SET task_name = ? WHERE task_id = ? AND status IN ('scheduled', 'queued', 'running')",
    ),

    // ---- runs ----
    insertRun: p(RUN_INSERT),
    insertRunIfNew: p(RUN_INSERT + ON_OCCURRENCE_CONFLICT),
    runById: p<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
    runByKey: p<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = ? AND idempotency_key = ? AND attempt = ?`),
    runStatus: p<{ status: string; trigger: string; task_id: string; namespace: string }>(
      'SELECT status, trigger, task_id, namespace FROM runs WHERE id = ?',
    ),
    pendingScheduleRuns: p<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = ? AND status = 'scheduled' AND trigger = 'schedule'`,
    ),
    cancelRun: p<RunRow>(
      "UPDATE runs SET status = 'cancelled', reason = ?, finished_at = ?, lease_until = NULL, " +
        `lease_epoch = lease_epoch + 1, updated_at = ?, updated_by = ? WHERE id = ? RETURNING ${RUN_COLUMNS}`,
    ),
    requestRunCancel: p<RunRow>(
      'UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, ?), updated_at = ?, updated_by = ? ' +
        `WHERE id = ? RETURNING ${RUN_COLUMNS}`,
    ),
    // A pending occurrence replaced earlier (e.g. on pause) becomes pending again when the same
    // occurrence is planned anew (resume): the occurrence key stays unique and it still fires once.
    // Occurrences a person cancelled, or that were cancelled by a deletion, stay cancelled.
    reviveCancelledRun: p<RunRow>(
      "UPDATE runs SET status = 'scheduled', scheduled_for = ?, priority = ?, payload = ?, task_name = ?, reason = NULL, " +
        'finished_at = NULL, queued_at = NULL, node = NULL, lease_until = NULL, lease_epoch = lease_epoch + 1, ' +
        "updated_at = ?, updated_by = ? WHERE id = ? AND started_at IS NULL AND (status = 'scheduled' OR " +
        `(status = 'cancelled' AND reason NOT IN ('cancelled', 'deleted'))) RETURNING ${RUN_COLUMNS}`,
    ),
    rescheduleRun: p<RunRow>(
      "UPDATE runs SET status = 'scheduled', scheduled_for = ?, queued_at = NULL, node = NULL, lease_until = NULL, " +
        `lease_epoch = lease_epoch + 1, updated_at = ?, updated_by = ? WHERE id = ? RETURNING ${RUN_COLUMNS}`,
    ),
    cancelTaskRuns: p<RunRow>(
      "UPDATE runs SET status = 'cancelled', reason = ?, finished_at = ?, lease_until = NULL, " +
        'lease_epoch = lease_epoch + 1, updated_at = ?, updated_by = ? ' +
        `WHERE task_id = ? AND status IN ('scheduled', 'queued') RETURNING ${RUN_COLUMNS}`,
    ),
    requestTaskRunsCancel: p<RunRow>(
      'UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, ?), updated_at = ?, updated_by = ? ' +
        `WHERE task_id = ? AND status = 'running' RETURNING ${RUN_COLUMNS}`,
    ),
    runLogs: p<{ at: number; level: string; message: string }>(
      'SELECT at, level, message FROM run_logs WHERE run_id = ? ORDER BY id',
    ),
    insertLog: p('INSERT INTO run_logs (run_id, at, level, message, created_by) VALUES (?, ?, ?, ?, ?)'),
    runSamples: p<{ at: number; cpu_ms: number; rss_bytes: number; disk_write_bytes: number }>(
      'SELECT at, cpu_ms, rss_bytes, disk_write_bytes FROM run_samples WHERE run_id = ? ORDER BY at, rowid',
    ),
    insertSample: p('INSERT INTO run_samples (run_id, at, cpu_ms, rss_bytes, disk_write_bytes) VALUES (?, ?, ?, ?, ?)'),
    runNode: p<string | null>('SELECT node FROM runs WHERE id = ?').pluck(true),
    runOwner: p<{ task_id: string; namespace: string }>('SELECT task_id, namespace FROM runs WHERE id = ?'),
    bumpRunCount: p(
      'INSERT INTO run_counts (namespace, status, n) VALUES (?, ?, ?) ON CONFLICT (namespace, status) DO UPDATE SET n = n + excluded.n',
    ),

    // ---- runs: scheduler side ----
    claimSelect: n<string>(claimSelectSql(DUE_RUNS_SQL)).pluck(true),
    claimSelectOfNamespace: n<string>(claimSelectSql(DUE_RUNS_OF_NAMESPACE_SQL)).pluck(true),
    nextPendingNamespace: p<string>(NEXT_PENDING_NAMESPACE_SQL).pluck(true),
    claimUpdate: n(CLAIM_UPDATE_SQL),
    claimStart: n(CLAIM_START_SQL),
    runPayloadByRowid: p<string | null>('SELECT payload FROM runs WHERE rowid = ?').pluck(true),
    claimOrphans: n<RunRow>(
      'UPDATE runs SET node = @node, lease_until = @leaseUntil, lease_epoch = lease_epoch + 1, updated_at = @now, ' +
        "updated_by = @node WHERE id IN (SELECT id FROM runs WHERE status IN ('queued', 'running') " +
        `AND lease_until < @now ORDER BY lease_until LIMIT @limit) RETURNING ${RUN_COLUMNS}`,
    ),
    skipClaimed: p(
      "UPDATE runs SET status = 'skipped', reason = ?, finished_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
    ),
    failClaimed: p(
      "UPDATE runs SET status = 'failed', reason = ?, error = ?, finished_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
    ),
    cancelDeleted: p(
      "UPDATE runs SET status = 'cancelled', reason = 'deleted', finished_at = ?, lease_until = NULL, updated_at = ? " +
        'WHERE id = ?',
    ),
    markRunning: p(
      "UPDATE runs SET status = 'running', started_at = ?, updated_at = ? WHERE id = ? AND lease_epoch = ? AND status = 'queued'",
    ),
    completeRun: p(
      'UPDATE runs SET status = ?, finished_at = ?, started_at = coalesce(?, started_at), result = ?, error = ?, ' +
        'reason = ?, logs_truncated = ?, cpu_ms = ?, peak_rss_bytes = ?, disk_write_bytes = ?, lease_until = NULL, ' +
        "updated_at = ? WHERE id = ? AND lease_epoch = ? AND (status = 'queued' OR status = 'running')",
    ),
    // Both lists are IN subqueries, which SQLite builds into an index once: the ids drive a
    // lookup by primary key, the "id epoch" pairs are probed. (A join with json_each was planned
    // as a scan of the in-flight runs per list entry: 24 s for 20,000 held runs.)
    extendLeases: n(
      'UPDATE runs SET lease_until = @leaseUntil WHERE id IN (SELECT value ->> 0 FROM json_each(@runs)) ' +
        "AND (id || ' ' || lease_epoch) IN (SELECT (value ->> 0) || ' ' || (value ->> 1) FROM json_each(@runs)) " +
        "AND node = @node AND status IN ('queued', 'running')",
    ),
    releaseRun: p(
      "UPDATE runs SET status = 'scheduled', queued_at = NULL, started_at = NULL, node = NULL, lease_until = NULL, " +
        'lease_epoch = lease_epoch + 1, updated_at = ?, updated_by = ? ' +
        "WHERE id = ? AND lease_epoch = ? AND node = ? AND (status = 'queued' OR status = 'running') " +
        'AND cancel_requested_at IS NULL',
    ),
    // A run someone asked to cancel is not handed back to run again: releasing it ends it.
    releaseCancelRequested: p(
      "UPDATE runs SET status = 'cancelled', reason = 'cancelled', finished_at = ?, lease_until = NULL, " +
        'lease_epoch = lease_epoch + 1, updated_at = ?, updated_by = ? ' +
        "WHERE id = ? AND lease_epoch = ? AND node = ? AND (status = 'queued' OR status = 'running') " +
        'AND cancel_requested_at IS NOT NULL',
    ),
    cancelRequests: p<{ id: string }>(
      "SELECT id FROM runs WHERE node = ? AND status = 'running' AND cancel_requested_at IS NOT NULL",
    ),

    // ---- keys, audit, nodes ----
    insertAudit: prepareAuditAppend(db),
    insertApiKey: p<ApiKeyRow>(
      'INSERT INTO api_keys (id, name, role, namespaces, prefix, hash, last_used_at, revoked_at, created_at, updated_at, ' +
        'created_by, updated_by, expires_at, scopes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
    ),
    apiKeyByHash: p<ApiKeyRow>('SELECT * FROM api_keys WHERE hash = ?'),
    apiKeyById: p<ApiKeyRow>('SELECT * FROM api_keys WHERE id = ?'),
    // The newest use wins `last_used_from`; a late write of an older use moves nothing back.
    recordApiKeyUse: p(
      'UPDATE api_keys SET last_used_from = CASE WHEN last_used_at IS NULL OR last_used_at <= ? THEN ? ELSE last_used_from END, ' +
        'last_used_at = max(coalesce(last_used_at, 0), ?), addresses = ? WHERE id = ?',
    ),
    retireApiKey: p<ApiKeyRow>(
      'UPDATE api_keys SET expires_at = min(coalesce(expires_at, ?), ?), replaced_by = ?, updated_at = ?, updated_by = ? WHERE id = ? RETURNING *',
    ),
    listApiKeys: p<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, id'),
    revokeApiKey: p<ApiKeyRow>(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?), updated_at = ?, updated_by = ? WHERE id = ? RETURNING *',
    ),
    countApiKeys: p<{ n: number }>('SELECT count(*) AS n FROM api_keys'),
    // Refreshes this instance's row, or takes over an id whose holder stopped heartbeating; a row
    // of another live instance is left alone (0 changes), which the store reports as taken.
    upsertNode: n(
      'INSERT INTO nodes (id, host, pid, version, roles, started_at, heartbeat_at, instance_id, runs_in_flight, created_by, updated_by) ' +
        'VALUES (@id, @host, @pid, @version, @roles, @startedAt, @heartbeatAt, @instanceId, @runsInFlight, @id, @id) ' +
        'ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, ' +
        'version = excluded.version, roles = excluded.roles, started_at = excluded.started_at, ' +
        'heartbeat_at = excluded.heartbeat_at, instance_id = excluded.instance_id, runs_in_flight = excluded.runs_in_flight, ' +
        'updated_by = excluded.updated_by WHERE nodes.instance_id = excluded.instance_id OR nodes.heartbeat_at < @aliveSince',
    ),
    removeNode: p('DELETE FROM nodes WHERE id = ? AND instance_id = ?'),
    requestCancelOthers: p<{ id: string }>(
      'UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, ?), updated_at = ?, updated_by = ? ' +
        "WHERE task_id = ? AND status = 'running' AND id <> ? RETURNING id",
    ),
    listNodes: p<NodeRow>('SELECT * FROM nodes WHERE heartbeat_at >= ? ORDER BY id'),
  };
}

/** The prepared statements of one database. */
export type Statements = ReturnType<typeof prepareStatements>;

/*
 * THE CLAIM. Two statements inside the group-commit transaction. The first picks the due
 * `scheduled` runs in due order and returns them as one JSON document; the second moves exactly
 * those rows to `queued` under a lease for this node and bumps their fencing epoch. SQLite has
 * one writer and this process holds the database exclusively, so no other claim can interleave
 * between the two: every run is claimed by exactly one holder, once.
 *
 * - Due order: `runs_due` is a partial index (scheduled_for, priority DESC, id) over pending rows
 *   only, so the scan reads just the rows it claims and needs no sort step.
 * - Paused tasks: their `schedule` runs stay pending (resume picks them up); manual/api/retry runs
 *   of a paused task are explicit requests and are claimed. The task lookup runs only for schedule
 *   runs (the OR short-circuits), and a paused task keeps at most its one pending occurrence in
 *   front of the scan, so skipping them stays cheap.
 * - Why JSON and not rows: better-sqlite3 builds a JS object per row at ~5 µs for the 29 run
 *   columns, and `UPDATE … RETURNING` adds ~1.7 µs per row on top; one json_group_array string
 *   parsed by V8 costs ~1 µs per run. Together the SQL side of the claim went from ~9 µs per run
 *   to ~3.5 µs.
 * - Numbers (`node --import tsx bench/store-bench.ts`, 2 cores shared with other work,
 *   synchronous=FULL, batches of 5,000 from 100,000 due runs): claims alone ~170,000 runs/s
 *   including their commit; the whole claim → running → complete cycle 62,000–80,000 runs/s,
 *   twice the 30,000/s the scheduler as a whole must reach. A schedule occurrence also pays for
 *   its plan and the insert of the next occurrence (~10 µs more), about 35,000 claims/s.
 */
/** The due-run selection of the claim (exported so a test can pin its query plan). */
const dueRunsSql = (where: string): string =>
  `SELECT r.rowid AS rid, r.* FROM runs AS r WHERE r.status = 'scheduled' ${where}AND r.scheduled_for <= @horizon ` +
  "AND (r.trigger <> 'schedule' OR NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.id = r.task_id AND t.status = 'paused')) " +
  'ORDER BY r.scheduled_for, r.priority DESC, r.id LIMIT @limit';
export const DUE_RUNS_SQL = dueRunsSql('');
/** The first namespace after `?` with pending runs (one seek of runs_due_namespace). */
export const NEXT_PENDING_NAMESPACE_SQL = "SELECT namespace FROM runs WHERE status = 'scheduled' AND namespace > ? ORDER BY namespace LIMIT 1";
/** The due runs of one namespace (through runs_due_namespace): the claim's fair share. */
export const DUE_RUNS_OF_NAMESPACE_SQL = dueRunsSql('AND r.namespace = @namespace ');
// Payloads stay out of the document (only whether there is one): 5,000 large payloads would
// make one string past SQLite's 1 GB limit, and most runs have none. The claim reads the few.
const claimSelectSql = (due: string): string =>
  `SELECT json_group_array(json_array(rid, ${RUN_COLUMNS.replace('payload,', 'payload IS NOT NULL,')})) FROM (${due})`;
const CLAIM_UPDATE_SQL =
  "UPDATE runs SET status = 'queued', queued_at = @now, node = @node, lease_until = @leaseUntil, " +
  'lease_epoch = lease_epoch + 1, updated_at = @now, updated_by = @node ' +
  "WHERE rowid IN (SELECT value FROM json_each(@rowids)) AND status = 'scheduled'";
/** The claim of runs it starts at once (ClaimOptions.startDue): `running`, started at the claim. */
const CLAIM_START_SQL =
  "UPDATE runs SET status = 'running', queued_at = @now, started_at = @now, node = @node, lease_until = @leaseUntil, " +
  'lease_epoch = lease_epoch + 1, updated_at = @now, updated_by = @node ' +
  "WHERE rowid IN (SELECT value FROM json_each(@rowids)) AND status = 'scheduled'";
