// Rows as the SQL stores return them (SQLite and PostgreSQL share column names and types: epoch ms
// integers, JSON as text), and their mapping to the domain types. JSON columns are NULL when the
// value is absent, so the common case (no payload, no result) costs no JSON work at all.
import type {
  ApiKey,
  AuditEntry,
  Policies,
  Role,
  Run,
  RunError,
  RunStatus,
  RunTrigger,
  Schedule,
  Task,
  TaskKind,
  TaskSpec,
  TaskStatus,
} from '../core/types.js';
import { newId } from '../core/ids.js';
import type { NewAudit, NewRun, NewTask, NodeRegistration, StoredApiKey } from './store.js';
import type { AuditChainRow, AuditCheckpoint } from './audit-chain.js';

/** A `tasks` row. */
export interface TaskRow {
  id: string;
  namespace: string;
  name: string;
  description: string | null;
  kind: string;
  spec: string;
  schedule: string | null;
  policies: string;
  payload: string | null;
  status: string;
  fired_count: number;
  next_run_at: number | null;
  last_run_at: number | null;
  last_run_status: string | null;
  version: number;
  created_at: number;
  updated_at: number;
  created_by: string;
  updated_by: string;
}

/** A `runs` row (the columns `RUN_COLUMNS` selects). */
export interface RunRow {
  id: string;
  namespace: string;
  task_id: string;
  task_name: string;
  status: string;
  attempt: number;
  retry_of: string | null;
  trigger: string;
  occurrence_at: number | null;
  scheduled_for: number;
  priority: number;
  payload: string | null;
  idempotency_key: string;
  queued_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  node: string | null;
  lease_until: number | null;
  lease_epoch: number;
  result: string | null;
  error: string | null;
  reason: string | null;
  logs_truncated: number;
  cpu_ms: number | null;
  peak_rss_bytes: number | null;
  disk_write_bytes: number | null;
  created_at: number;
  updated_at: number;
  created_by: string;
}

/** The `runs` columns a Run is built from, for SELECT and RETURNING lists. */
export const RUN_COLUMNS =
  'id, namespace, task_id, task_name, status, attempt, retry_of, trigger, occurrence_at, scheduled_for, ' +
  'priority, payload, idempotency_key, queued_at, started_at, finished_at, node, lease_until, lease_epoch, ' +
  'result, error, reason, logs_truncated, cpu_ms, peak_rss_bytes, disk_write_bytes, created_at, updated_at, created_by';

/** JSON text for a value, or NULL when there is none (never the string 'null'). */
export function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** Parses a JSON column; NULL is null. */
export function fromJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

/** Builds a Run from its row. */
export function rowToRun(r: RunRow): Run {
  return {
    id: r.id,
    namespace: r.namespace,
    taskId: r.task_id,
    taskName: r.task_name,
    status: r.status as RunStatus,
    attempt: r.attempt,
    retryOf: r.retry_of,
    trigger: r.trigger as RunTrigger,
    occurrenceAt: r.occurrence_at,
    scheduledFor: r.scheduled_for,
    priority: r.priority,
    payload: r.payload === null ? null : JSON.parse(r.payload),
    idempotencyKey: r.idempotency_key,
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    node: r.node,
    leaseUntil: r.lease_until,
    leaseEpoch: r.lease_epoch,
    result: r.result === null ? null : JSON.parse(r.result),
    error: r.error === null ? null : (JSON.parse(r.error) as RunError),
    reason: r.reason,
    logsTruncated: r.logs_truncated !== 0,
    cpuMs: r.cpu_ms,
    peakRssBytes: r.peak_rss_bytes,
    diskWriteBytes: r.disk_write_bytes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    createdBy: r.created_by,
  };
}

/** The Run a freshly inserted NewRun is (what reading it back would return, without the read). */
export function newRunToRun(r: NewRun): Run {
  const payload = toJson(r.payload);
  return {
    id: r.id,
    namespace: r.namespace,
    taskId: r.taskId,
    taskName: r.taskName,
    status: r.status,
    attempt: r.attempt,
    retryOf: r.retryOf,
    trigger: r.trigger,
    occurrenceAt: r.occurrenceAt,
    scheduledFor: r.scheduledFor,
    priority: r.priority,
    // Through JSON, as the stored copy is: the caller's object may hold what JSON drops.
    payload: payload === null ? null : JSON.parse(payload),
    idempotencyKey: r.idempotencyKey,
    queuedAt: null,
    startedAt: null,
    finishedAt: r.status === 'skipped' ? r.createdAt : null,
    node: null,
    leaseUntil: null,
    leaseEpoch: 0,
    result: null,
    error: null,
    reason: r.reason ?? null,
    logsTruncated: false,
    cpuMs: null,
    peakRssBytes: null,
    diskWriteBytes: null,
    createdAt: r.createdAt,
    updatedAt: r.createdAt,
    createdBy: r.createdBy,
  };
}

/**
 * Builds a Run from a JSON array of `RUN_COLUMNS` values starting at `at` (the claim reads rows
 * as one JSON document; see statements.ts). Keep in step with RUN_COLUMNS.
 */
export function arrayToRun(a: readonly unknown[], at: number): Run {
  const payload = a[at + 11] as string | null;
  const result = a[at + 19] as string | null;
  const error = a[at + 20] as string | null;
  return {
    id: a[at] as string,
    namespace: a[at + 1] as string,
    taskId: a[at + 2] as string,
    taskName: a[at + 3] as string,
    status: a[at + 4] as RunStatus,
    attempt: a[at + 5] as number,
    retryOf: a[at + 6] as string | null,
    trigger: a[at + 7] as RunTrigger,
    occurrenceAt: a[at + 8] as number | null,
    scheduledFor: a[at + 9] as number,
    priority: a[at + 10] as number,
    payload: payload === null ? null : JSON.parse(payload),
    idempotencyKey: a[at + 12] as string,
    queuedAt: a[at + 13] as number | null,
    startedAt: a[at + 14] as number | null,
    finishedAt: a[at + 15] as number | null,
    node: a[at + 16] as string | null,
    leaseUntil: a[at + 17] as number | null,
    leaseEpoch: a[at + 18] as number,
    result: result === null ? null : JSON.parse(result),
    error: error === null ? null : (JSON.parse(error) as RunError),
    reason: a[at + 21] as string | null,
    logsTruncated: a[at + 22] !== 0,
    cpuMs: a[at + 23] as number | null,
    peakRssBytes: a[at + 24] as number | null,
    diskWriteBytes: a[at + 25] as number | null,
    createdAt: a[at + 26] as number,
    updatedAt: a[at + 27] as number,
    createdBy: a[at + 28] as string,
  };
}

/** The parsed JSON parts of a task row, which change only with its version. */
export interface ParsedTaskParts {
  version: number;
  spec: TaskSpec;
  schedule: Schedule | null;
  policies: Policies;
  payload: unknown;
}

/** Parses a task row's JSON columns. */
export function parseTaskParts(r: TaskRow): ParsedTaskParts {
  return {
    version: r.version,
    spec: JSON.parse(r.spec) as TaskSpec,
    schedule: r.schedule === null ? null : (JSON.parse(r.schedule) as Schedule),
    policies: JSON.parse(r.policies) as Policies,
    payload: r.payload === null ? null : JSON.parse(r.payload),
  };
}

/** Builds a Task from its row, reusing already parsed JSON parts when given. */
export function rowToTask(r: TaskRow, parts: ParsedTaskParts = parseTaskParts(r)): Task {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    description: r.description,
    kind: r.kind as TaskKind,
    spec: parts.spec,
    schedule: parts.schedule,
    policies: parts.policies,
    payload: parts.payload,
    status: r.status as TaskStatus,
    firedCount: r.fired_count,
    nextRunAt: r.next_run_at,
    lastRunAt: r.last_run_at,
    lastRunStatus: r.last_run_status as RunStatus | null,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
  };
}

/**
 * Parsed task definitions keyed by id and version, so a claim of 5,000 runs of one task parses
 * its spec and policies once, not 5,000 times. The parts are shared: treat them as read-only.
 */
export class TaskPartsCache {
  #byId = new Map<string, ParsedTaskParts>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** The parsed parts of `row`, from cache when its version matches. */
  get(row: TaskRow): ParsedTaskParts {
    const hit = this.#byId.get(row.id);
    if (hit !== undefined && hit.version === row.version) return hit;
    const parts = parseTaskParts(row);
    if (this.#byId.size >= this.#max) this.#byId.clear();
    this.#byId.set(row.id, parts);
    return parts;
  }

  /** Drops a task (deleted). */
  forget(id: string): void {
    this.#byId.delete(id);
  }
}

/** An `api_keys` row. */
export interface ApiKeyRow {
  id: string;
  name: string;
  role: string;
  namespaces: string;
  prefix: string;
  hash: string;
  last_used_at: number | null;
  last_used_from: string | null;
  revoked_at: number | null;
  expires_at: number | null;
  scopes: string | null;
  replaced_by: string | null;
  addresses: string | null;
  created_at: number;
  created_by: string;
}

/** Builds an ApiKey (without its hash) from its row. */
export function rowToApiKey(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    namespaces: JSON.parse(r.namespaces) as string[],
    prefix: r.prefix,
    createdAt: r.created_at,
    createdBy: r.created_by,
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    lastUsedFrom: r.last_used_from,
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    scopes: r.scopes === null ? null : (JSON.parse(r.scopes) as string[]),
    replacedBy: r.replaced_by,
  };
}

/** Builds a StoredApiKey (with its hash) from its row. */
export function rowToStoredApiKey(r: ApiKeyRow): StoredApiKey {
  return { ...rowToApiKey(r), hash: r.hash, addresses: r.addresses === null ? [] : (JSON.parse(r.addresses) as string[]) };
}

/**
 * A key's remembered addresses after a use from `ip`: the address moves to the end (newest), the
 * oldest falls off past `max`. `isNew` when it was not remembered.
 */
export function mergeKeyAddress(addresses: readonly string[], ip: string, max: number): { addresses: string[]; isNew: boolean } {
  const isNew = !addresses.includes(ip);
  const next = [...addresses.filter((a) => a !== ip), ip];
  return { addresses: next.slice(Math.max(0, next.length - max)), isNew };
}

/** Why a key cannot be rotated (revoked, expired, already rotated), or null when it can. */
export function rotationRefusal(key: ApiKey, now: number): string | null {
  if (key.revokedAt !== null) return 'the key is revoked';
  if (key.replacedBy !== null) return `the key was already rotated (to ${key.replacedBy}); rotate that one`;
  if (key.expiresAt !== null && key.expiresAt <= now) return 'the key has expired';
  return null;
}

/** An `audit` row. */
export interface AuditRow {
  id: string;
  namespace: string;
  at: number;
  actor: string;
  ip: string | null;
  action: string;
  target_type: string;
  target_id: string;
  detail: string | null;
  /** The hash chain's columns (audit-chain.ts); set on every row since the chain's migration. */
  seq: number;
  prev_hash: string;
  hash: string;
}

/** Builds an AuditEntry from its row. */
export function rowToAudit(r: AuditRow): AuditEntry {
  const { prevHash: _prev, detail, ...entry } = rowToChainRow(r);
  return { ...entry, detail: fromJson(detail) };
}

/** An audit row as the chain hashes it (detail as stored text, not parsed). */
export function rowToChainRow(r: AuditRow): AuditChainRow {
  return {
    seq: r.seq,
    prevHash: r.prev_hash,
    hash: r.hash,
    id: r.id,
    namespace: r.namespace,
    at: r.at,
    actor: r.actor,
    ip: r.ip,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    detail: r.detail,
  };
}

/** An `audit_checkpoints` row. */
export interface CheckpointRow {
  kind: 'prune' | 'head';
  seq: number;
  hash: string;
  at: number;
  node: string;
  key_id: string;
  signature: string;
}

export function rowToCheckpoint(r: CheckpointRow): AuditCheckpoint {
  return { kind: r.kind, seq: r.seq, hash: r.hash, at: r.at, node: r.node, keyId: r.key_id, signature: r.signature };
}

/** A `nodes` row. */
export interface NodeRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  roles: string;
  started_at: number;
  heartbeat_at: number;
  instance_id: string;
  runs_in_flight: number;
}

/** Builds a node registration from its row. */
export function rowToNode(r: NodeRow): NodeRegistration {
  return {
    id: r.id,
    host: r.host,
    pid: r.pid,
    version: r.version,
    roles: JSON.parse(r.roles) as string[],
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    instanceId: r.instance_id,
    runsInFlight: r.runs_in_flight,
  };
}

/**
 * The values of a task insert, in column order (id … status, next_run_at, created_at, updated_at,
 * created_by, updated_by): both stores' statements take them as written.
 */
export function newTaskValues(task: NewTask, firstRun: NewRun | null): unknown[] {
  return [
    task.id,
    task.namespace,
    task.name,
    task.description,
    task.kind,
    JSON.stringify(task.spec),
    toJson(task.schedule),
    JSON.stringify(task.policies),
    toJson(task.payload),
    task.status,
    task.nextRunAt ?? firstRun?.scheduledFor ?? null,
    task.createdAt,
    task.updatedAt,
    task.createdBy,
    task.updatedBy,
  ];
}

/**
 * The values of an audit insert, in column order (its id is made from its time). Both stores'
 * `insertAudit` take exactly these and add the chain's columns themselves (seq, prev_hash, hash).
 */
export function newAuditValues(a: NewAudit): unknown[] {
  return [newId(a.at), a.namespace, a.at, a.actor, a.ip, a.action, a.targetType, a.targetId, toJson(a.detail)];
}
