// The Store contract: everything Sundial keeps, named for what each operation means.
// SQLite (embedded, one node) implements it now; PostgreSQL (cluster) implements the same
// contract, and test/store/conformance.ts runs against every implementation.
//
// Rules every implementation keeps:
// - A resolved write is committed and durable (synced to disk / committed in PostgreSQL).
// - Writes that carry an `audit` entry store it in the same transaction as the change.
// - Every run write that names a lease epoch is refused for a stale epoch (fencing).
// - Times are epoch milliseconds passed in by the caller (`now`): the store never reads a clock.

import type {
  ApiKey,
  AuditEntry,
  LogLine,
  Millis,
  NamespaceScope,
  NewRun,
  NodeInfo,
  ResourceSample,
  Run,
  RunError,
  RunCounts,
  RunMetrics,
  RunStatus,
  Task,
  TaskKind,
  TaskStatus,
} from '../core/types.js';
import type { LatenessBucket } from '../core/lateness.js';
import type { OccurrencePlan, PlanOccurrence } from '../core/planner.js';
import type { NewNotification } from '../core/notify.js';
import type { NotificationStore } from './notification-store.js';
import type { AlertStore } from './alert-store.js';
import type { SecretStore } from './secret-store.js';
import type { AuditChainStore } from './audit-store.js';

// Shapes the core defines and the Store contract uses, re-exported for the store's many callers.
export type { NamespaceScope, NewRun, OccurrencePlan, PlanOccurrence, RunCounts };

/** A page of results; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An audit row to write with a change (id and time are filled by the store from `at`). */
export interface NewAudit {
  namespace: string;
  at: Millis;
  actor: string;
  ip: string | null;
  action: string;
  targetType: string;
  targetId: string;
  detail?: unknown;
}

/** The task row as written on create (counters start at their zero values). */
export type NewTask = Omit<Task, 'firedCount' | 'lastRunAt' | 'lastRunStatus' | 'version'>;

/** A claimed run with its task as it was at claim time. */
export interface ClaimedRun {
  run: Run;
  task: Task;
}

export interface ClaimOptions {
  node: string;
  now: Millis;
  /** Claim runs due at or before this time (now + lookahead). */
  horizon: Millis;
  limit: number;
  leaseUntil: Millis;
  plan: PlanOccurrence;
  /**
   * Starts runs already due at `now` in the claim's own write instead of a second one: given the
   * claimed runs due by `now` (in due order; never skipped or cancelled ones), returns those to go
   * straight to `running`, started at `now`. Called right before the claim's write, once per
   * attempt of its transaction (a later call replaces an earlier one's choice).
   */
  startDue?: (due: readonly ClaimedRun[]) => ReadonlySet<ClaimedRun>;
  /**
   * Fair share between namespaces: when the batch comes back full (more is due than one claim
   * takes), also claim up to this many due runs, split between the namespaces with none in the
   * batch (at least one each, oldest first), so a flood in one namespace cannot hold back another's
   * due runs until it has drained.
   */
  spread?: number;
}

/** The end of one run attempt (or a skip/cancel decided by the dispatcher). */
/** A resource sample of one run, as stored. */
export interface RunSample extends ResourceSample {
  runId: string;
}

export interface RunCompletion extends Partial<RunMetrics> {
  runId: string;
  /** The claim's fencing token; a mismatch makes the store refuse this completion. */
  leaseEpoch: number;
  status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'skipped';
  finishedAt: Millis;
  /** Set when the run started (may be missing for runs skipped or cancelled while queued). */
  startedAt?: Millis | null;
  result?: unknown;
  error?: RunError | null;
  reason?: string | null;
  logs?: LogLine[];
  logsTruncated?: boolean;
  /** A retry attempt to insert in the same transaction. */
  retry?: NewRun | null;
  /** Outbox rows this outcome causes (policies.notify), inserted in the same transaction; absent for most runs. */
  notifications?: NewNotification[];
}

export interface RunStart {
  runId: string;
  leaseEpoch: number;
  startedAt: Millis;
  /**
   * Checked by stores whose database other nodes share (`capabilities.shared`), under a lock per
   * task and per key so two nodes cannot both pass: the start is refused (`busy`) while another
   * run of `overlapTaskId` is running, or while `concurrency.cap` runs of `concurrency.key` are.
   * A single-process store leaves this to the dispatcher, which sees every run.
   */
  guard?: StartGuard;
}

/** A run a node holds, at the fencing epoch of its claim. */
export interface HeldLease {
  runId: string;
  leaseEpoch: number;
}

/** What a start must not collide with across the cluster (see RunStart.guard). */
export interface StartGuard {
  /** A schedule occurrence whose overlap policy is not `allow_all`: no other run of this task may be running. */
  overlapTaskId?: string;
  /** At most `cap` runs of tasks with this concurrency key running at once (key: `concurrencyKey` or `task:<id>`). */
  concurrency?: { key: string; cap: number };
}

/** The result of `markRunning`. */
export interface StartResult {
  /** Refused for a stale epoch (cancelled, rescheduled, taken over): the run must not start. */
  stale: string[];
  /** Refused by the guard; the run is still `queued` and held by this node. */
  busy: { runId: string; reason: 'overlap' | 'concurrency' }[];
  /** Starts written with a later `startedAt` than the one asked for (see `Store.markRunning`). */
  restamped?: { runId: string; startedAt: Millis }[];
}

/** What a backend can do; the scheduler reads these flags, never `backend`. */
export interface StoreCapabilities {
  /**
   * Other processes share the database: runs `queued`/`running` at start may belong to a live
   * node (only expired leases are taken over), starts carry guards, nodes must heartbeat.
   */
  shared: boolean;
  /**
   * How many batches of run transitions may be written at once. One for a single writer (SQLite
   * commits one transaction at a time anyway); more where each batch gets its own connection,
   * so a burst's starts are written side by side instead of queueing behind each other.
   */
  writeLanes: number;
  /**
   * Statements run on the caller's thread (SQLite): a long transaction blocks every timer of
   * the process meanwhile, so the dispatcher sizes its claims by time while runs wait to be due.
   */
  inProcess: boolean;
}

/** Messages between the nodes of one database: wake-up hints, never the truth (see StoreSignals). */
export interface StoreSignals {
  /**
   * Sends `payload` on `topic` to every other node listening (not to this process). Best effort:
   * a message may be lost (a node reconnecting), so receivers also poll for what matters.
   * Payloads must stay below 7,000 bytes.
   */
  publish(topic: string, payload: string): Promise<void>;
  /** Receives other nodes' messages; returns the function that stops it. */
  subscribe(handler: (topic: string, payload: string) => void): () => void;
}

/** Retention of finished runs (with their logs and samples), see `pruneHistory`. */
export interface PruneOptions {
  /** Finished runs that finished before this are deleted (null: no age limit). */
  finishedBefore: Millis | null;
  /** Keep at most this many finished runs per task, newest first (null: no count limit). */
  keepPerTask: number | null;
  /** Most runs deleted by this call (one small transaction; call again while it returns `limit`). */
  limit: number;
}

/** A node's registration row. */
export interface NodeRegistration extends NodeInfo {
  /** Random per process: tells a restarted or duplicate node with the same id apart. */
  instanceId: string;
  runsInFlight: number;
}

/**
 * Orders of a task listing, `-` for descending. `createdAt` is id order (ids are UUIDv7); the
 * others break ties by id (descending with the sort); tasks without the time sort last.
 */
export const TASK_SORTS = ['createdAt', '-createdAt', 'name', '-name', 'nextRunAt', '-nextRunAt', 'lastRunAt', '-lastRunAt'] as const;
export type TaskSort = (typeof TASK_SORTS)[number];

/** Schedule types a task listing can filter by; `none` is a task without a schedule. */
export const SCHEDULE_FILTERS = ['once', 'interval', 'cron', 'none'] as const;
export type ScheduleFilter = (typeof SCHEDULE_FILTERS)[number];

export interface TaskFilter {
  namespaces: NamespaceScope;
  status?: TaskStatus;
  kind?: TaskKind;
  /** Case-insensitive substring of the name or description. */
  q?: string;
  schedule?: ScheduleFilter;
  /** Default `createdAt`; a cursor pages only the sort it was made for (else `invalid_cursor`). */
  sort?: TaskSort;
  limit: number;
  cursor?: string;
}

/** A finished run in a task's recent history (for a sparkline of outcomes). */
export interface RecentRun {
  id: string;
  status: RunStatus;
  scheduledFor: Millis;
  startedAt: Millis | null;
  finishedAt: Millis | null;
}

export interface RunFilter {
  namespaces: NamespaceScope;
  taskId?: string;
  status?: RunStatus[];
  /** scheduledFor >= from */
  from?: Millis;
  /** scheduledFor < to */
  to?: Millis;
  /** By due time: `desc` (default) newest first, `asc` oldest first. Cursors page only their own order. */
  order?: 'asc' | 'desc';
  limit: number;
  cursor?: string;
}

export interface AuditFilter {
  namespaces: NamespaceScope;
  actor?: string;
  action?: string;
  targetId?: string;
  from?: Millis;
  to?: Millis;
  limit: number;
  cursor?: string;
}

/** An API key row with the hash used to find it. */
export interface StoredApiKey extends ApiKey {
  hash: string;
  /** The last few client addresses the key was used from, oldest first (API_KEY_ADDRESSES at most). */
  addresses: string[];
}

/** A key to insert: a StoredApiKey whose use, rotation and narrowing fields may be left out. */
export type NewApiKey = Omit<StoredApiKey, 'lastUsedFrom' | 'expiresAt' | 'scopes' | 'replacedBy' | 'addresses'> &
  Partial<Pick<StoredApiKey, 'expiresAt' | 'scopes'>>;

/** How many client addresses a key remembers (a use from another one is audited). */
export const API_KEY_ADDRESSES = 8;

/** A use of a key to record (at most once a minute per key and node, or from a new address). */
export interface ApiKeyUse {
  id: string;
  at: Millis;
  ip: string | null;
  /** Written, in the same transaction, when `ip` is not among the key's remembered addresses (and it has some). */
  newAddressAudit: NewAudit | null;
}

/** A rotation: the successor to insert and when the old key stops (the end of its grace period). */
export interface ApiKeyRotation {
  oldId: string;
  successor: NewApiKey;
  /** The old key's new expiry (never later than one it already had). */
  oldExpiresAt: Millis;
  now: Millis;
  audit: NewAudit;
}

/** Result of asking to cancel a run. */
export interface CancelOutcome {
  run: Run;
  /** Status before the request. `running` means the holder must stop it and write `cancelled`. */
  previousStatus: RunStatus;
}

export interface UpdateTaskOptions {
  /** Refuse with `version_mismatch` unless the stored version is this one (If-Match). */
  expectedVersion?: number;
  /**
   * Replace the pending schedule occurrence: cancel it (reason as given) and insert `nextRun`.
   * When `nextRun`'s occurrence already has a row (still pending, or cancelled by an earlier
   * replace, e.g. pause then resume), that row becomes the pending one: one row per occurrence.
   */
  replacePending?: { reason: string; nextRun: NewRun | null; now: Millis; resetFiredCount?: boolean };
  audit: NewAudit;
}

export interface DeleteTaskOutcome {
  task: Task;
  /** Runs moved to `cancelled` because they had not started. */
  cancelled: Run[];
  /** Runs still running; their holders must stop them. */
  running: Run[];
}

/** Runs due in one minute, from `countRunsPerMinute`. */
export interface RunMinute {
  /** Start of the minute. */
  at: Millis;
  /** Runs by status; pending (`scheduled`, `queued`) runs are not counted. */
  byStatus: Partial<Record<RunStatus, number>>;
  /** Runs that started, by lateness bucket (LATENESS_BOUNDS_MS); buckets without runs are left out. */
  lateness: LatenessBucket[];
}

export interface Store {
  /** Which backend this is; capabilities are read from flags, not from this name. */
  readonly backend: 'sqlite' | 'postgres';
  readonly capabilities: StoreCapabilities;
  /** Cross-node messages; null where no other node can share the database. */
  readonly signals: StoreSignals | null;
  /** Notification channels and the outbox (notification-store.ts). */
  readonly notifications: NotificationStore;
  /** Alert rules, alerts and the evaluator's lease (alert-store.ts). */
  readonly alerts: AlertStore;
  /** Secrets, sealed (secret-store.ts). */
  readonly secrets: SecretStore;
  /** The audit log's hash chain: walking it and its signed checkpoints (audit-store.ts). */
  readonly auditChain: AuditChainStore;

  /** The database's clock (epoch ms), to measure this node's skew; the local clock where the database is in-process. */
  databaseTime(): Promise<Millis>;

  /** Creates or upgrades the schema; refuses a database written by newer code. */
  migrate(): Promise<void>;
  /** Flushes pending writes and closes connections. */
  close(): Promise<void>;

  // ---- tasks ----
  /** Inserts a task and its first pending occurrence. Throws `task_name_taken`. */
  createTask(task: NewTask, firstRun: NewRun | null, audit: NewAudit): Promise<Task>;
  getTask(id: string): Promise<Task | null>;
  getTaskByName(namespace: string, name: string): Promise<Task | null>;
  listTasks(filter: TaskFilter): Promise<Page<Task>>;
  /**
   * The last `perTask` finished runs (succeeded, failed, timed_out, cancelled, skipped) of each
   * task, newest due first, by task id; tasks without any map to an empty list.
   */
  listRecentRuns(taskIds: readonly string[], perTask: number): Promise<Map<string, RecentRun[]>>;
  /**
   * Stores the task's new definition (bumping `version`). Throws `task_not_found`,
   * `version_mismatch`, `task_name_taken`.
   */
  updateTask(task: Task, opts: UpdateTaskOptions): Promise<Task>;
  /** Deletes the task; its unstarted runs become `cancelled` (reason `deleted`). */
  deleteTask(id: string, now: Millis, audit: NewAudit): Promise<DeleteTaskOutcome>;

  // ---- runs (API side) ----
  /**
   * Inserts a manual/API run. When `(taskId, idempotencyKey)` already exists, returns the
   * existing run with `created: false` and changes nothing.
   */
  createRun(run: NewRun, audit: NewAudit | null): Promise<{ run: Run; created: boolean }>;
  getRun(id: string): Promise<Run | null>;
  listRuns(filter: RunFilter): Promise<Page<Run>>;
  getRunLogs(id: string): Promise<LogLine[]>;
  /** Appends log lines to a running run (live logs). */
  appendRunLogs(runId: string, lines: LogLine[]): Promise<void>;
  /** A run's resource samples, oldest first. */
  getRunSamples(runId: string): Promise<ResourceSample[]>;
  /** Appends resource samples of running runs. */
  appendRunSamples(samples: RunSample[]): Promise<void>;
  /** Moves a `scheduled`/`queued` run to `at` (back to `scheduled`). Throws `run_not_reschedulable`. */
  rescheduleRun(id: string, at: Millis, now: Millis, audit: NewAudit): Promise<Run>;
  /**
   * Cancels a run that has not started; for a running run, records the request and returns
   * `previousStatus: 'running'`. Throws `run_already_finished`.
   */
  requestCancel(id: string, now: Millis, audit: NewAudit): Promise<CancelOutcome>;

  // ---- runs (scheduler side, the hot path) ----
  /**
   * Claims due runs (`scheduled`, due by `horizon`, task not paused) in one transaction:
   * status `queued`, a lease for `node`, the fencing epoch bumped; schedule occurrences are
   * planned with `plan` and its inserts written in the same transaction (insert-or-ignore on
   * the unique key, so a repeated plan cannot double an occurrence).
   * Ordered by due time, then priority (higher first). A run the plan skipped (misfire) comes
   * back with status `skipped` (already final) so the caller can publish it; those started by
   * `opts.startDue` come back `running` (their `startedAt` and `queuedAt` are `now`); all others
   * are `queued`.
   */
  claimDueRuns(opts: ClaimOptions): Promise<ClaimedRun[]>;
  /**
   * Marks claimed runs as `running`; returns the ids refused for a stale epoch or by their guard.
   * A guarded start (shared stores) is stamped with `now()`, read once it is admitted, when that
   * is later than its own `startedAt`: a start that waited for its slot is then recorded as
   * starting after the run that freed the slot ended. Such starts are listed in `restamped`.
   */
  markRunning(starts: RunStart[], now?: () => Millis): Promise<StartResult>;
  /** Writes run outcomes (and retries) in one transaction; returns ids refused for a stale epoch. */
  completeRuns(completions: RunCompletion[]): Promise<{ stale: string[] }>;
  /**
   * Extends the leases of these runs, each only while `node` still holds it at that epoch; returns
   * how many. Only runs the caller holds in memory are named: a run whose holder lost track of it
   * (a restarted process with the same node id, a start whose commit went unanswered, a fenced run)
   * must let its lease lapse so the recovery path takes it over. Always reaches the database, so
   * an empty list doubles as a check that the node can renew at all.
   */
  extendLeases(node: string, runs: readonly HeldLease[], leaseUntil: Millis): Promise<number>;
  /**
   * Requests cancellation of the runs of `taskId` running on any node except `runId`, for the
   * `cancel_other` overlap policy across nodes; returns their ids (their holders poll for it).
   */
  requestCancelOthers(taskId: string, runId: string, now: Millis, actor: string): Promise<string[]>;
  /**
   * Deletes finished runs (and their logs and samples) past the retention limits, oldest first,
   * at most `limit` per call; returns how many runs were deleted. Never touches pending or
   * running runs (the task's `lastRun*` summary lives on the task row and stays).
   */
  pruneHistory(opts: PruneOptions, now: Millis): Promise<number>;
  /** Gives unstarted or abandoned runs back (status `scheduled`, no lease), e.g. on shutdown. */
  releaseRuns(node: string, runs: { runId: string; leaseEpoch: number }[], now: Millis): Promise<void>;
  /**
   * Takes over `queued`/`running` runs whose lease expired before `now` (their holder died):
   * lease to `node`, epoch bumped, status unchanged. The caller then completes or requeues them.
   */
  claimOrphanedRuns(opts: { node: string; now: Millis; leaseUntil: Millis; limit: number }): Promise<ClaimedRun[]>;
  /** Ids of runs asked to be cancelled while running (for holders that poll). */
  listCancelRequests(node: string): Promise<string[]>;
  countRuns(namespaces: NamespaceScope, now: Millis): Promise<RunCounts>;
  /**
   * Runs due in [from, to) in the scope, per minute from `from` (by status, and the started ones
   * by lateness bucket); minutes without counted runs are left out. Reads every run of the
   * window, so its cost grows with the runs in it.
   */
  countRunsPerMinute(namespaces: NamespaceScope, from: Millis, to: Millis): Promise<RunMinute[]>;
  /** Tasks per status in the scope (for /v1/stats and the UI; one indexed count, not a scan of pages). */
  countTasks(namespaces: NamespaceScope): Promise<Partial<Record<TaskStatus, number>>>;

  // ---- keys, audit, nodes ----
  createApiKey(key: NewApiKey, audit: NewAudit): Promise<ApiKey>;
  findApiKeyByHash(hash: string): Promise<StoredApiKey | null>;
  listApiKeys(): Promise<ApiKey[]>;
  revokeApiKey(id: string, now: Millis, audit: NewAudit): Promise<ApiKey>;
  /**
   * Records that a key was used (best effort, may be batched): `lastUsedAt` (never moved back),
   * `lastUsedFrom`, and the address among the remembered ones; a new address writes
   * `newAddressAudit` too. True when the address was new.
   */
  recordApiKeyUse(use: ApiKeyUse): Promise<boolean>;
  /**
   * Inserts `successor` and makes the old key expire at `oldExpiresAt` (or earlier, if it already
   * did), marking it replaced, in one transaction with the audit row. Refuses with
   * `api_key_not_found`, or `api_key_not_active` when the old key is revoked, expired or was
   * already rotated. Returns both.
   */
  rotateApiKey(rotation: ApiKeyRotation): Promise<{ old: ApiKey; key: ApiKey }>;
  countApiKeys(): Promise<number>;
  listAudit(filter: AuditFilter): Promise<Page<AuditEntry>>;
  /** Writes an audit row on its own (for changes that have no other row, e.g. a login failure). */
  appendAudit(entry: NewAudit): Promise<void>;
  /**
   * Registers or refreshes this node. Refuses (`node_id_taken`) when another instance with the
   * same id sent a heartbeat at or after `aliveSince`: two live nodes must not share an id.
   */
  upsertNode(node: NodeRegistration, aliveSince: Millis): Promise<void>;
  /** Nodes whose last heartbeat is at or after `seenSince` (dead ones stay listed a while as `down`). */
  listNodes(seenSince: Millis): Promise<NodeRegistration[]>;
  /** Forgets a node on a clean shutdown. */
  removeNode(id: string, instanceId: string): Promise<void>;
}
