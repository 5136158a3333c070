// Every fixed SQL statement of the PostgreSQL store, as named prepared statements: each
// connection parses and plans one once and then only binds values, which matters on the hot path
// (a claim of 5,000 runs is a handful of statements, each run many thousands of times a day).
// Batches travel as arrays (`unnest($1::text[], …)`), so a statement's text never depends on how
// many rows it carries and one round trip writes a whole batch.
//
// Lock order, everywhere: rows of `runs` first (in id order), then `tasks` (in id order), then
// the audit chain's head (`insertAudit`), then `run_counts` (in key order), then the advisory
// locks of concurrency keys (in hash order). The head comes as late as it can, just before the
// counts: those are bumped by every run transition of a node's shard, and a write that held them
// while it waited for the cluster-wide head would stall that node's scheduler behind every other
// node's audited writes (the cluster end-to-end test timed out that way).
// Keeping one order means two transactions wait for each other instead of deadlocking. How:
// - claims, orphan takeovers and lease renewals lock runs with SKIP LOCKED: they never wait;
// - other statements that change several runs lock them in id order first (lockRunsInOrder);
// - a write that touches a task and its runs locks the runs first; an update of a task, which
//   must hold the task row while it replaces the pending occurrence, locks its runs before the
//   row and again, without waiting, after it (tasks.ts);
// - run inserts skip keys that already have a row rather than wait on it (insertRunsIfNew).
// The stress runs behind test/store/postgres-store.test.ts ("survives churn") log no deadlock.
import type pg from 'pg';
import { RUN_COLUMNS, toJson, type ApiKeyRow, type NodeRow, type RunRow, type TaskRow } from '../rows.js';
import type { NewRun } from '../store.js';
import { AUDIT_APPEND_SQL } from './audit-chain.js';

/** Anything that runs a query: the pool, or the client of a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** A named statement: prepared on each connection the first time it runs there. */
export class Statement<R extends pg.QueryResultRow = pg.QueryResultRow> {
  constructor(
    readonly name: string,
    readonly text: string,
  ) {}

  /** Runs the statement on `c` with positional `values`. */
  run(c: Queryable, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return c.query<R>({ name: this.name, text: this.text, values });
  }
}

const stmt = <R extends pg.QueryResultRow = pg.QueryResultRow>(name: string, text: string) =>
  new Statement<R>(`sundial_${name}`, text);

/** RUN_COLUMNS qualified by the `r` alias (for UPDATE … FROM, where bare names could be ambiguous). */
const R_COLUMNS = RUN_COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ');

/**
 * A CTE `l` that locks the runs matching `where` in id order, for an UPDATE that then adds
 * AFTER_LOCKS to its WHERE. Every statement that changes several runs it did not lock before
 * goes through it: two transactions locking overlapping sets of runs in one order wait for each
 * other, in different orders they can deadlock (an UPDATE … FROM locks in whatever order its
 * join runs).
 */
const lockRunsInOrder = (where: string) => `WITH l AS MATERIALIZED (SELECT id FROM runs WHERE ${where} ORDER BY id FOR UPDATE) `;
/**
 * Mentions no column, so PostgreSQL evaluates it once, before the UPDATE reads a row (a one-time
 * filter): all of `l`'s locks are taken first, and the UPDATE never joins `l`, whose row count
 * the planner cannot know (a nested loop over it and 5,000 array rows took seconds).
 */
const AFTER_LOCKS = '(SELECT count(*) FROM l) >= 0';

/**
 * `<col> IN ('queued', 'running')` for statements that find their runs by id. Written as an
 * expression the planner cannot match to the predicate of runs_lease: otherwise a generic plan
 * (named statements switch to one after five runs) walks that whole partial index, every live
 * and not yet vacuumed entry of every in-flight run, and filters it by id, instead of looking
 * the ids up in the primary key. At 100,000 runs a minute that read ~13 million index entries a
 * second and was most of PostgreSQL's CPU (docs/benchmarks.md).
 */
const inFlight = (col: string) => `(${col} || '') IN ('queued', 'running')`;
/** `<col> = 'queued'`, for the same reason (it implies runs_lease's predicate as well). */
const isQueued = (col: string) => `(${col} || '') = 'queued'`;

// ---- runs: inserts ----

const RUN_INSERT_COLUMNS =
  'id, namespace, task_id, task_name, status, attempt, retry_of, trigger, occurrence_at, scheduled_for, priority, ' +
  'payload, idempotency_key, reason, finished_at, created_at, updated_at, created_by, updated_by';

/** The values of `insertRun` / `insertRunIfNew` for a new run. */
export function newRunValues(r: NewRun): unknown[] {
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
    r.createdAt,
    r.createdBy,
  ];
}

/** One run; a conflict on any key throws (the caller knows the run is new). */
export const insertRun = stmt(
  'insert_run',
  `INSERT INTO runs (${RUN_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, ` +
    // A skipped row is final when it is written.
    `CASE WHEN $5 = 'skipped' THEN $15::bigint END, $15, $15, $16, $16)`,
);

// Only the occurrence key may absorb a conflict; any other violation (a reused id, a NOT NULL) is
// a bug and must throw, which a bare ON CONFLICT DO NOTHING would hide. Rows go in array order,
// so of two rows with one key in a batch the first one wins.
// NOT EXISTS first drops the keys that already have a row, by a plain read: left to ON CONFLICT
// alone, the insert would wait for any transaction changing that row right now (each change
// writes a new index entry under the same key), and a claim inserting while it holds task rows
// could then wait on a writer that waits for those task rows: a deadlock. ON CONFLICT still
// absorbs a key inserted meanwhile, and a repeat within the batch.
/** Many runs in one statement, insert-or-ignore on the occurrence key; returns the inserted ones. */
export const insertRunsIfNew = stmt<{ namespace: string; status: string }>(
  'insert_runs_if_new',
  `INSERT INTO runs (${RUN_INSERT_COLUMNS}) ` +
    'SELECT u.id, u.namespace, u.task_id, u.task_name, u.status, u.attempt, u.retry_of, u.trigger, u.occurrence_at, ' +
    "u.scheduled_for, u.priority, u.payload, u.idempotency_key, u.reason, CASE WHEN u.status = 'skipped' THEN u.created_at END, " +
    'u.created_at, u.created_at, u.created_by, u.created_by ' +
    'FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], ' +
    '$9::bigint[], $10::bigint[], $11::int[], $12::text[], $13::text[], $14::text[], $15::bigint[], $16::text[]) ' +
    'AS u(id, namespace, task_id, task_name, status, attempt, retry_of, trigger, occurrence_at, scheduled_for, priority, ' +
    'payload, idempotency_key, reason, created_at, created_by) ' +
    'WHERE NOT EXISTS (SELECT 1 FROM runs AS x WHERE x.task_id = u.task_id AND x.idempotency_key = u.idempotency_key ' +
    'AND x.attempt = u.attempt) ' +
    'ON CONFLICT (task_id, idempotency_key, attempt) DO NOTHING RETURNING namespace, status',
);

/** One run, insert-or-ignore on the occurrence key; returns its id when inserted. */
export const insertRunIfNew = stmt<{ id: string }>(
  'insert_run_if_new',
  `${insertRun.text} ON CONFLICT (task_id, idempotency_key, attempt) DO NOTHING RETURNING id`,
);

// ---- runs: reads ----

export const runById = stmt<RunRow>('run_by_id', `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`);
export const runByKey = stmt<RunRow>(
  'run_by_key',
  `SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = $1 AND idempotency_key = $2 AND attempt = $3`,
);
/** The run's state for a change decided in code, locked until the transaction ends. */
export const lockRunStatus = stmt<{ status: string; trigger: string; task_id: string; namespace: string }>(
  'lock_run_status',
  'SELECT status, trigger, task_id, namespace FROM runs WHERE id = $1 FOR UPDATE',
);
export const runLogs = stmt<{ at: number; level: string; message: string }>(
  'run_logs',
  'SELECT at, level, message FROM run_logs WHERE run_id = $1 ORDER BY id',
);
export const runSamples = stmt<{ at: number; cpu_ms: number; rss_bytes: number; disk_write_bytes: number }>(
  'run_samples',
  'SELECT at, cpu_ms, rss_bytes, disk_write_bytes FROM run_samples WHERE run_id = $1 ORDER BY at, id',
);
export const cancelRequests = stmt<{ id: string }>(
  'cancel_requests',
  "SELECT id FROM runs WHERE node = $1 AND status = 'running' AND cancel_requested_at IS NOT NULL ORDER BY id",
);

// ---- runs: API-side changes ----

export const cancelRun = stmt<RunRow>(
  'cancel_run',
  "UPDATE runs SET status = 'cancelled', reason = $1, finished_at = $2, lease_until = NULL, " +
    `lease_epoch = lease_epoch + 1, updated_at = $2, updated_by = $3 WHERE id = $4 RETURNING ${RUN_COLUMNS}`,
);
/** Cancels many runs with one reason (a replaced pending occurrence). */
export const cancelRuns = stmt<{ namespace: string }>(
  'cancel_runs',
  "UPDATE runs SET status = 'cancelled', reason = $1, finished_at = $2, lease_until = NULL, " +
    "lease_epoch = lease_epoch + 1, updated_at = $2, updated_by = $3 WHERE id = ANY($4::text[]) AND status = 'scheduled' " +
    'RETURNING namespace',
);
export const requestRunCancel = stmt<RunRow>(
  'request_run_cancel',
  'UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, $1), updated_at = $1, updated_by = $2 ' +
    `WHERE id = $3 RETURNING ${RUN_COLUMNS}`,
);
export const rescheduleRun = stmt<RunRow>(
  'reschedule_run',
  "UPDATE runs SET status = 'scheduled', scheduled_for = $1, queued_at = NULL, node = NULL, lease_until = NULL, " +
    `lease_epoch = lease_epoch + 1, updated_at = $2, updated_by = $3 WHERE id = $4 RETURNING ${RUN_COLUMNS}`,
);
// A pending occurrence replaced earlier (e.g. on pause) becomes pending again when the same
// occurrence is planned anew (resume): the occurrence key stays unique and it still fires once.
// Occurrences a person cancelled, or that were cancelled by a deletion, stay cancelled.
export const reviveCancelledRun = stmt<RunRow>(
  'revive_cancelled_run',
  "UPDATE runs SET status = 'scheduled', scheduled_for = $1, priority = $2, payload = $3, task_name = $4, reason = NULL, " +
    'finished_at = NULL, queued_at = NULL, node = NULL, lease_until = NULL, lease_epoch = lease_epoch + 1, ' +
    "updated_at = $5, updated_by = $6 WHERE id = $7 AND started_at IS NULL AND (status = 'scheduled' OR " +
    `(status = 'cancelled' AND reason NOT IN ('cancelled', 'deleted'))) RETURNING ${RUN_COLUMNS}`,
);
const TASK_RUNS_TO_LOCK =
  "SELECT id FROM runs WHERE task_id = $1 AND status IN ('scheduled', 'queued', 'running') " +
  "AND ($2 OR (status = 'scheduled' AND trigger = 'schedule')) ORDER BY id FOR UPDATE";
/**
 * The live runs of a task that an update changes, locked before its row (see the lock order);
 * `$2` adds the queued and running ones (a rename changes those too).
 */
export const lockTaskRuns = stmt('lock_task_runs', TASK_RUNS_TO_LOCK);
/**
 * The same once the task row is held: NOWAIT, because whoever holds such a run now (a claim of a
 * run inserted meanwhile) may be waiting for that task row, and waiting for it would deadlock.
 * The refusal (55P03) retries the whole update.
 */
export const lockTaskRunsNoWait = stmt('lock_task_runs_nowait', `${TASK_RUNS_TO_LOCK} NOWAIT`);
/** The task's pending schedule occurrences (normally one). */
export const pendingScheduleRuns = stmt<{ id: string; namespace: string }>(
  'pending_schedule_runs',
  "SELECT id, namespace FROM runs WHERE task_id = $1 AND status = 'scheduled' AND trigger = 'schedule'",
);
export const cancelTaskRuns = stmt<RunRow>(
  'cancel_task_runs',
  lockRunsInOrder("task_id = $4 AND status IN ('scheduled', 'queued')") +
    "UPDATE runs SET status = 'cancelled', reason = $1, finished_at = $2, lease_until = NULL, " +
    'lease_epoch = lease_epoch + 1, updated_at = $2, updated_by = $3 ' +
    `WHERE task_id = $4 AND status IN ('scheduled', 'queued') AND ${AFTER_LOCKS} RETURNING ${RUN_COLUMNS}`,
);
export const requestTaskRunsCancel = stmt<RunRow>(
  'request_task_runs_cancel',
  lockRunsInOrder("task_id = $3 AND status = 'running'") +
    'UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, $1), updated_at = $1, updated_by = $2 ' +
    `WHERE task_id = $3 AND status = 'running' AND ${AFTER_LOCKS} RETURNING ${RUN_COLUMNS}`,
);
export const requestCancelOthers = stmt<{ id: string }>(
  'request_cancel_others',
  lockRunsInOrder("task_id = $3 AND status = 'running' AND id <> $4") +
    'UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, $1), updated_at = $1, updated_by = $2 ' +
    `WHERE task_id = $3 AND status = 'running' AND id <> $4 AND ${AFTER_LOCKS} RETURNING id`,
);
export const renameTaskRuns = stmt(
  'rename_task_runs',
  "UPDATE runs SET task_name = $1 WHERE task_id = $2 AND status IN ('scheduled', 'queued', 'running')",
);
export const insertLogs = stmt(
  'insert_logs',
  'INSERT INTO run_logs (run_id, at, level, message, created_by) ' +
    'SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])',
);
/** Live log lines of one run, written as by the node that holds it. */
export const appendLogs = stmt(
  'append_logs',
  'INSERT INTO run_logs (run_id, at, level, message, created_by) ' +
    "SELECT $1, u.at, u.level, u.message, coalesce((SELECT node FROM runs WHERE id = $1), 'system') " +
    'FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(at, level, message)',
);
export const insertSamples = stmt(
  'insert_samples',
  'INSERT INTO run_samples (run_id, at, cpu_ms, rss_bytes, disk_write_bytes) ' +
    'SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::bigint[], $5::bigint[])',
);

// ---- runs: the scheduler's hot path ----

/*
 * THE CLAIM, one statement: pick the due pending runs in due order, lock them, skipping rows
 * another node's claim holds (SKIP LOCKED: nodes never wait for each other here, and a row one
 * of them took is never taken twice), and move them to `queued` under this node's lease with the
 * fencing epoch bumped. A row another claim changed after this statement's snapshot is re-checked
 * against the WHERE clause before it is locked, so a run just claimed elsewhere is passed over.
 * - `runs_due` is a partial index (scheduled_for, priority DESC, id) over pending rows only: the
 *   scan reads the rows it claims in order and needs no sort.
 * - Paused tasks: their `schedule` runs stay pending; manual/api/retry runs are explicit requests
 *   and are claimed. The task lookup runs only for schedule runs.
 * - `FOR UPDATE OF r`: only the runs are locked, never the tasks the paused check reads.
 * RETURNING order is not the scan's: the caller sorts (byDueOrder).
 */
export const claimDue = stmt<RunRow>(
  'claim_due',
  'WITH due AS (SELECT r.id FROM runs AS r ' +
    "WHERE r.status = 'scheduled' AND r.scheduled_for <= $1 " +
    "AND (r.trigger <> 'schedule' OR NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.id = r.task_id AND t.status = 'paused')) " +
    'ORDER BY r.scheduled_for, r.priority DESC, r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED) ' +
    "UPDATE runs AS r SET status = 'queued', queued_at = $3, node = $4, lease_until = $5, lease_epoch = r.lease_epoch + 1, " +
    `updated_at = $3, updated_by = $4 FROM due WHERE r.id = due.id RETURNING ${R_COLUMNS}`,
);

/**
 * The due runs a claim that may start some (ClaimOptions.startDue) takes: locked as claim_due
 * locks them, written by claim_locked once the caller has chosen which of them start.
 */
export const lockDue = stmt<RunRow>(
  'lock_due',
  `SELECT ${R_COLUMNS} FROM runs AS r ` +
    "WHERE r.status = 'scheduled' AND r.scheduled_for <= $1 " +
    "AND (r.trigger <> 'schedule' OR NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.id = r.task_id AND t.status = 'paused')) " +
    'ORDER BY r.scheduled_for, r.priority DESC, r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED',
);

/**
 * The namespaces with pending runs, found by skipping through runs_due_namespace (a recursive
 * CTE: one index seek per namespace, however many runs each has): for the claim's fair share.
 */
export const pendingNamespaces = stmt<{ n: string }>(
  'pending_namespaces',
  'WITH RECURSIVE ns(n) AS (' +
    "(SELECT namespace FROM runs WHERE status = 'scheduled' ORDER BY namespace LIMIT 1) UNION ALL " +
    "SELECT (SELECT namespace FROM runs WHERE status = 'scheduled' AND namespace > ns.n ORDER BY namespace LIMIT 1) " +
    'FROM ns WHERE ns.n IS NOT NULL) SELECT n FROM ns WHERE n IS NOT NULL',
);

/**
 * The claim's fair share (ClaimOptions.spread): the oldest due runs of each namespace of `$1`, at
 * most `$3` each, locked as lock_due locks them (and written by claim_locked).
 */
export const lockDueOfNamespaces = stmt<RunRow>(
  'lock_due_of_namespaces',
  `SELECT d.* FROM unnest($1::text[]) AS ns(n) CROSS JOIN LATERAL (SELECT ${R_COLUMNS} FROM runs AS r ` +
    "WHERE r.status = 'scheduled' AND r.namespace = ns.n AND r.scheduled_for <= $2 " +
    "AND (r.trigger <> 'schedule' OR NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.id = r.task_id AND t.status = 'paused')) " +
    // The namespace leads the order (a constant here) so that runs_due_namespace gives the order
    // as it stands: read through runs_due, another namespace's runs would wait behind a flood's.
    'ORDER BY r.namespace, r.scheduled_for, r.priority DESC, r.id LIMIT $3 FOR UPDATE OF r SKIP LOCKED) AS d',
);

/**
 * Claims the runs lock_due locked: `queued`, or `running` (started at the claim) where `$2` says
 * so. `updated_by` is the claim's token ($6): if the COMMIT's answer is lost, release_claim finds
 * exactly these rows again.
 */
export const claimLocked = stmt(
  'claim_locked',
  "UPDATE runs AS r SET status = CASE WHEN u.start THEN 'running' ELSE 'queued' END, queued_at = $3, " +
    'started_at = CASE WHEN u.start THEN $3 ELSE r.started_at END, node = $4, lease_until = $5, ' +
    'lease_epoch = r.lease_epoch + 1, updated_at = $3, updated_by = $6 ' +
    'FROM unnest($1::text[], $2::bool[]) AS u(id, start) WHERE r.id = u.id',
);

/**
 * Hands back, unexecuted, the runs of a claim whose outcome the node never learnt (its token in
 * `updated_by`, its lease untouched): they go back to `scheduled` as if never claimed. Found
 * through runs_lease by the claim's lease end.
 */
export const releaseClaim = stmt(
  'release_claim',
  "UPDATE runs SET status = 'scheduled', queued_at = NULL, started_at = NULL, node = NULL, lease_until = NULL, " +
    'lease_epoch = lease_epoch + 1, updated_at = $4, updated_by = $1 ' +
    "WHERE status IN ('queued', 'running') AND lease_until = $3 AND node = $1 AND updated_by = $2",
);

/**
 * The tasks of claimed runs: those about to be planned (`$1`) locked in id order, so two nodes
 * planning occurrences of one task take turns and each plans from the other's counters; the
 * others (`$2`, tasks of manual runs) only read.
 */
export const claimTasks = stmt<TaskRow>(
  'claim_tasks',
  'WITH planned AS MATERIALIZED (SELECT * FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE) ' +
    'SELECT * FROM planned UNION ALL SELECT * FROM tasks WHERE id = ANY($2::text[])',
);

/** Tasks by id, read only (the orphan takeover). */
export const tasksByIds = stmt<TaskRow>('tasks_by_ids', 'SELECT * FROM tasks WHERE id = ANY($1::text[])');

/** Ends claimed runs within the claim: cancelled (task deleted), failed (plan failed), skipped (planned). */
export const endClaimed = stmt(
  'end_claimed',
  'UPDATE runs AS r SET status = u.status, reason = u.reason, error = u.error, finished_at = $1, lease_until = NULL, ' +
    'updated_at = $1 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, status, reason, error) WHERE r.id = u.id',
);

/** The counters the plans moved (the rows are locked by claimTasks). */
export const setTaskCounters = stmt(
  'set_task_counters',
  'UPDATE tasks AS t SET fired_count = u.fired, next_run_at = u.next_at ' +
    'FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(id, fired, next_at) WHERE t.id = u.id',
);

/** Takes over runs whose lease expired (their holder died), oldest lease first; status unchanged. */
export const claimOrphans = stmt<RunRow>(
  'claim_orphans',
  "WITH o AS (SELECT id FROM runs WHERE status IN ('queued', 'running') AND lease_until < $1 " +
    'ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED) ' +
    'UPDATE runs AS r SET node = $3, lease_until = $4, lease_epoch = r.lease_epoch + 1, updated_at = $1, updated_by = $3 ' +
    `FROM o WHERE r.id = o.id RETURNING ${R_COLUMNS}`,
);

/**
 * Starts claimed runs whose epoch still matches; returns the ones started. A run already
 * `running` at that epoch with that very start time is this start, written by an attempt whose
 * COMMIT went through while its answer was lost: it counts as started (the write repeats it).
 */
export const markRunning = stmt<{ id: string }>(
  'mark_running',
  lockRunsInOrder(`id = ANY($1::text[]) AND ${inFlight('status')}`) +
    "UPDATE runs AS r SET status = 'running', started_at = u.started_at, updated_at = u.started_at, concurrency_key = NULL " +
    'FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(id, epoch, started_at) ' +
    `WHERE r.id = u.id AND r.lease_epoch = u.epoch AND (${isQueued('r.status')} OR ((r.status || '') = 'running' AND r.started_at = u.started_at)) ` +
    `AND ${AFTER_LOCKS} RETURNING r.id`,
);

/** Guarded starts, step 1: the runs to start, locked, with what decides whether they still may. */
export const lockStartingRuns = stmt<{ id: string; task_id: string; status: string; lease_epoch: number; started_at: number | null }>(
  'lock_starting_runs',
  'SELECT id, task_id, status, lease_epoch, started_at FROM runs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
);
/** Guarded starts, step 2: the overlap guards' tasks, so starts of one task take turns across nodes. */
export const lockTasks = stmt('lock_tasks', 'SELECT id FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE');
/**
 * Guarded starts, step 3: one transaction-scoped advisory lock per concurrency key, in hash
 * order (a key has no row of its own to lock). `$1` is the lock class that keeps these apart
 * from other advisory locks; a hash collision only makes two keys take turns.
 */
export const lockConcurrencyKeys = stmt(
  'lock_concurrency_keys',
  'SELECT pg_advisory_xact_lock($1::int, s.h) FROM ' +
    '(SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS s',
);
/** Guarded starts, step 4: what runs now, per guarded task (`t`) and per concurrency key (`k`). */
export const runningCounts = stmt<{ kind: 't' | 'k'; key: string; n: number }>(
  'running_counts',
  "SELECT 't' AS kind, task_id AS key, count(*) AS n FROM runs WHERE status = 'running' AND task_id = ANY($1::text[]) " +
    "GROUP BY task_id UNION ALL SELECT 'k', concurrency_key, count(*) FROM runs WHERE status = 'running' " +
    'AND concurrency_key = ANY($2::text[]) GROUP BY concurrency_key',
);
/** Guarded starts, step 5: the admitted ones (already checked under the locks). */
export const startAdmitted = stmt<{ id: string }>(
  'start_admitted',
  "UPDATE runs AS r SET status = 'running', started_at = u.started_at, updated_at = u.started_at, concurrency_key = u.ckey " +
    'FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[]) AS u(id, epoch, started_at, ckey) ' +
    `WHERE r.id = u.id AND r.lease_epoch = u.epoch AND ${isQueued('r.status')} RETURNING r.id`,
);

/** Ends runs (fenced by epoch and status); returns the ones it ended, with what the rest of the write needs. */
export const completeRuns = stmt<{ id: string; task_id: string; namespace: string; node: string | null }>(
  'complete_runs',
  lockRunsInOrder(`id = ANY($1::text[]) AND ${inFlight('status')}`) +
    'UPDATE runs AS r SET status = u.status, finished_at = u.finished_at, started_at = coalesce(u.started_at, r.started_at), ' +
    'result = u.result, error = u.error, reason = u.reason, logs_truncated = u.logs_truncated, cpu_ms = u.cpu_ms, ' +
    'peak_rss_bytes = u.peak_rss_bytes, disk_write_bytes = u.disk_write_bytes, lease_until = NULL, updated_at = u.finished_at ' +
    'FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], ' +
    '$9::int[], $10::float8[], $11::bigint[], $12::bigint[]) AS u(id, epoch, status, finished_at, started_at, result, ' +
    'error, reason, logs_truncated, cpu_ms, peak_rss_bytes, disk_write_bytes) ' +
    `WHERE r.id = u.id AND r.lease_epoch = u.epoch AND ${inFlight('r.status')} ` +
    `AND ${AFTER_LOCKS} ` +
    'RETURNING r.id, r.task_id, r.namespace, r.node',
);

/**
 * The latest finish per task (one row each), never moving it back in time. The task rows are
 * locked in id order first: nodes finishing runs of the same tasks at once take turns instead
 * of deadlocking on an arbitrary join order.
 */
export const setTasksLastRun = stmt(
  'set_tasks_last_run',
  'WITH l AS MATERIALIZED (SELECT id FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE) ' +
    'UPDATE tasks AS t SET last_run_at = u.at, last_run_status = u.status ' +
    'FROM l JOIN unnest($1::text[], $2::bigint[], $3::text[]) AS u(id, at, status) ON u.id = l.id ' +
    'WHERE t.id = l.id AND (t.last_run_at IS NULL OR t.last_run_at <= u.at)',
);

/**
 * Renews the leases of the runs the node names, while it holds them at those epochs, passing
 * over rows another transaction holds right now (this node starting or ending them, or another
 * node taking them over): waiting here while those hold other runs of the node and wait in id
 * order could deadlock, and a row passed over is extended by the next renewal, well inside its
 * lease.
 */
export const extendLeases = stmt(
  'extend_leases',
  'UPDATE runs AS r SET lease_until = $1 FROM (SELECT runs.id FROM runs JOIN unnest($3::text[], $4::int[]) AS u(id, epoch) ' +
    `ON runs.id = u.id AND runs.lease_epoch = u.epoch WHERE runs.node = $2 AND ${inFlight('runs.status')} ` +
    'FOR UPDATE OF runs SKIP LOCKED) AS held WHERE r.id = held.id',
);
export const releaseRuns = stmt(
  'release_runs',
  lockRunsInOrder(`id = ANY($3::text[]) AND node = $2 AND ${inFlight('status')}`) +
    "UPDATE runs AS r SET status = 'scheduled', queued_at = NULL, started_at = NULL, node = NULL, lease_until = NULL, " +
    'lease_epoch = r.lease_epoch + 1, updated_at = $1, updated_by = $2 ' +
    'FROM unnest($3::text[], $4::int[]) AS u(id, epoch) ' +
    `WHERE r.id = u.id AND r.lease_epoch = u.epoch AND r.node = $2 AND ${inFlight('r.status')} ` +
    `AND r.cancel_requested_at IS NULL AND ${AFTER_LOCKS}`,
);
// A run someone asked to cancel is not handed back to run again: releasing it ends it.
export const releaseCancelRequested = stmt<{ namespace: string }>(
  'release_cancel_requested',
  "UPDATE runs AS r SET status = 'cancelled', reason = 'cancelled', finished_at = $1, lease_until = NULL, " +
    'lease_epoch = r.lease_epoch + 1, updated_at = $1, updated_by = $2 ' +
    'FROM unnest($3::text[], $4::int[]) AS u(id, epoch) ' +
    `WHERE r.id = u.id AND r.lease_epoch = u.epoch AND r.node = $2 AND ${inFlight('r.status')} ` +
    'AND r.cancel_requested_at IS NOT NULL RETURNING r.namespace',
);

/** Adds to this store's shard of the finished-run counts (rows in key order; see the lock order). */
export const bumpRunCounts = stmt(
  'bump_run_counts',
  'INSERT INTO run_counts (namespace, status, shard, n) ' +
    'SELECT u.namespace, u.status, $1, u.n FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(namespace, status, n) ' +
    'ON CONFLICT (namespace, status, shard) DO UPDATE SET n = run_counts.n + excluded.n',
);

// ---- tasks ----

export const insertTask = stmt<TaskRow>(
  'insert_task',
  'INSERT INTO tasks (id, namespace, name, description, kind, spec, schedule, policies, payload, status, ' +
    'fired_count, next_run_at, version, created_at, updated_at, created_by, updated_by) ' +
    'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, 1, $12, $13, $14, $15) RETURNING *',
);
export const taskById = stmt<TaskRow>('task_by_id', 'SELECT * FROM tasks WHERE id = $1');
export const lockTask = stmt<TaskRow>('lock_task', 'SELECT * FROM tasks WHERE id = $1 FOR UPDATE');
export const taskByName = stmt<TaskRow>('task_by_name', 'SELECT * FROM tasks WHERE namespace = $1 AND name = $2');
export const updateTaskDefinition = stmt<TaskRow>(
  'update_task_definition',
  'UPDATE tasks SET name = $1, description = $2, kind = $3, spec = $4, schedule = $5, policies = $6, payload = $7, ' +
    'status = $8, version = version + 1, updated_at = $9, updated_by = $10 WHERE id = $11 RETURNING *',
);
export const setTaskFired = stmt('set_task_fired', 'UPDATE tasks SET fired_count = $1, next_run_at = $2 WHERE id = $3');
export const setTaskNextRun = stmt('set_task_next_run', 'UPDATE tasks SET next_run_at = $1 WHERE id = $2');
// After a pending schedule run moved or ended: the task's next due time is its earliest one left.
export const recomputeNextRun = stmt(
  'recompute_next_run',
  'UPDATE tasks SET next_run_at = (SELECT min(scheduled_for) FROM runs ' +
    "WHERE task_id = $1 AND status = 'scheduled' AND trigger = 'schedule') WHERE id = $1",
);
export const deleteTask = stmt<TaskRow>('delete_task', 'DELETE FROM tasks WHERE id = $1 RETURNING *');

// ---- keys, audit, nodes ----


/**
 * Appends an audit row to the hash chain (audit-chain.ts): takes newAuditValues and locks the
 * chain's head until COMMIT, so it comes last in its transaction but for the run counts.
 */
export const insertAudit = new (class AuditAppend extends Statement {
  override async run(c: Queryable, values: unknown[] = []): Promise<pg.QueryResult> {
    const res = await super.run(c, values);
    // No head row would insert nothing, silently: refuse instead (the migration creates it).
    if (res.rowCount !== 1) throw new Error('the audit chain has no head row (audit_head)');
    return res;
  }
})('sundial_insert_audit_chained', AUDIT_APPEND_SQL);
export const insertApiKey = stmt<ApiKeyRow>(
  'insert_api_key',
  'INSERT INTO api_keys (id, name, role, namespaces, prefix, hash, last_used_at, revoked_at, created_at, updated_at, ' +
    'created_by, updated_by, expires_at, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10, $11, $12) RETURNING *',
);
export const apiKeyByHash = stmt<ApiKeyRow>('api_key_by_hash', 'SELECT * FROM api_keys WHERE hash = $1');
export const apiKeyByIdForUpdate = stmt<ApiKeyRow>('api_key_by_id_for_update', 'SELECT * FROM api_keys WHERE id = $1 FOR UPDATE');
// The newest use wins `last_used_from`; a late write of an older use moves nothing back.
export const recordApiKeyUse = stmt(
  'record_api_key_use',
  'UPDATE api_keys SET last_used_from = CASE WHEN last_used_at IS NULL OR last_used_at <= $1 THEN $2 ELSE last_used_from END, ' +
    'last_used_at = greatest(coalesce(last_used_at, 0), $1), addresses = $3 WHERE id = $4',
);
export const retireApiKey = stmt<ApiKeyRow>(
  'retire_api_key',
  'UPDATE api_keys SET expires_at = least(coalesce(expires_at, $1), $1), replaced_by = $2, updated_at = $3, updated_by = $4 WHERE id = $5 RETURNING *',
);
export const listApiKeys = stmt<ApiKeyRow>('list_api_keys', 'SELECT * FROM api_keys ORDER BY created_at, id');
export const revokeApiKey = stmt<ApiKeyRow>(
  'revoke_api_key',
  'UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1), updated_at = $1, updated_by = $2 WHERE id = $3 RETURNING *',
);
export const countApiKeys = stmt<{ n: number }>('count_api_keys', 'SELECT count(*) AS n FROM api_keys');
// Refreshes this instance's row, or takes over an id whose holder stopped heartbeating; a row of
// another live instance is left alone (no row), which the store reports as taken.
export const upsertNode = stmt(
  'upsert_node',
  'INSERT INTO nodes (id, host, pid, version, roles, started_at, heartbeat_at, instance_id, runs_in_flight, created_by, updated_by) ' +
    'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $1, $1) ' +
    'ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version, ' +
    'roles = excluded.roles, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, ' +
    'instance_id = excluded.instance_id, runs_in_flight = excluded.runs_in_flight, updated_by = excluded.updated_by ' +
    'WHERE nodes.instance_id = excluded.instance_id OR nodes.heartbeat_at < $10',
);
export const listNodes = stmt<NodeRow>('list_nodes', 'SELECT * FROM nodes WHERE heartbeat_at >= $1 ORDER BY id');
export const removeNode = stmt('remove_node', 'DELETE FROM nodes WHERE id = $1 AND instance_id = $2');

/** The database's clock in epoch ms (clock_timestamp: the time now, not the transaction's start). */
export const databaseTime = stmt<{ t: number }>('database_time', 'SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS t');
