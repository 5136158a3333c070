// The domain's data shapes, shared by every layer. Times are epoch milliseconds inside the
// process and the stores; the API turns them into ISO-8601 strings at its edge.

import type { RunErrorCode } from './run-errors.js';

/** Epoch milliseconds (UTC). */
export type Millis = number;

export const RUN_STATUSES = [
  'scheduled',
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** States a run never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set([
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'skipped',
]);

/** Why a run exists. */
export type RunTrigger = 'schedule' | 'manual' | 'retry' | 'api';

export const TASK_KINDS = ['http', 'module', 'script', 'shell'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export interface HttpSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Status codes that count as success; default: any 2xx. */
  expectStatus?: number | number[];
}
export interface ModuleSpec {
  /** Path relative to the tasks directory. */
  file: string;
  /** Export to call; default `default`. */
  export?: string;
}
export interface ScriptSpec {
  /** An ES module whose default export is `async (ctx) => result`. */
  code: string;
  limits?: { memoryBytes?: number };
  /** Secrets of the namespace the code gets as `ctx.secrets.NAME`. */
  secrets?: string[];
}
export interface ShellSpec {
  /** argv: no shell parsing. */
  command: string[];
  /** Relative to the task's working directory. */
  cwd?: string;
  env?: Record<string, string>;
  limits?: { processes?: number; openFiles?: number; fileSizeBytes?: number; cpuSeconds?: number };
}
export type TaskSpec = HttpSpec | ModuleSpec | ScriptSpec | ShellSpec;

export type Schedule =
  | { type: 'once'; at: string; maxRuns?: number; jitter?: string }
  | {
      type: 'interval';
      every: string;
      startAt?: string;
      endAt?: string;
      maxRuns?: number;
      jitter?: string;
    }
  | {
      type: 'cron';
      expression: string;
      timezone?: string;
      startAt?: string;
      endAt?: string;
      maxRuns?: number;
      jitter?: string;
    };

export type OverlapPolicy = 'skip' | 'buffer_one' | 'buffer_all' | 'cancel_other' | 'allow_all';
export type MisfirePolicy = 'run_once' | 'skip' | 'run_all';

/** Policies as stored: every field filled in, durations in milliseconds. */
export interface Policies {
  retry: {
    maxAttempts: number;
    backoff: { type: 'exponential' | 'fixed'; initialMs: number; maxMs: number; jitter: boolean };
  };
  timeoutMs: number;
  overlap: OverlapPolicy;
  misfire: { policy: MisfirePolicy; catchupWindowMs: number };
  priority: number;
  /** Max simultaneous runs of this task; null = no cap. */
  concurrency: number | null;
  /** Runs of all tasks sharing this key count against `concurrency` together. */
  concurrencyKey: string | null;
  /**
   * Whom to tell about which outcomes (docs/notifications.md). Absent on tasks stored before
   * notifications existed and on tasks that set none: the scheduler's hot path tests only this.
   */
  notify?: NotifyRule[];
}

/** Outcomes a task can be notified about (`policies.notify[].on`). */
export const NOTIFY_EVENTS = ['failed', 'timed_out', 'retries_exhausted', 'lost', 'succeeded', 'recovered'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** One entry of `policies.notify`: these events go to the channel of this name (in the task's namespace). */
export interface NotifyRule {
  on: NotifyEvent[];
  channel: string;
}

export type TaskStatus = 'active' | 'paused';

/** Who did something: an API key, the scheduler itself, or the CLI's bootstrap. */
export interface Actor {
  /** `key:<id>` for API keys, `system` for the scheduler. */
  id: string;
  role: Role;
  /** Namespaces the actor may touch; `*` means all. */
  namespaces: readonly string[];
  /** Remote address of the request, when there was one. */
  ip?: string;
  /** The key's scopes when it has any (auth/scopes.ts): they narrow what `role` allows. */
  scopes?: readonly string[];
}

export type Role = 'admin' | 'operator' | 'viewer';

/** Namespaces a read may see: a list, or every namespace. */
export type NamespaceScope = readonly string[] | '*';

export interface Task {
  id: string;
  namespace: string;
  name: string;
  description: string | null;
  kind: TaskKind;
  spec: TaskSpec;
  schedule: Schedule | null;
  policies: Policies;
  /** Default payload handed to each run (a manual run may override it). */
  payload: unknown;
  status: TaskStatus;
  /** Occurrences fired so far by the schedule (for `maxRuns`). */
  firedCount: number;
  /** Due time of the pending schedule occurrence, if any. */
  nextRunAt: Millis | null;
  lastRunAt: Millis | null;
  lastRunStatus: RunStatus | null;
  /** Bumped on every change; the API's ETag. */
  version: number;
  createdAt: Millis;
  updatedAt: Millis;
  createdBy: string;
  updatedBy: string;
}

export interface RunError {
  /** Stable machine code from the catalog in ./run-errors.ts (`http_status`, `lost`, `timeout`…). */
  code: RunErrorCode;
  message: string;
  /** Extra detail (status code, stack excerpt…). */
  detail?: unknown;
}

export interface RunMetrics {
  cpuMs: number | null;
  peakRssBytes: number | null;
  diskWriteBytes: number | null;
}

/** One reading of a running run's resource use, cumulative since the run started. */
export interface ResourceSample {
  at: Millis;
  /** CPU time, user + system. */
  cpuMs: number;
  /** Resident memory now (for scripts: the interpreter's heap). */
  rssBytes: number;
  diskWriteBytes: number;
}

export interface Run extends RunMetrics {
  id: string;
  namespace: string;
  taskId: string;
  taskName: string;
  status: RunStatus;
  attempt: number;
  retryOf: string | null;
  trigger: RunTrigger;
  /** Nominal schedule occurrence (unique per task + attempt); null for manual runs. */
  occurrenceAt: Millis | null;
  /** When it is due (occurrence + jitter, or as rescheduled). */
  scheduledFor: Millis;
  priority: number;
  payload: unknown;
  idempotencyKey: string;
  queuedAt: Millis | null;
  startedAt: Millis | null;
  finishedAt: Millis | null;
  /** Node holding the lease. */
  node: string | null;
  leaseUntil: Millis | null;
  /** Fencing token: bumped on every claim; writes carrying an older epoch are refused. */
  leaseEpoch: number;
  result: unknown;
  error: RunError | null;
  /** Reason for `skipped`/`cancelled`/`failed` outcomes that have one (`overlap`, `misfire`, `lost`, `deleted`…). */
  reason: string | null;
  logsTruncated: boolean;
  createdAt: Millis;
  updatedAt: Millis;
  createdBy: string;
}

/** A run to insert (the store fills the rest of `Run`); planned by core/planner.ts and the services. */
export interface NewRun {
  id: string;
  namespace: string;
  taskId: string;
  taskName: string;
  status: 'scheduled' | 'skipped';
  attempt: number;
  retryOf: string | null;
  trigger: RunTrigger;
  occurrenceAt: Millis | null;
  scheduledFor: Millis;
  priority: number;
  payload: unknown;
  idempotencyKey: string;
  /** For `skipped` rows: why (`misfire`, `overlap`…). */
  reason?: string | null;
  createdAt: Millis;
  createdBy: string;
}

/** How many runs are in each status, and the backlog (read by the admin stats and the metrics). */
export interface RunCounts {
  byStatus: Partial<Record<RunStatus, number>>;
  /** Runs due at or before `now` that have not started. */
  backlog: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface LogLine {
  at: Millis;
  level: LogLevel;
  message: string;
}

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  namespaces: string[];
  /** First characters of the key, to recognise it; never the whole key. */
  prefix: string;
  createdAt: Millis;
  createdBy: string;
  lastUsedAt: Millis | null;
  /** Client address of the last recorded use (written at most once a minute per node). */
  lastUsedFrom: string | null;
  revokedAt: Millis | null;
  /** When the key stops working by itself (null: never); a rotated key's grace period ends here. */
  expiresAt: Millis | null;
  /** Scopes that narrow what the role allows (auth/scopes.ts); null: no narrowing. */
  scopes: string[] | null;
  /** The key that replaced this one by rotation (it keeps working until `expiresAt`). */
  replacedBy: string | null;
}

export interface AuditEntry {
  id: string;
  namespace: string;
  at: Millis;
  actor: string;
  ip: string | null;
  /** e.g. `task.create`, `run.cancel`, `api_key.revoke`. */
  action: string;
  /** `task`, `run`, `api_key`… */
  targetType: string;
  targetId: string;
  /** What changed, small. */
  detail: unknown;
  /** Place in the audit hash chain (gapless, in the order rows were written). */
  seq?: number;
  /** SHA-256 of the row and the hash before it (store/audit-chain.ts). */
  hash?: string;
}

/** How a node looks from its heartbeats (see cluster/node-registry.ts). */
export type NodeStatus = 'up' | 'suspect' | 'down';

/** A node as the cluster sees it. */
export interface NodeState extends NodeInfo {
  /** Runs it holds: claimed and waiting for their time, or running. */
  runsInFlight: number;
  status: NodeStatus;
}

export interface NodeInfo {
  id: string;
  host: string;
  pid: number;
  version: string;
  roles: string[];
  startedAt: Millis;
  heartbeatAt: Millis;
}
