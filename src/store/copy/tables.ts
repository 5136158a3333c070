// What `sundial store copy` moves, table by table: the columns read from SQLite and written to
// PostgreSQL, in one order for both, with the PostgreSQL type each travels as (`unnest($n::type[])`).
// The lists are explicit rather than read from the two catalogs so a reviewer sees what is copied;
// both sides are checked against them before anything is written (a column added to one store
// and not here is refused, never silently dropped).

/** The PostgreSQL array element types the copy binds. */
export type PgType = 'text' | 'int4' | 'int8' | 'float8';

/** One copied column: its name (the same in both stores) and its PostgreSQL type. */
export interface CopyColumn {
  name: string;
  type: PgType;
}

/** A table the copy moves. */
export interface CopyTable {
  name: string;
  /** Columns read from SQLite and written to PostgreSQL, in this order. */
  columns: readonly CopyColumn[];
  /**
   * How the source is paged: by `rowid` (stable, cheap: the table's own b-tree order), or read
   * whole (`run_counts` is WITHOUT ROWID and holds one row per namespace and status).
   */
  paging: 'rowid' | 'whole';
  /** Source columns deliberately not copied (the target assigns them), with why. */
  skipped?: Readonly<Record<string, string>>;
  /** Target columns not in `columns`: filled by their defaults or by `constants`. */
  targetOnly?: readonly string[];
  /** Values written to target-only columns for every row. */
  constants?: readonly { name: string; type: PgType; value: string | number }[];
}

const t = (name: string): CopyColumn => ({ name, type: 'text' });
const i4 = (name: string): CopyColumn => ({ name, type: 'int4' });
const i8 = (name: string): CopyColumn => ({ name, type: 'int8' });
const f8 = (name: string): CopyColumn => ({ name, type: 'float8' });

/** `tasks`, column for column. */
export const TASKS: CopyTable = {
  name: 'tasks',
  paging: 'rowid',
  columns: [
    t('id'), t('namespace'), t('name'), t('description'), t('kind'), t('spec'), t('schedule'), t('policies'),
    t('payload'), t('status'), i8('fired_count'), i8('next_run_at'), i8('last_run_at'), t('last_run_status'),
    i4('version'), i8('created_at'), i8('updated_at'), t('created_by'), t('updated_by'),
  ],
};

/** `runs`: every column; `concurrency_key` (cluster only) stays NULL until a guarded run starts. */
export const RUNS: CopyTable = {
  name: 'runs',
  paging: 'rowid',
  columns: [
    t('id'), t('namespace'), t('task_id'), t('task_name'), t('status'), i4('attempt'), t('retry_of'), t('trigger'),
    i8('occurrence_at'), i8('scheduled_for'), i4('priority'), t('payload'), t('idempotency_key'), i8('queued_at'),
    i8('started_at'), i8('finished_at'), t('node'), i8('lease_until'), i4('lease_epoch'), i8('cancel_requested_at'),
    t('result'), t('error'), t('reason'), i4('logs_truncated'), f8('cpu_ms'), i8('peak_rss_bytes'),
    i8('disk_write_bytes'), i8('created_at'), i8('updated_at'), t('created_by'), t('updated_by'),
  ],
  targetOnly: ['concurrency_key'],
};

/**
 * `run_logs` without `id`: the target's identity numbers the lines. Rows are read and inserted in
 * source id order, so a run's lines keep their order (readers order by id).
 */
export const RUN_LOGS: CopyTable = {
  name: 'run_logs',
  paging: 'rowid',
  columns: [t('run_id'), i8('at'), t('level'), t('message'), t('created_by')],
  skipped: { id: 'the target numbers lines with its identity column, in source order' },
  targetOnly: ['id'],
};

/** `run_samples`; the target adds an identity id. */
export const RUN_SAMPLES: CopyTable = {
  name: 'run_samples',
  paging: 'rowid',
  columns: [t('run_id'), i8('at'), f8('cpu_ms'), i8('rss_bytes'), i8('disk_write_bytes')],
  targetOnly: ['id'],
};

/** `api_keys`, hashes included: every key keeps working on the cluster. */
export const API_KEYS: CopyTable = {
  name: 'api_keys',
  paging: 'rowid',
  columns: [
    t('id'), t('name'), t('role'), t('namespaces'), t('prefix'), t('hash'), i8('last_used_at'), i8('revoked_at'),
    i8('created_at'), i8('updated_at'), t('created_by'), t('updated_by'),
    i8('expires_at'), t('scopes'), t('last_used_from'), t('addresses'), t('replaced_by'),
  ],
};

/**
 * `audit`, column for column, the hash chain's columns too: both stores hash rows the same way
 * (../audit-chain.ts), so the chain verifies on the cluster as it did on the single node. The
 * target's `audit_head` is then set to the source's (copy.ts).
 */
export const AUDIT: CopyTable = {
  name: 'audit',
  paging: 'rowid',
  columns: [
    t('id'), t('namespace'), i8('at'), t('actor'), t('ip'), t('action'), t('target_type'), t('target_id'), t('detail'),
    i8('seq'), t('prev_hash'), t('hash'),
  ],
};

/**
 * `audit_checkpoints`, column for column. Their signatures verify on the cluster only under the
 * same key: set SUNDIAL_AUDIT_KEY on the nodes to the single node's (its data dir's `audit.key`).
 */
export const AUDIT_CHECKPOINTS: CopyTable = {
  name: 'audit_checkpoints',
  paging: 'rowid',
  columns: [t('kind'), i8('seq'), t('hash'), i8('at'), t('node'), t('key_id'), t('signature')],
};

/** `channels`, secrets included: webhooks stay signed with the same secret. */
export const CHANNELS: CopyTable = {
  name: 'channels',
  paging: 'rowid',
  columns: [
    t('id'), t('namespace'), t('name'), t('type'), t('url'), t('recipients'), t('secret'), i8('created_at'), i8('updated_at'),
    t('created_by'), t('updated_by'),
  ],
};

/**
 * `notifications` (the outbox), column for column: pending ones are delivered by the cluster
 * with the ids they had, so receivers still deduplicate them.
 */
export const NOTIFICATIONS: CopyTable = {
  name: 'notifications',
  paging: 'rowid',
  columns: [
    t('id'), t('namespace'), t('channel'), t('event'), t('run_id'), t('task_id'), t('body'), t('status'), t('attempts'),
    i4('attempt_count'), i8('next_attempt_at'), t('claim_token'), t('last_error'), i8('delivered_at'), i8('created_at'),
  ],
};

/** `alert_rules`, column for column: the cluster evaluates the same rules. */
export const ALERT_RULES: CopyTable = {
  name: 'alert_rules',
  paging: 'rowid',
  columns: [
    t('id'), t('namespace'), t('name'), t('kind'), t('params'), i8('for_ms'), t('channels'), i4('enabled'), i8('created_at'),
    i8('updated_at'), t('created_by'), t('updated_by'),
  ],
};

/** `alerts`, column for column: firing ones stay firing (no second notification), history stays listed. */
export const ALERTS: CopyTable = {
  name: 'alerts',
  paging: 'rowid',
  columns: [
    t('id'), t('rule_id'), t('namespace'), t('rule_name'), t('kind'), t('status'), i8('since'), i8('fired_at'), i8('resolved_at'),
    t('why'), f8('value'),
  ],
};

/**
 * `secrets`, column for column: still sealed, under the single node's key-encryption key, so the
 * cluster's nodes need that key (as SUNDIAL_SECRETS_KEY, or as SUNDIAL_SECRETS_KEY_PREVIOUS while
 * they rewrap to a new one).
 */
export const SECRETS: CopyTable = {
  name: 'secrets',
  paging: 'rowid',
  columns: [
    t('id'), t('namespace'), t('name'), i4('version'), t('kek_id'), t('wrapped_key'), t('ciphertext'), i8('created_at'), i8('updated_at'),
    t('created_by'), t('updated_by'),
  ],
};

/** `run_counts`, all into shard 0 (readers sum the shards; writers add to their own). */
export const RUN_COUNTS: CopyTable = {
  name: 'run_counts',
  paging: 'whole',
  columns: [t('namespace'), t('status'), i8('n')],
  targetOnly: ['shard'],
  constants: [{ name: 'shard', type: 'int4', value: 0 }],
};

/**
 * Every copied table, in copy order. `nodes` is left out on purpose: node rows describe processes
 * (the stopped single node), and cluster nodes register themselves when they start.
 */
export const COPY_TABLES: readonly CopyTable[] = [
  TASKS, RUNS, RUN_LOGS, RUN_SAMPLES, API_KEYS, AUDIT, AUDIT_CHECKPOINTS, RUN_COUNTS, CHANNELS, NOTIFICATIONS, ALERT_RULES, ALERTS, SECRETS,
];

/** SQLite tables that exist but are not copied, with why (anything else unknown is refused). */
export const NOT_COPIED: Readonly<Record<string, string>> = {
  nodes: 'nodes register themselves when they start',
  meta: 'holds the SQLite schema version; PostgreSQL keeps its own (schema_migrations)',
  leases: "held by running processes (the alert evaluator's); the cluster's nodes take their own",
  audit_head: "one row the target's migration creates; set to the source's after the audit rows (copy.ts)",
};
