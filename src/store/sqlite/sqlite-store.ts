// The SQLite implementation of the Store contract (src/store/store.ts): one process owns one
// database file; writes go through the group-commit writer, reads run directly.
import type Database from 'better-sqlite3';
import { SundialError } from '../../core/errors.js';
import type { ApiKey, AuditEntry, LogLine, LogLevel, Millis, ResourceSample, Run, Task, TaskStatus } from '../../core/types.js';
import type {
  AuditFilter,
  CancelOutcome,
  ClaimOptions,
  ClaimedRun,
  DeleteTaskOutcome,
  NamespaceScope,
  NewAudit,
  NewRun,
  NewTask,
  HeldLease,
  NodeRegistration,
  Page,
  PruneOptions,
  RecentRun,
  RunCompletion,
  RunCounts,
  RunFilter,
  RunMinute,
  RunSample,
  RunStart,
  StartResult,
  Store,
  StoredApiKey,
  ApiKeyRotation,
  ApiKeyUse,
  NewApiKey,
  TaskFilter,
  UpdateTaskOptions,
} from '../store.js';
import { HeldRuns, claimDue, claimOrphans, type ClaimContext, type RunOwner } from './claims.js';
import { applyMigrations } from './migrations.js';
import { openDatabase } from './open-db.js';
import { Queries } from './queries.js';
import { API_KEY_ADDRESSES } from '../store.js';
import { mergeKeyAddress, rotationRefusal, TaskPartsCache, newAuditValues, newRunToRun, newTaskValues, rowToApiKey, rowToRun, rowToStoredApiKey, rowToNode, rowToTask, toJson } from '../rows.js';
import { nodeIdTaken } from '../store-errors.js';
import { RunCountDelta, insertRun } from './run-counts.js';
import { SqliteRetention } from './retention.js';
import { prepareStatements, type Statements } from './statements.js';
import type { ApiKeyRow } from '../rows.js';
import { WriteBatcher } from './write-batcher.js';
import { SqliteNotifications } from './notifications.js';
import { SqliteAlerts } from './alerts.js';
import { SqliteSecrets } from './secrets.js';
import { SqliteAuditChain } from './audit-chain.js';

export { DataDirLockedError } from './open-db.js';
export { SchemaTooNewError } from './migrations.js';
export { nodeIdTaken } from '../store-errors.js';

/** Where the SQLite store keeps its file. */
export interface SqliteStoreOptions {
  /** Directory holding `sundial.db` (created if missing). */
  dir: string;
}

/** Opens (and locks) the SQLite store in `dir`. Call `migrate()` before use. */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<Store> {
  return new SqliteStore(openDatabase(opts.dir));
}

/** `lastUsedAt` resolution: a touch closer than this to the last written one is not written. */
const TOUCH_RESOLUTION_MS = 1000;

/** Per-minute run counts are read one slice of this many ms at a time (see countRunsPerMinute). */
const RUN_STATS_SLICE_MS = 60_000;

/** The Store on one SQLite file, owned by this process (locked at open, released at exit). */
export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  // One process owns the file (locked at open): nothing else can hold its runs.
  readonly capabilities = { shared: false, writeLanes: 1, inProcess: true } as const;
  readonly signals = null;
  readonly notifications: SqliteNotifications;
  readonly alerts: SqliteAlerts;
  readonly secrets: SqliteSecrets;
  readonly auditChain: SqliteAuditChain;
  readonly #db: Database.Database;
  readonly #writer: WriteBatcher;
  readonly #taskParts = new TaskPartsCache();
  readonly #held = new HeldRuns();
  #st: Statements | null = null;
  #queries: Queries | null = null;
  /** Retention statements and per-task bookkeeping, made on the first pruneHistory. */
  #retention: SqliteRetention | null = null;
  /** Last `lastUsedAt` written per key; touches within the resolution are not written again. */
  readonly #touched = new Map<string, Millis>();

  constructor(db: Database.Database) {
    this.#db = db;
    this.#writer = new WriteBatcher(db);
    this.notifications = new SqliteNotifications(db, (fn) => this.#writer.run(fn));
    this.alerts = new SqliteAlerts(db, (fn) => this.#writer.run(fn));
    this.secrets = new SqliteSecrets(db, (fn) => this.#writer.run(fn));
    this.auditChain = new SqliteAuditChain(db, (fn) => this.#writer.run(fn));
  }

  /** Group-commit counters (tests, metrics). */
  get writerStats(): WriteBatcher['stats'] {
    return this.#writer.stats;
  }

  async migrate(): Promise<void> {
    this.#writer.flush();
    applyMigrations(this.#db);
    this.#st = prepareStatements(this.#db);
    this.#queries = new Queries(this.#db);
    this.notifications.ready();
    this.alerts.ready();
    this.secrets.ready();
    this.auditChain.ready();
  }

  /** The database is in this process, so its clock is this process's. */
  async databaseTime(): Promise<Millis> {
    return Date.now();
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    this.#writer.close();
    try {
      // Keeps the planner's statistics fresh for the next start; cheap when nothing changed.
      if (this.#st !== null) this.#db.pragma('optimize');
    } finally {
      this.#db.close();
    }
  }

  // ---- tasks ----

  createTask(task: NewTask, firstRun: NewRun | null, audit: NewAudit): Promise<Task> {
    return this.#write((st) => {
      let row;
      try {
        row = st.insertTask.get(...newTaskValues(task, firstRun));
      } catch (err) {
        throw nameTaken(err, task.namespace, task.name);
      }
      if (firstRun !== null) {
        const counts = new RunCountDelta();
        insertRun(st, counts, firstRun, false);
        counts.apply(st);
      }
      st.insertAudit.run(newAuditValues(audit));
      return rowToTask(row!);
    });
  }

  async getTask(id: string): Promise<Task | null> {
    const row = this.#s.taskById.get(id);
    return row === undefined ? null : rowToTask(row);
  }

  async getTaskByName(namespace: string, name: string): Promise<Task | null> {
    const row = this.#s.taskByName.get(namespace, name);
    return row === undefined ? null : rowToTask(row);
  }

  async listTasks(filter: TaskFilter): Promise<Page<Task>> {
    return this.#q.listTasks(filter);
  }

  async listRecentRuns(taskIds: readonly string[], perTask: number): Promise<Map<string, RecentRun[]>> {
    return this.#q.listRecentRuns(taskIds, perTask);
  }

  /**
   * Writes the definition fields (name, description, kind, spec, schedule, policies, payload,
   * status). The scheduler's counters (firedCount, nextRunAt, lastRun*) are its own and are not
   * taken from `task`, so an edit never overwrites a claim that happened meanwhile.
   */
  updateTask(task: Task, opts: UpdateTaskOptions): Promise<Task> {
    return this.#write((st) => {
      const current = st.taskById.get(task.id);
      if (current === undefined) throw new SundialError('task_not_found', `No task with id ${task.id}`);
      if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version) {
        throw new SundialError(
          'version_mismatch',
          `The task is at version ${current.version}, not ${opts.expectedVersion}`,
          { extra: { currentVersion: current.version } },
        );
      }
      let row;
      try {
        row = st.updateTaskDefinition.get(
          task.name,
          task.description,
          task.kind,
          JSON.stringify(task.spec),
          toJson(task.schedule),
          JSON.stringify(task.policies),
          toJson(task.payload),
          task.status,
          task.updatedAt,
          task.updatedBy,
          task.id,
        )!;
      } catch (err) {
        throw nameTaken(err, current.namespace, task.name);
      }
      if (task.name !== current.name) st.renameTaskRuns.run(task.name, task.id);
      const rp = opts.replacePending;
      if (rp !== undefined) {
        row.next_run_at = replacePending(st, task.id, rp.reason, rp.nextRun, rp.now, task.updatedBy);
        if (rp.resetFiredCount === true) {
          row.fired_count = 0;
          st.setTaskFired.run(0, row.next_run_at, task.id);
        } else {
          st.setTaskNextRun.run(row.next_run_at, task.id);
        }
      }
      st.insertAudit.run(newAuditValues(opts.audit));
      this.#taskParts.forget(task.id);
      return rowToTask(row);
    });
  }

  deleteTask(id: string, now: Millis, audit: NewAudit): Promise<DeleteTaskOutcome> {
    return this.#write((st) => {
      const row = st.taskById.get(id);
      if (row === undefined) throw new SundialError('task_not_found', `No task with id ${id}`);
      const cancelled = st.cancelTaskRuns.all('deleted', now, now, audit.actor, id).map(rowToRun);
      const counts = new RunCountDelta();
      for (const r of cancelled) counts.add(r.namespace, 'cancelled');
      counts.apply(st);
      // Holders that poll (listCancelRequests) stop these; the caller also stops local ones.
      const running = st.requestTaskRunsCancel.all(now, now, audit.actor, id).map(rowToRun);
      st.deleteTask.run(id);
      st.insertAudit.run(newAuditValues(audit));
      this.#taskParts.forget(id);
      return { task: rowToTask(row), cancelled: sortRuns(cancelled), running: sortRuns(running) };
    });
  }

  // ---- runs (API side) ----

  createRun(run: NewRun, audit: NewAudit | null): Promise<{ run: Run; created: boolean }> {
    return this.#write((st) => {
      const counts = new RunCountDelta();
      if (!insertRun(st, counts, run, true)) {
        const existing = st.runByKey.get(run.taskId, run.idempotencyKey, run.attempt)!;
        return { run: rowToRun(existing), created: false };
      }
      counts.apply(st);
      if (audit !== null) st.insertAudit.run(newAuditValues(audit));
      return { run: newRunToRun(run), created: true };
    });
  }

  async getRun(id: string): Promise<Run | null> {
    const row = this.#s.runById.get(id);
    return row === undefined ? null : rowToRun(row);
  }

  async listRuns(filter: RunFilter): Promise<Page<Run>> {
    return this.#q.listRuns(filter);
  }

  async getRunLogs(id: string): Promise<LogLine[]> {
    return this.#s.runLogs.all(id).map((l) => ({ at: l.at, level: l.level as LogLevel, message: l.message }));
  }

  appendRunLogs(runId: string, lines: LogLine[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return this.#write((st) => {
      const by = st.runNode.get(runId) ?? 'system';
      for (const l of lines) st.insertLog.run(runId, l.at, l.level, l.message, by);
    });
  }

  async getRunSamples(runId: string): Promise<ResourceSample[]> {
    return this.#s.runSamples.all(runId).map((r) => ({ at: r.at, cpuMs: r.cpu_ms, rssBytes: r.rss_bytes, diskWriteBytes: r.disk_write_bytes }));
  }

  appendRunSamples(samples: RunSample[]): Promise<void> {
    if (samples.length === 0) return Promise.resolve();
    return this.#write((st) => {
      for (const s of samples) st.insertSample.run(s.runId, s.at, s.cpuMs, s.rssBytes, s.diskWriteBytes);
    });
  }

  rescheduleRun(id: string, at: Millis, now: Millis, audit: NewAudit): Promise<Run> {
    return this.#write((st) => {
      const cur = st.runStatus.get(id);
      if (cur === undefined) throw new SundialError('run_not_found', `No run with id ${id}`);
      if (cur.status !== 'scheduled' && cur.status !== 'queued') {
        throw new SundialError('run_not_reschedulable', `The run is ${cur.status}`);
      }
      const row = st.rescheduleRun.get(at, now, audit.actor, id)!;
      if (cur.trigger === 'schedule') st.recomputeNextRun.run({ task: cur.task_id });
      st.insertAudit.run(newAuditValues(audit));
      return rowToRun(row);
    });
  }

  requestCancel(id: string, now: Millis, audit: NewAudit): Promise<CancelOutcome> {
    return this.#write((st) => {
      const cur = st.runStatus.get(id);
      if (cur === undefined) throw new SundialError('run_not_found', `No run with id ${id}`);
      let row;
      if (cur.status === 'scheduled' || cur.status === 'queued') {
        // The epoch bump fences out the holder's in-memory claim: it can no longer start it.
        row = st.cancelRun.get('cancelled', now, now, audit.actor, id)!;
        st.bumpRunCount.run(cur.namespace, 'cancelled', 1);
        if (cur.trigger === 'schedule') st.recomputeNextRun.run({ task: cur.task_id });
      } else if (cur.status === 'running') {
        row = st.requestRunCancel.get(now, now, audit.actor, id)!;
      } else {
        throw new SundialError('run_already_finished', `The run already ended ${cur.status}`);
      }
      st.insertAudit.run(newAuditValues(audit));
      return { run: rowToRun(row), previousStatus: cur.status as CancelOutcome['previousStatus'] };
    });
  }

  // ---- runs (scheduler side) ----

  claimDueRuns(opts: ClaimOptions): Promise<ClaimedRun[]> {
    return this.#write((st) => claimDue(this.#claimContext(st), opts));
  }

  /** Guards are not checked: this process's dispatcher sees every run (capabilities.shared is false). */
  markRunning(starts: RunStart[]): Promise<StartResult> {
    if (starts.length === 0) return Promise.resolve({ stale: [], busy: [] });
    return this.#write((st) => {
      const stale: string[] = [];
      for (const s of starts) {
        if (st.markRunning.run(s.startedAt, s.startedAt, s.runId, s.leaseEpoch).changes === 0) stale.push(s.runId);
      }
      return { stale, busy: [] };
    });
  }

  completeRuns(completions: RunCompletion[]): Promise<{ stale: string[] }> {
    if (completions.length === 0) return Promise.resolve({ stale: [] });
    return this.#write((st) => {
      const stale: string[] = [];
      // One tasks-row update per task per batch, not per run: 5,000 completions of one task
      // would otherwise rewrite its row 5,000 times.
      const lastByTask = new Map<string, { at: Millis; status: string }>();
      const counts = new RunCountDelta();
      for (const c of completions) {
        const changed = st.completeRun.run(
          c.status,
          c.finishedAt,
          c.startedAt ?? null,
          toJson(c.result),
          toJson(c.error),
          c.reason ?? null,
          c.logsTruncated === true ? 1 : 0,
          c.cpuMs ?? null,
          c.peakRssBytes ?? null,
          c.diskWriteBytes ?? null,
          c.finishedAt,
          c.runId,
          c.leaseEpoch,
        ).changes;
        if (changed === 0) {
          stale.push(c.runId);
          continue;
        }
        const owner = this.#held.take(c.runId) ?? ownerOf(st, c.runId);
        counts.add(owner.namespace, c.status);
        if (c.logs !== undefined && c.logs.length > 0) {
          const by = st.runNode.get(c.runId) ?? 'system';
          for (const l of c.logs) st.insertLog.run(c.runId, l.at, l.level, l.message, by);
        }
        if (c.retry != null) insertRun(st, counts, c.retry, true);
        if (c.notifications !== undefined) this.notifications.insertOutbox(c.notifications);
        const prev = lastByTask.get(owner.taskId);
        if (prev === undefined || prev.at <= c.finishedAt) lastByTask.set(owner.taskId, { at: c.finishedAt, status: c.status });
      }
      // A deleted task simply matches no row here.
      for (const [taskId, last] of lastByTask) st.setTaskLastRun.run(last.at, last.status, taskId, last.at);
      counts.apply(st);
      return { stale };
    });
  }

  extendLeases(node: string, runs: readonly HeldLease[], leaseUntil: Millis): Promise<number> {
    const list = JSON.stringify(runs.map((r) => [r.runId, r.leaseEpoch]));
    return this.#write((st) => st.extendLeases.run({ leaseUntil, node, runs: list }).changes);
  }

  requestCancelOthers(taskId: string, runId: string, now: Millis, actor: string): Promise<string[]> {
    return this.#write((st) => st.requestCancelOthers.all(now, now, actor, taskId, runId).map((r) => r.id));
  }

  /** One bounded writer operation (see retention.ts); the caller calls again while it returns `limit`. */
  pruneHistory(opts: PruneOptions, now: Millis): Promise<number> {
    return this.#write((st) => (this.#retention ??= new SqliteRetention(this.#db)).prune(st, opts, now));
  }

  releaseRuns(node: string, runs: { runId: string; leaseEpoch: number }[], now: Millis): Promise<void> {
    if (runs.length === 0) return Promise.resolve();
    return this.#write((st) => {
      // A stale epoch (someone else holds the run now) matches no row and changes nothing.
      const counts = new RunCountDelta();
      for (const r of runs) {
        let released = st.releaseRun.run(now, node, r.runId, r.leaseEpoch, node).changes > 0;
        if (!released && st.releaseCancelRequested.run(now, now, node, r.runId, r.leaseEpoch, node).changes > 0) {
          released = true;
          counts.add((this.#held.take(r.runId) ?? ownerOf(st, r.runId)).namespace, 'cancelled');
        }
        if (released) this.#held.delete(r.runId);
      }
      counts.apply(st);
    });
  }

  claimOrphanedRuns(opts: { node: string; now: Millis; leaseUntil: Millis; limit: number }): Promise<ClaimedRun[]> {
    return this.#write((st) => claimOrphans(this.#claimContext(st), opts));
  }

  async listCancelRequests(node: string): Promise<string[]> {
    return this.#s.cancelRequests.all(node).map((r) => r.id);
  }

  async countTasks(namespaces: NamespaceScope): Promise<Partial<Record<TaskStatus, number>>> {
    return this.#q.countTasks(namespaces);
  }

  async countRuns(namespaces: NamespaceScope, now: Millis): Promise<RunCounts> {
    return this.#q.countRuns(namespaces, now);
  }

  /**
   * One minute at a time, letting the event loop run in between: reads are synchronous and cost
   * about 1 µs per run, so at 10,000 runs a minute one read of the hour would stall the scheduler
   * (and every request) for over half a second; a minute's slice holds it up ~10 ms. Slices start
   * at `from` in whole minutes, so no minute is split between two.
   */
  async countRunsPerMinute(namespaces: NamespaceScope, from: Millis, to: Millis): Promise<RunMinute[]> {
    const out: RunMinute[] = [];
    for (let at = from; at < to; at += RUN_STATS_SLICE_MS) {
      if (at > from) await new Promise<void>((resolve) => setImmediate(resolve));
      out.push(...this.#q.countRunsPerMinute(namespaces, from, at, Math.min(at + RUN_STATS_SLICE_MS, to)));
    }
    return out;
  }

  // ---- keys, audit, nodes ----

  createApiKey(key: NewApiKey, audit: NewAudit): Promise<ApiKey> {
    return this.#write((st) => {
      const row = this.#insertApiKey(st, key);
      st.insertAudit.run(newAuditValues(audit));
      return rowToApiKey(row);
    });
  }

  #insertApiKey(st: Statements, key: NewApiKey): ApiKeyRow {
    return st.insertApiKey.get(
      key.id,
      key.name,
      key.role,
      JSON.stringify(key.namespaces),
      key.prefix,
      key.hash,
      key.lastUsedAt,
      key.revokedAt,
      key.createdAt,
      key.createdAt,
      key.createdBy,
      key.createdBy,
      key.expiresAt ?? null,
      key.scopes === undefined || key.scopes === null ? null : JSON.stringify(key.scopes),
    )!;
  }

  rotateApiKey(r: ApiKeyRotation): Promise<{ old: ApiKey; key: ApiKey }> {
    return this.#write((st) => {
      const current = st.apiKeyById.get(r.oldId);
      if (current === undefined) throw new SundialError('api_key_not_found', `No API key with id ${r.oldId}`);
      const refusal = rotationRefusal(rowToApiKey(current), r.now);
      if (refusal !== null) throw new SundialError('api_key_not_active', `cannot rotate API key ${r.oldId}: ${refusal}`);
      const key = rowToApiKey(this.#insertApiKey(st, r.successor));
      const old = rowToApiKey(st.retireApiKey.get(r.oldExpiresAt, r.oldExpiresAt, r.successor.id, r.now, r.audit.actor, r.oldId)!);
      st.insertAudit.run(newAuditValues(r.audit));
      return { old, key };
    });
  }

  async findApiKeyByHash(hash: string): Promise<StoredApiKey | null> {
    const row = this.#s.apiKeyByHash.get(hash);
    return row === undefined ? null : rowToStoredApiKey(row);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return this.#s.listApiKeys.all().map(rowToApiKey);
  }

  revokeApiKey(id: string, now: Millis, audit: NewAudit): Promise<ApiKey> {
    return this.#write((st) => {
      const row = st.revokeApiKey.get(now, now, audit.actor, id);
      if (row === undefined) throw new SundialError('api_key_not_found', `No API key with id ${id}`);
      st.insertAudit.run(newAuditValues(audit));
      return rowToApiKey(row);
    });
  }

  /**
   * Best effort, one-second resolution: every authenticated request touches its key, and a
   * write (with its fsync) per request would double the cost of reads. Touches within a second
   * of the last written one are dropped; the rest ride the next group commit.
   */
  recordApiKeyUse(use: ApiKeyUse): Promise<boolean> {
    const last = this.#touched.get(use.id);
    if (use.newAddressAudit === null && last !== undefined && use.at >= last && use.at - last < TOUCH_RESOLUTION_MS) return Promise.resolve(false);
    if (this.#touched.size > 10_000) this.#touched.clear();
    this.#touched.set(use.id, use.at);
    return this.#write((st) => {
      const row = st.apiKeyById.get(use.id);
      if (row === undefined) return false;
      const known = row.addresses === null ? [] : (JSON.parse(row.addresses) as string[]);
      const merged = use.ip === null ? { addresses: known, isNew: false } : mergeKeyAddress(known, use.ip, API_KEY_ADDRESSES);
      st.recordApiKeyUse.run(use.at, use.ip, use.at, JSON.stringify(merged.addresses), use.id);
      // The first address is where the key starts, not a change worth a row.
      if (merged.isNew && known.length > 0 && use.newAddressAudit !== null) st.insertAudit.run(newAuditValues(use.newAddressAudit));
      return merged.isNew;
    });
  }

  async countApiKeys(): Promise<number> {
    return this.#s.countApiKeys.get()?.n ?? 0;
  }

  async listAudit(filter: AuditFilter): Promise<Page<AuditEntry>> {
    return this.#q.listAudit(filter);
  }

  appendAudit(entry: NewAudit): Promise<void> {
    return this.#write((st) => {
      st.insertAudit.run(newAuditValues(entry));
    });
  }

  upsertNode(node: NodeRegistration, aliveSince: Millis): Promise<void> {
    return this.#write((st) => {
      const { roles, ...rest } = node;
      if (st.upsertNode.run({ ...rest, roles: JSON.stringify(roles), aliveSince }).changes === 0) throw nodeIdTaken(node.id);
    });
  }

  async listNodes(seenSince: Millis): Promise<NodeRegistration[]> {
    return this.#s.listNodes.all(seenSince).map(rowToNode);
  }

  removeNode(id: string, instanceId: string): Promise<void> {
    return this.#write((st) => {
      st.removeNode.run(id, instanceId);
    });
  }

  // ---- plumbing ----

  get #s(): Statements {
    if (this.#st === null) throw notMigrated();
    return this.#st;
  }

  get #q(): Queries {
    if (this.#queries === null) throw notMigrated();
    return this.#queries;
  }

  #claimContext(st: Statements): ClaimContext {
    return { st, taskParts: this.#taskParts, held: this.#held };
  }

  #write<T>(fn: (st: Statements) => T): Promise<T> {
    const st = this.#st;
    if (st === null) return Promise.reject(notMigrated());
    return this.#writer.run(() => fn(st));
  }
}

/** Cancels the task's pending schedule occurrence(s) and puts `nextRun` in their place; returns its due time. */
function replacePending(
  st: Statements,
  taskId: string,
  reason: string,
  nextRun: NewRun | null,
  now: Millis,
  actor: string,
): Millis | null {
  const counts = new RunCountDelta();
  let keptId: string | null = null;
  let nextAt: Millis | null = null;
  if (nextRun !== null) {
    const same = st.runByKey.get(nextRun.taskId, nextRun.idempotencyKey, nextRun.attempt);
    if (same === undefined) {
      insertRun(st, counts, nextRun, false);
      keptId = nextRun.id;
      nextAt = nextRun.scheduledFor;
    } else {
      // The same occurrence already has a row: keep it pending (moved to the new due time)
      // rather than cancel it and insert a duplicate the unique key would refuse.
      const revived = st.reviveCancelledRun.get(
        nextRun.scheduledFor,
        nextRun.priority,
        toJson(nextRun.payload),
        nextRun.taskName,
        now,
        actor,
        same.id,
      );
      if (revived !== undefined) {
        counts.add(same.namespace, same.status, -1);
        keptId = revived.id;
        nextAt = revived.scheduled_for;
      }
    }
  }
  for (const pending of st.pendingScheduleRuns.all(taskId)) {
    if (pending.id === keptId) continue;
    st.cancelRun.run(reason, now, now, actor, pending.id);
    counts.add(pending.namespace, 'cancelled');
  }
  counts.apply(st);
  return nextAt;
}

/** Turns the unique violation on (namespace, name) into `task_name_taken`; other errors pass. */
function nameTaken(err: unknown, namespace: string, name: string): unknown {
  const e = err as { code?: unknown; message?: unknown };
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' && typeof e.message === 'string' && e.message.includes('tasks.name')) {
    return new SundialError('task_name_taken', `A task named "${name}" already exists in namespace "${namespace}"`, {
      cause: err,
    });
  }
  return err;
}

function ownerOf(st: Statements, runId: string): RunOwner {
  const row = st.runOwner.get(runId)!;
  return { taskId: row.task_id, namespace: row.namespace };
}

function notMigrated(): Error {
  return new Error('the SQLite store is not migrated: call migrate() first');
}

function sortRuns(runs: Run[]): Run[] {
  return runs.sort((a, b) => a.scheduledFor - b.scheduledFor || (a.id < b.id ? -1 : 1));
}
