// Forward-only schema migrations for the SQLite store. A migration is never edited once shipped:
// a change is a new entry at the end. The applied version lives in `meta.schema_version`.
import type Database from 'better-sqlite3';
import { SchemaTooNewError } from '../store-errors.js';
import { chainExistingAuditRows } from './audit-chain.js';

export { SchemaTooNewError };

/** One schema step: its version (1, 2, …, in order) and the SQL that takes the schema there. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Work SQL alone cannot do (e.g. hashing), run after `sql` in the same transaction. */
  apply?: (db: Database.Database) => void;
}

// Why the schema looks the way it does:
// - Times are INTEGER epoch ms; JSON is TEXT, NULL when absent so the hot path skips JSON.parse.
// - No foreign keys: runs (and their logs) outlive a deleted task as history, and a parent lookup
//   on every run/log insert would cost the hot path for no guarantee we need.
// - Every index on `runs` is paid three times per run (claim, start, finish) when it covers
//   `status`, so the status-dependent ones are partial and small: `runs_due` holds only pending
//   runs and `runs_active` only leased ones. The others are written once, at insert.
const V1 = `
CREATE TABLE tasks (
  id              TEXT PRIMARY KEY NOT NULL,
  namespace       TEXT NOT NULL,
  name            TEXT NOT NULL,
  description     TEXT,
  kind            TEXT NOT NULL,
  spec            TEXT NOT NULL,
  schedule        TEXT,
  policies        TEXT NOT NULL,
  payload         TEXT,
  status          TEXT NOT NULL CHECK (status = 'active' OR status = 'paused'),
  fired_count     INTEGER NOT NULL DEFAULT 0,
  next_run_at     INTEGER,
  last_run_at     INTEGER,
  last_run_status TEXT,
  version         INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  created_by      TEXT NOT NULL,
  updated_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX tasks_namespace_name ON tasks (namespace, name);

CREATE TABLE runs (
  id                  TEXT PRIMARY KEY NOT NULL,
  namespace           TEXT NOT NULL,
  task_id             TEXT NOT NULL,
  task_name           TEXT NOT NULL,
  -- OR, not IN: SQLite builds an ephemeral table for a constant IN list on every evaluation,
  -- which made each status change 1.5 µs slower (a third of markRunning's cost).
  status              TEXT NOT NULL CHECK (status = 'scheduled' OR status = 'queued' OR status = 'running' OR
                        status = 'succeeded' OR status = 'failed' OR status = 'timed_out' OR
                        status = 'cancelled' OR status = 'skipped'),
  attempt             INTEGER NOT NULL,
  retry_of            TEXT,
  trigger             TEXT NOT NULL,
  occurrence_at       INTEGER,
  scheduled_for       INTEGER NOT NULL,
  priority            INTEGER NOT NULL DEFAULT 0,
  payload             TEXT,
  idempotency_key     TEXT NOT NULL,
  queued_at           INTEGER,
  started_at          INTEGER,
  finished_at         INTEGER,
  node                TEXT,
  lease_until         INTEGER,
  lease_epoch         INTEGER NOT NULL DEFAULT 0,
  cancel_requested_at INTEGER,
  result              TEXT,
  error               TEXT,
  reason              TEXT,
  logs_truncated      INTEGER NOT NULL DEFAULT 0,
  cpu_ms              REAL,
  peak_rss_bytes      INTEGER,
  disk_write_bytes    INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  created_by          TEXT NOT NULL,
  updated_by          TEXT NOT NULL
);
-- Each occurrence fires once: schedule runs use the key "<taskId>:<occurrenceAt>".
CREATE UNIQUE INDEX runs_occurrence ON runs (task_id, idempotency_key, attempt);
-- The claim: pending runs in due order (time, then priority, then id for a stable order).
CREATE INDEX runs_due ON runs (scheduled_for, priority DESC, id) WHERE status = 'scheduled';
-- Leases: runs a node holds (extend, release, cancel requests) and expired ones (orphans).
CREATE INDEX runs_active ON runs (node, status, lease_until) WHERE status IN ('queued', 'running');
-- Listing: by task and by time, newest first (scanned backwards).
CREATE INDEX runs_task_time ON runs (task_id, scheduled_for, id);
CREATE INDEX runs_time ON runs (scheduled_for, id);

-- Finished runs per namespace and status, kept by the writes that finish runs (run-counts.ts).
CREATE TABLE run_counts (
  namespace TEXT NOT NULL,
  status    TEXT NOT NULL,
  n         INTEGER NOT NULL,
  PRIMARY KEY (namespace, status)
) WITHOUT ROWID;

CREATE TABLE run_logs (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL,
  at         INTEGER NOT NULL,
  level      TEXT NOT NULL,
  message    TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX run_logs_run ON run_logs (run_id, id);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY NOT NULL,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL,
  namespaces   TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE,
  last_used_at INTEGER,
  revoked_at   INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  created_by   TEXT NOT NULL,
  updated_by   TEXT NOT NULL
);

CREATE TABLE audit (
  id          TEXT PRIMARY KEY NOT NULL,
  namespace   TEXT NOT NULL,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  ip          TEXT,
  action      TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id   TEXT NOT NULL,
  detail      TEXT
);
CREATE INDEX audit_at ON audit (at, id);

CREATE TABLE nodes (
  id           TEXT PRIMARY KEY NOT NULL,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  version      TEXT NOT NULL,
  roles        TEXT NOT NULL,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  created_by   TEXT NOT NULL,
  updated_by   TEXT NOT NULL
);
`;

// Resource samples of long runs (about one a second while they run): a time series per run, read
// only by run id, so one index and no namespace column (the run row carries it).
const V2 = `
CREATE TABLE run_samples (
  run_id           TEXT NOT NULL,
  at               INTEGER NOT NULL,
  cpu_ms           REAL NOT NULL,
  rss_bytes        INTEGER NOT NULL,
  disk_write_bytes INTEGER NOT NULL
);
CREATE INDEX run_samples_run ON run_samples (run_id, at);
`;

// Task listings sorted by name (`?sort=name`): without an index every page sorts the whole
// scope (~17 ms per 100,000 tasks and growing); with it a page is one index range (~0.3 ms).
// Only the API writes names, so the scheduler's updates of a task row never touch it. The time
// sorts (next_run_at, last_run_at) stay unindexed on purpose: the scheduler writes those columns
// on every run.
const V3 = `
CREATE INDEX tasks_name ON tasks (name, id);
`;

// Cluster-ready node rows: which process holds the id (two live nodes may not share one) and how
// many runs it has in flight, for GET /v1/cluster/nodes.
const V4 = `
ALTER TABLE nodes ADD COLUMN instance_id TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN runs_in_flight INTEGER NOT NULL DEFAULT 0;
`;

// History retention (pruneHistory): finished runs by finish time, so deleting the oldest reads
// just them; without it each batch scanned and sorted the whole table (~85 ms per 300,000 runs).
// Partial on finished_at, which a run's claim and start never touch: the entry is written once,
// when the run ends (no measurable cost on completion), and taken out if a run is reopened.
const V5 = `
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
`;

// Notification channels and the outbox (docs/notifications.md). Outbox rows are inserted with the
// run outcome that caused them; `notifications_due` holds only pending rows, so the deliverer's
// poll reads just what is due, and delivered history is listed per channel, newest first.
const V6 = `
CREATE TABLE channels (
  id          TEXT PRIMARY KEY NOT NULL,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  type        TEXT NOT NULL,
  url         TEXT,
  recipients  TEXT,
  secret      TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  created_by  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX channels_namespace_name ON channels (namespace, name);

CREATE TABLE notifications (
  id              TEXT PRIMARY KEY NOT NULL,
  namespace       TEXT NOT NULL,
  channel         TEXT NOT NULL,
  event           TEXT NOT NULL,
  run_id          TEXT,
  task_id         TEXT,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  attempts        TEXT NOT NULL DEFAULT '[]',
  attempt_count   INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claim_token     TEXT,
  last_error      TEXT,
  delivered_at    INTEGER,
  created_at      INTEGER NOT NULL
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_channel ON notifications (namespace, channel, id);
`;

// Alert rules, their alerts and the evaluator's lease (docs/alerts.md). At most one firing alert
// per rule, kept by a partial unique index; alerts are listed per namespace newest first.
// `runs_retry_of` holds only retry rows, so "did this failed run get a retry" is an index probe
// (the retries_exhausted rule) at no cost to runs that are not retries.
const V7 = `
CREATE TABLE alert_rules (
  id          TEXT PRIMARY KEY NOT NULL,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  params      TEXT NOT NULL,
  for_ms      INTEGER NOT NULL,
  channels    TEXT NOT NULL,
  enabled     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  created_by  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX alert_rules_namespace_name ON alert_rules (namespace, name);

CREATE TABLE alerts (
  id          TEXT PRIMARY KEY NOT NULL,
  rule_id     TEXT NOT NULL,
  namespace   TEXT NOT NULL,
  rule_name   TEXT NOT NULL,
  kind        TEXT NOT NULL,
  status      TEXT NOT NULL,
  since       INTEGER NOT NULL,
  fired_at    INTEGER NOT NULL,
  resolved_at INTEGER,
  why         TEXT NOT NULL,
  value       REAL
);
CREATE UNIQUE INDEX alerts_firing ON alerts (rule_id) WHERE status = 'firing';
CREATE INDEX alerts_namespace ON alerts (namespace, id);
CREATE INDEX alerts_rule ON alerts (rule_id, id);

CREATE TABLE leases (
  name        TEXT PRIMARY KEY NOT NULL,
  holder      TEXT NOT NULL,
  until       INTEGER NOT NULL
);

CREATE INDEX runs_retry_of ON runs (retry_of) WHERE retry_of IS NOT NULL;
`;

// Secrets (docs/security.md, "Secrets"): the value sealed under its own data key, the data key
// wrapped under the key-encryption key `kek_id` names.
const V8 = `
CREATE TABLE secrets (
  id          TEXT PRIMARY KEY NOT NULL,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  version     INTEGER NOT NULL,
  kek_id      TEXT NOT NULL,
  wrapped_key TEXT NOT NULL,
  ciphertext  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  created_by  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX secrets_namespace_name ON secrets (namespace, name);
CREATE INDEX secrets_kek ON secrets (kek_id);
`;

// API keys that expire, rotate, carry scopes and remember where they were used (issue 12,
// docs/security.md "API keys"). All nullable: existing keys never expire and are not narrowed.
const V9 = `
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_from TEXT;
ALTER TABLE api_keys ADD COLUMN addresses TEXT;
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
`;

// Pending runs by namespace, for the claim's fair share (claims.ts: a flood in one namespace must
// not hold back another's due runs): one seek finds the next namespace, one more its oldest due runs.
const V11 = `
CREATE INDEX runs_due_namespace ON runs (namespace, scheduled_for, priority DESC, id) WHERE status = 'scheduled';
`;

// The audit log's hash chain (../audit-chain.ts): every row gets its place (`seq`, unique), the
// hash of the row before it and its own; `audit_head` is the one row appends move forward (the
// seq and hash the next row links to); `audit_checkpoints` keeps the HMAC-signed checkpoints of
// pruned prefixes and of the head. Rows written before this migration are chained by it, in
// (at, id) order (chainExistingAuditRows), so they are covered too.
const V10 = `
ALTER TABLE audit ADD COLUMN seq INTEGER;
ALTER TABLE audit ADD COLUMN prev_hash TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;
CREATE TABLE audit_head (
  id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  seq   INTEGER NOT NULL,
  hash  TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
  kind       TEXT NOT NULL CHECK (kind = 'prune' OR kind = 'head'),
  seq        INTEGER NOT NULL,
  hash       TEXT NOT NULL,
  at         INTEGER NOT NULL,
  node       TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  signature  TEXT NOT NULL,
  PRIMARY KEY (kind, seq)
);
`;

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'initial schema', sql: V1 },
  { version: 2, description: 'resource samples of long runs', sql: V2 },
  { version: 3, description: 'task listings sorted by name', sql: V3 },
  { version: 4, description: 'node instances and runs in flight', sql: V4 },
  { version: 5, description: 'finished runs by finish time, for retention', sql: V5 },
  { version: 6, description: 'notification channels and outbox', sql: V6 },
  { version: 7, description: 'alert rules, alerts and leases', sql: V7 },
  { version: 8, description: 'secrets', sql: V8 },
  { version: 9, description: 'API key expiry, scopes, rotation and last use', sql: V9 },
  {
    version: 10,
    description: 'audit hash chain and signed checkpoints',
    sql: V10,
    apply: (db) => {
      chainExistingAuditRows(db);
      // After the numbering: the index then checks every seq once.
      db.exec('CREATE UNIQUE INDEX audit_seq ON audit (seq)');
    },
  },
  { version: 11, description: 'pending runs by namespace, for fair claims', sql: V11 },
];

/** The schema version this code writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Reads the stored schema version (0 for an empty database). */
export function schemaVersion(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)');
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  return row === undefined ? 0 : Number(row.value);
}

/**
 * Applies the migrations the database lacks, all in one transaction (a failure leaves the old
 * schema intact). Refuses a database newer than `migrations` knows.
 */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  return db.transaction(() => {
    const current = schemaVersion(db);
    if (current > known) throw new SchemaTooNewError(current, known);
    const missing = migrations.filter((m) => m.version > current);
    for (const m of missing) {
      db.exec(m.sql);
      m.apply?.(db);
    }
    if (missing.length > 0) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(known),
      );
    }
    return known;
  }).immediate();
}
