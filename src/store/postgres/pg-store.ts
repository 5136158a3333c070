// The PostgreSQL implementation of the Store contract (src/store/store.ts): any number of nodes
// share one database. Every write is one transaction, committed before its promise resolves, and
// retried whole on transient failures (db.ts); the scheduler's hot path lives in claims.ts,
// starts.ts and completions.ts, the task writes in tasks.ts, the filtered reads in queries.ts.
import { randomInt, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { SundialError } from '../../core/errors.js';
import type { ApiKey, AuditEntry, LogLine, LogLevel, Millis, ResourceSample, Run, Task, TaskStatus } from '../../core/types.js';
import { API_KEY_ADDRESSES } from '../store.js';
import { mergeKeyAddress, rotationRefusal, TaskPartsCache, newAuditValues, newRunToRun, rowToApiKey, rowToNode, rowToRun, rowToStoredApiKey, rowToTask } from '../rows.js';
import { RunCountTally } from '../run-count-tally.js';
import { nodeIdTaken } from '../store-errors.js';
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
  StoreCapabilities,
  StoredApiKey,
  ApiKeyRotation,
  ApiKeyUse,
  NewApiKey,
  TaskFilter,
  UpdateTaskOptions,
} from '../store.js';
import { claimDue, claimOrphans, type ClaimContext } from './claims.js';
import { completeRuns } from './completions.js';
import { PgDb } from './db.js';
import { applyPgMigrations } from './migrations.js';
import { createPool, type PgConnectOptions } from './pool.js';
import * as Q from './queries.js';
import { pruneHistoryPg } from './retention.js';
import type { RetryOptions } from './retry.js';
import { applyCounts } from './run-counts.js';
import { PgSignals } from './signals.js';
import { markRunning } from './starts.js';
import { PgNotifications } from './notifications.js';
import { PgAlerts } from './alerts.js';
import { PgSecrets } from './secrets.js';
import * as S from './statements.js';
import { createTask, deleteTask, updateTask } from './tasks.js';
import { PgAuditChain } from './audit-chain.js';

export { SchemaTooNewError } from './migrations.js';

/** How to reach the database and how hard to try. */
export interface PostgresStoreOptions extends PgConnectOptions {
  /** This node's id: only in the signal sender ids, to tell nodes apart when debugging. */
  nodeId?: string;
  /** Most pooled connections (default 10). */
  poolSize?: number;
  /** See PgPoolOptions.queryTimeoutMs (default 15,000 ms). */
  queryTimeoutMs?: number;
  /** See PgPoolOptions.idleInTransactionTimeoutMs (default 2,000 ms). */
  idleInTransactionTimeoutMs?: number;
  /** Retries of transient failures (default: up to ~2 s of backoff per call). */
  retry?: RetryOptions;
  /** The LISTEN/NOTIFY channel of the signals (default `sundial`). */
  channel?: string;
  /** Reports errors of idle or listening connections (they are replaced by themselves). */
  onConnectionError?: (err: Error) => void;
}

/** Opens the PostgreSQL store (connections are made on first use). Call `migrate()` before use. */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  return new PostgresStore(opts);
}

/** Shards of run_counts (see schema.ts); each store instance adds to one. */
const RUN_COUNT_SHARDS = 16;

/** `lastUsedAt` resolution: a touch closer than this to the last written one is not written. */
const TOUCH_RESOLUTION_MS = 1000;

/** The Store on a PostgreSQL database that other nodes share. */
export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  // Other nodes share the database: leases of live nodes are respected, starts carry guards.
  readonly capabilities: StoreCapabilities;
  readonly signals: PgSignals;
  readonly notifications: PgNotifications;
  readonly alerts: PgAlerts;
  readonly secrets: PgSecrets;
  readonly auditChain: PgAuditChain;
  readonly #pool: pg.Pool;
  readonly #db: PgDb;
  readonly #ctx: ClaimContext;
  /** Claims that failed with their COMMIT's fate unknown: their runs are handed back (claimDueRuns). */
  readonly #uncertainClaims: { node: string; token: string; leaseUntil: Millis }[] = [];
  readonly #taskParts = new TaskPartsCache();
  /** Last `lastUsedAt` written per key; touches within the resolution are not written again. */
  readonly #touched = new Map<string, Millis>();
  readonly #connect: PgConnectOptions;
  #migrated = false;
  #closed = false;

  constructor(opts: PostgresStoreOptions) {
    this.#connect = opts;
    this.#pool = createPool({ ...opts, ...(opts.onConnectionError && { onError: opts.onConnectionError }) });
    this.#db = new PgDb(this.#pool, opts.retry ?? {});
    // Half the pool for transition batches at most, the rest for claims, the API and renewals.
    this.capabilities = { shared: true, writeLanes: Math.max(1, Math.min(4, Math.floor((opts.poolSize ?? 10) / 2))), inProcess: false };
    // Random, not derived from the node id: two stores of one node (tests, a restart that
    // overlaps the old process) then rarely share a shard, and none is ever required to.
    this.#ctx = { shard: randomInt(RUN_COUNT_SHARDS), taskParts: this.#taskParts };
    this.notifications = new PgNotifications(
      (fn) => this.#tx(fn),
      async (text, values) => this.#read(async (sql) => (await sql.query(text, values)).rows),
    );
    this.alerts = new PgAlerts(
      (fn) => this.#tx(fn),
      async (text, values) => this.#read(async (sql) => (await sql.query(text, values)).rows),
    );
    this.secrets = new PgSecrets(
      (fn) => this.#tx(fn),
      async (text, values) => this.#read(async (sql) => (await sql.query(text, values)).rows),
    );
    this.auditChain = new PgAuditChain(
      (fn) => this.#tx(fn),
      async (text, values) => this.#read(async (sql) => (await sql.query(text, values)).rows),
    );
    this.signals = new PgSignals({
      connect: opts,
      db: this.#db,
      instanceId: `${opts.nodeId ?? 'store'}/${randomUUID()}`,
      ...(opts.channel !== undefined && { channel: opts.channel }),
      ...(opts.onConnectionError && { onError: opts.onConnectionError }),
    });
  }

  async migrate(): Promise<void> {
    this.#open();
    // Safe to repeat: each step commits with its version row, and a repeat skips what is there.
    await this.#db.retry(() => applyPgMigrations(this.#connect));
    this.#migrated = true;
  }

  async databaseTime(): Promise<Millis> {
    return (await this.#one(S.databaseTime)).rows[0]!.t;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.signals.close();
    await this.#pool.end();
  }

  // ---- tasks ----

  createTask(task: NewTask, firstRun: NewRun | null, audit: NewAudit): Promise<Task> {
    return this.#tx((c) => createTask(c, this.#ctx.shard, task, firstRun, audit));
  }

  async getTask(id: string): Promise<Task | null> {
    const row = (await this.#one(S.taskById, [id])).rows[0];
    return row === undefined ? null : rowToTask(row);
  }

  async getTaskByName(namespace: string, name: string): Promise<Task | null> {
    const row = (await this.#one(S.taskByName, [namespace, name])).rows[0];
    return row === undefined ? null : rowToTask(row);
  }

  listTasks(filter: TaskFilter): Promise<Page<Task>> {
    return this.#read((sql) => Q.listTasks(sql, filter));
  }

  listRecentRuns(taskIds: readonly string[], perTask: number): Promise<Map<string, RecentRun[]>> {
    return this.#read((sql) => Q.listRecentRuns(sql, taskIds, perTask));
  }

  async updateTask(task: Task, opts: UpdateTaskOptions): Promise<Task> {
    const updated = await this.#tx((c) => updateTask(c, this.#ctx.shard, task, opts));
    this.#taskParts.forget(task.id);
    return updated;
  }

  async deleteTask(id: string, now: Millis, audit: NewAudit): Promise<DeleteTaskOutcome> {
    const out = await this.#tx((c) => deleteTask(c, this.#ctx.shard, id, now, audit));
    this.#taskParts.forget(id);
    return out;
  }

  // ---- runs (API side) ----

  createRun(run: NewRun, audit: NewAudit | null): Promise<{ run: Run; created: boolean }> {
    return this.#tx(async (c) => {
      if ((await S.insertRunIfNew.run(c, S.newRunValues(run))).rowCount === 0) {
        // The key is taken (a repeated request): the insert waited for any transaction still
        // writing that row, so it is committed and visible to this next statement.
        const existing = (await S.runByKey.run(c, [run.taskId, run.idempotencyKey, run.attempt])).rows[0];
        if (existing === undefined) throw new Error(`run key ${run.idempotencyKey} conflicted but has no row`);
        return { run: rowToRun(existing), created: false };
      }
      // The audit chain's head, then the counts (the lock order in statements.ts).
      if (audit !== null) await S.insertAudit.run(c, newAuditValues(audit));
      await this.#count(c, (t) => t.add(run.namespace, run.status));
      return { run: newRunToRun(run), created: true };
    });
  }

  async getRun(id: string): Promise<Run | null> {
    const row = (await this.#one(S.runById, [id])).rows[0];
    return row === undefined ? null : rowToRun(row);
  }

  listRuns(filter: RunFilter): Promise<Page<Run>> {
    return this.#read((sql) => Q.listRuns(sql, filter));
  }

  async getRunLogs(id: string): Promise<LogLine[]> {
    return (await this.#one(S.runLogs, [id])).rows.map((l) => ({ at: l.at, level: l.level as LogLevel, message: l.message }));
  }

  async appendRunLogs(runId: string, lines: LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.#tx((c) => S.appendLogs.run(c, [runId, lines.map((l) => l.at), lines.map((l) => l.level), lines.map((l) => l.message)]));
  }

  async getRunSamples(runId: string): Promise<ResourceSample[]> {
    return (await this.#one(S.runSamples, [runId])).rows.map((r) => ({
      at: r.at,
      cpuMs: r.cpu_ms,
      rssBytes: r.rss_bytes,
      diskWriteBytes: r.disk_write_bytes,
    }));
  }

  async appendRunSamples(samples: RunSample[]): Promise<void> {
    if (samples.length === 0) return;
    await this.#tx((c) =>
      S.insertSamples.run(c, [
        samples.map((s) => s.runId),
        samples.map((s) => s.at),
        samples.map((s) => s.cpuMs),
        samples.map((s) => s.rssBytes),
        samples.map((s) => s.diskWriteBytes),
      ]),
    );
  }

  rescheduleRun(id: string, at: Millis, now: Millis, audit: NewAudit): Promise<Run> {
    return this.#tx(async (c) => {
      const cur = (await S.lockRunStatus.run(c, [id])).rows[0];
      if (cur === undefined) throw new SundialError('run_not_found', `No run with id ${id}`);
      if (cur.status !== 'scheduled' && cur.status !== 'queued') {
        throw new SundialError('run_not_reschedulable', `The run is ${cur.status}`);
      }
      const row = (await S.rescheduleRun.run(c, [at, now, audit.actor, id])).rows[0]!;
      if (cur.trigger === 'schedule') await S.recomputeNextRun.run(c, [cur.task_id]);
      await S.insertAudit.run(c, newAuditValues(audit));
      return rowToRun(row);
    });
  }

  requestCancel(id: string, now: Millis, audit: NewAudit): Promise<CancelOutcome> {
    return this.#tx(async (c) => {
      const cur = (await S.lockRunStatus.run(c, [id])).rows[0];
      if (cur === undefined) throw new SundialError('run_not_found', `No run with id ${id}`);
      let row;
      const counts = new RunCountTally();
      if (cur.status === 'scheduled' || cur.status === 'queued') {
        // The epoch bump fences out the holder's in-memory claim: it can no longer start it.
        row = (await S.cancelRun.run(c, ['cancelled', now, audit.actor, id])).rows[0]!;
        counts.add(cur.namespace, 'cancelled');
        if (cur.trigger === 'schedule') await S.recomputeNextRun.run(c, [cur.task_id]);
      } else if (cur.status === 'running') {
        row = (await S.requestRunCancel.run(c, [now, audit.actor, id])).rows[0]!;
      } else {
        throw new SundialError('run_already_finished', `The run already ended ${cur.status}`);
      }
      await S.insertAudit.run(c, newAuditValues(audit)); // the chain's head, then the counts: see statements.ts
      await applyCounts(c, this.#ctx.shard, counts);
      return { run: rowToRun(row), previousStatus: cur.status as CancelOutcome['previousStatus'] };
    });
  }

  // ---- runs (scheduler side) ----

  async claimDueRuns(opts: ClaimOptions): Promise<ClaimedRun[]> {
    await this.#releaseUncertainClaims(opts.node, opts.now);
    // A claim that starts runs marks them with a token of its own: should its COMMIT's answer be
    // lost, they would be `running` on this node with nobody executing them, and recovered as
    // `lost` once the lease lapsed. They are handed back instead (#releaseUncertainClaims).
    const token = opts.startDue === undefined ? opts.node : `${opts.node} claim:${randomUUID()}`;
    try {
      return await this.#tx((c) => claimDue(c, this.#ctx, opts, token));
    } catch (err) {
      if (token !== opts.node) this.#uncertainClaims.push({ node: opts.node, token, leaseUntil: opts.leaseUntil });
      throw err;
    }
  }

  /**
   * Hands back the runs of failed claims that may have committed after all (a no-op for those
   * that did not). Tried before every claim until it succeeds; the lease leaves many chances.
   */
  async #releaseUncertainClaims(node: string, now: Millis): Promise<void> {
    const pending = this.#uncertainClaims.filter((u) => u.node === node);
    for (const u of pending) {
      await this.#db.one(S.releaseClaim, [u.node, u.token, u.leaseUntil, now]);
      this.#uncertainClaims.splice(this.#uncertainClaims.indexOf(u), 1);
    }
  }

  markRunning(starts: RunStart[], now?: () => Millis): Promise<StartResult> {
    if (starts.length === 0) return Promise.resolve({ stale: [], busy: [] });
    const bad = this.#unusable();
    return bad ?? markRunning(this.#db, starts, now);
  }

  async completeRuns(completions: RunCompletion[]): Promise<{ stale: string[] }> {
    if (completions.length === 0) return { stale: [] };
    return { stale: await this.#tx((c) => completeRuns(c, this.#ctx.shard, completions)) };
  }

  async extendLeases(node: string, runs: readonly HeldLease[], leaseUntil: Millis): Promise<number> {
    // Safe to run twice (the same lease again), so a lost answer is simply retried.
    return (await this.#one(S.extendLeases, [leaseUntil, node, runs.map((r) => r.runId), runs.map((r) => r.leaseEpoch)])).rowCount ?? 0;
  }

  requestCancelOthers(taskId: string, runId: string, now: Millis, actor: string): Promise<string[]> {
    return this.#tx(async (c) => (await S.requestCancelOthers.run(c, [now, actor, taskId, runId])).rows.map((r) => r.id));
  }

  pruneHistory(opts: PruneOptions, now: Millis): Promise<number> {
    return this.#read((sql) => pruneHistoryPg(sql, opts, now, this.#ctx.shard));
  }

  async releaseRuns(node: string, runs: { runId: string; leaseEpoch: number }[], now: Millis): Promise<void> {
    if (runs.length === 0) return;
    const ids = runs.map((r) => r.runId);
    const epochs = runs.map((r) => r.leaseEpoch);
    await this.#tx(async (c) => {
      // A stale epoch (someone else holds the run now) matches no row and changes nothing.
      await S.releaseRuns.run(c, [now, node, ids, epochs]);
      const { rows } = await S.releaseCancelRequested.run(c, [now, node, ids, epochs]);
      await this.#count(c, (t) => {
        for (const r of rows) t.add(r.namespace, 'cancelled');
      });
    });
  }

  claimOrphanedRuns(opts: { node: string; now: Millis; leaseUntil: Millis; limit: number }): Promise<ClaimedRun[]> {
    return this.#tx((c) => claimOrphans(c, this.#ctx, opts));
  }

  async listCancelRequests(node: string): Promise<string[]> {
    return (await this.#one(S.cancelRequests, [node])).rows.map((r) => r.id);
  }

  countRuns(namespaces: NamespaceScope, now: Millis): Promise<RunCounts> {
    return this.#read((sql) => Q.countRuns(sql, namespaces, now));
  }

  countRunsPerMinute(namespaces: NamespaceScope, from: Millis, to: Millis): Promise<RunMinute[]> {
    return this.#read((sql) => Q.countRunsPerMinute(sql, namespaces, from, to));
  }

  countTasks(namespaces: NamespaceScope): Promise<Partial<Record<TaskStatus, number>>> {
    return this.#read((sql) => Q.countTasks(sql, namespaces));
  }

  // ---- keys, audit, nodes ----

  createApiKey(key: NewApiKey, audit: NewAudit): Promise<ApiKey> {
    return this.#tx(async (c) => {
      const row = (await S.insertApiKey.run(c, apiKeyValues(key))).rows[0]!;
      await S.insertAudit.run(c, newAuditValues(audit));
      return rowToApiKey(row);
    });
  }

  rotateApiKey(r: ApiKeyRotation): Promise<{ old: ApiKey; key: ApiKey }> {
    return this.#tx(async (c) => {
      // Locked, so two rotations of one key cannot both see it unrotated.
      const current = (await S.apiKeyByIdForUpdate.run(c, [r.oldId])).rows[0];
      if (current === undefined) throw new SundialError('api_key_not_found', `No API key with id ${r.oldId}`);
      const refusal = rotationRefusal(rowToApiKey(current), r.now);
      if (refusal !== null) throw new SundialError('api_key_not_active', `cannot rotate API key ${r.oldId}: ${refusal}`);
      const key = rowToApiKey((await S.insertApiKey.run(c, apiKeyValues(r.successor))).rows[0]!);
      const old = rowToApiKey((await S.retireApiKey.run(c, [r.oldExpiresAt, r.successor.id, r.now, r.audit.actor, r.oldId])).rows[0]!);
      await S.insertAudit.run(c, newAuditValues(r.audit));
      return { old, key };
    });
  }

  async findApiKeyByHash(hash: string): Promise<StoredApiKey | null> {
    const row = (await this.#one(S.apiKeyByHash, [hash])).rows[0];
    return row === undefined ? null : rowToStoredApiKey(row);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (await this.#one(S.listApiKeys)).rows.map(rowToApiKey);
  }

  revokeApiKey(id: string, now: Millis, audit: NewAudit): Promise<ApiKey> {
    return this.#tx(async (c) => {
      const row = (await S.revokeApiKey.run(c, [now, audit.actor, id])).rows[0];
      if (row === undefined) throw new SundialError('api_key_not_found', `No API key with id ${id}`);
      await S.insertAudit.run(c, newAuditValues(audit));
      return rowToApiKey(row);
    });
  }

  /**
   * Best effort, one-second resolution: every authenticated request touches its key, and a
   * write per request would double the cost of reads. Touches within a second of the last one
   * this store wrote are dropped. The statement never moves the time back, so it may run twice.
   */
  async recordApiKeyUse(use: ApiKeyUse): Promise<boolean> {
    const last = this.#touched.get(use.id);
    if (use.newAddressAudit === null && last !== undefined && use.at >= last && use.at - last < TOUCH_RESOLUTION_MS) return false;
    if (this.#touched.size > 10_000) this.#touched.clear();
    this.#touched.set(use.id, use.at);
    return this.#tx(async (c) => {
      const row = (await S.apiKeyByIdForUpdate.run(c, [use.id])).rows[0];
      if (row === undefined) return false;
      const known = row.addresses === null ? [] : (JSON.parse(row.addresses) as string[]);
      const merged = use.ip === null ? { addresses: known, isNew: false } : mergeKeyAddress(known, use.ip, API_KEY_ADDRESSES);
      await S.recordApiKeyUse.run(c, [use.at, use.ip, JSON.stringify(merged.addresses), use.id]);
      // The first address is where the key starts, not a change worth a row.
      if (merged.isNew && known.length > 0 && use.newAddressAudit !== null) await S.insertAudit.run(c, newAuditValues(use.newAddressAudit));
      return merged.isNew;
    });
  }

  async countApiKeys(): Promise<number> {
    return (await this.#one(S.countApiKeys)).rows[0]?.n ?? 0;
  }

  listAudit(filter: AuditFilter): Promise<Page<AuditEntry>> {
    return this.#read((sql) => Q.listAudit(sql, filter));
  }

  async appendAudit(entry: NewAudit): Promise<void> {
    await this.#tx((c) => S.insertAudit.run(c, newAuditValues(entry)));
  }

  async upsertNode(node: NodeRegistration, aliveSince: Millis): Promise<void> {
    // Safe to run twice: the second run finds this instance's own row and refreshes it.
    const { rowCount } = await this.#one(S.upsertNode, [
      node.id,
      node.host,
      node.pid,
      node.version,
      JSON.stringify(node.roles),
      node.startedAt,
      node.heartbeatAt,
      node.instanceId,
      node.runsInFlight,
      aliveSince,
    ]);
    if (rowCount === 0) throw nodeIdTaken(node.id);
  }

  async listNodes(seenSince: Millis): Promise<NodeRegistration[]> {
    return (await this.#one(S.listNodes, [seenSince])).rows.map(rowToNode);
  }

  async removeNode(id: string, instanceId: string): Promise<void> {
    await this.#one(S.removeNode, [id, instanceId]);
  }

  // ---- plumbing ----

  /** A write: one transaction, retried whole. */
  #tx<T>(fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    return this.#unusable() ?? this.#db.transaction(fn);
  }

  /** A read, or a write that may run twice: one statement, retried. */
  #one<R extends pg.QueryResultRow>(statement: S.Statement<R>, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.#unusable() ?? this.#db.one(statement, values);
  }

  /** A read through the filtered queries (queries.ts), with the same retries. */
  #read<T>(fn: (sql: PgDb['sql']) => Promise<T>): Promise<T> {
    return this.#unusable() ?? fn(this.#db.sql);
  }

  /** Adds count changes to this store's shard, last in the transaction (the hottest rows). */
  async #count(c: pg.ClientBase, fill: (t: RunCountTally) => void): Promise<void> {
    const tally = new RunCountTally();
    fill(tally);
    await applyCounts(c, this.#ctx.shard, tally);
  }

  #open(): void {
    if (this.#closed) throw closedError();
  }

  /** A rejection when the store cannot be used (closed, or not migrated), else null. */
  #unusable(): Promise<never> | null {
    if (this.#closed) return Promise.reject(closedError());
    if (!this.#migrated) return Promise.reject(new Error('the PostgreSQL store is not migrated: call migrate() first'));
    return null;
  }
}

function closedError(): Error {
  return new Error('the PostgreSQL store is closed');
}

/** The insert_api_key parameters of `key`. */
function apiKeyValues(key: NewApiKey): unknown[] {
  return [
    key.id,
    key.name,
    key.role,
    JSON.stringify(key.namespaces),
    key.prefix,
    key.hash,
    key.lastUsedAt,
    key.revokedAt,
    key.createdAt,
    key.createdBy,
    key.expiresAt ?? null,
    key.scopes === undefined || key.scopes === null ? null : JSON.stringify(key.scopes),
  ];
}
