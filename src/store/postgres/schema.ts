// The PostgreSQL schema, as forward-only migrations (applied by migrations.ts under an advisory
// lock). Tables and columns are those of the SQLite store (src/store/sqlite/migrations.ts), so
// rows map to domain types through the same code (../rows.ts) and `sundial store copy` moves rows
// column for column:
// - times are BIGINT epoch ms (the `pg` pool parses int8 to number: safe below 2^53);
// - JSON is TEXT, NULL when absent, as in SQLite: the hot path writes JSON it already has as text,
//   and nothing queries inside it except the task list's schedule-type filter;
// - no foreign keys, for the same reasons as SQLite (history outlives its task; no parent lookups
//   on the hot path);
// - ids, names and namespaces compare bytewise (COLLATE "C"), as SQLite's do: cursors and sorted
//   listings must agree across backends, and an index in the database's own collation could not
//   serve an ORDER BY … COLLATE "C" (a task list would scan the table: ~140 ms per 100,000 tasks).
// Differences, each for the cluster: `run_counts` is sharded (every node bumping one row per
// namespace and status would serialize their commits), and `runs.concurrency_key` is set when a
// guarded run starts, so the cross-node concurrency check reads a small partial index.

import { PG_AUDIT_CHAIN_MIGRATION } from './audit-chain.js';

/** One schema step: its version (1, 2, …, in order) and the SQL that takes the schema there. */
export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

const V1 = `
CREATE TABLE tasks (
  id              TEXT COLLATE "C" PRIMARY KEY,
  namespace       TEXT COLLATE "C" NOT NULL,
  name            TEXT COLLATE "C" NOT NULL,
  description     TEXT,
  kind            TEXT NOT NULL,
  spec            TEXT NOT NULL,
  schedule        TEXT,
  policies        TEXT NOT NULL,
  payload         TEXT,
  status          TEXT NOT NULL CHECK (status IN ('active', 'paused')),
  fired_count     BIGINT NOT NULL DEFAULT 0,
  next_run_at     BIGINT,
  last_run_at     BIGINT,
  last_run_status TEXT,
  version         INTEGER NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  created_by      TEXT NOT NULL,
  updated_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX tasks_namespace_name ON tasks (namespace, name);
CREATE INDEX tasks_name ON tasks (name, id);

CREATE TABLE runs (
  id                  TEXT COLLATE "C" PRIMARY KEY,
  namespace           TEXT COLLATE "C" NOT NULL,
  task_id             TEXT COLLATE "C" NOT NULL,
  task_name           TEXT COLLATE "C" NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('scheduled', 'queued', 'running', 'succeeded', 'failed',
                        'timed_out', 'cancelled', 'skipped')),
  attempt             INTEGER NOT NULL,
  retry_of            TEXT,
  trigger             TEXT NOT NULL,
  occurrence_at       BIGINT,
  scheduled_for       BIGINT NOT NULL,
  priority            INTEGER NOT NULL DEFAULT 0,
  payload             TEXT,
  idempotency_key     TEXT NOT NULL,
  queued_at           BIGINT,
  started_at          BIGINT,
  finished_at         BIGINT,
  node                TEXT,
  lease_until         BIGINT,
  lease_epoch         INTEGER NOT NULL DEFAULT 0,
  cancel_requested_at BIGINT,
  result              TEXT,
  error               TEXT,
  reason              TEXT,
  logs_truncated      INTEGER NOT NULL DEFAULT 0,
  cpu_ms              DOUBLE PRECISION,
  peak_rss_bytes      BIGINT,
  disk_write_bytes    BIGINT,
  concurrency_key     TEXT,
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL,
  created_by          TEXT NOT NULL,
  updated_by          TEXT NOT NULL
);
-- Each occurrence fires once: schedule runs use the key "<taskId>:<occurrenceAt>".
CREATE UNIQUE INDEX runs_occurrence ON runs (task_id, idempotency_key, attempt);
-- The claim: pending runs in due order.
CREATE INDEX runs_due ON runs (scheduled_for, priority DESC, id) WHERE status = 'scheduled';
-- Expired leases (orphans). Renewals, starts and releases name their runs by id, so no index
-- by node is kept up on every claim and start: each index costs every one of a run's updates
-- an insert (none of them can be HOT: status and lease columns are indexed).
CREATE INDEX runs_lease ON runs (lease_until) WHERE status IN ('queued', 'running');
-- Cancel requests of running runs, per holder (polled every second; almost always empty).
CREATE INDEX runs_cancel_requested ON runs (node) WHERE status = 'running' AND cancel_requested_at IS NOT NULL;
-- Cross-node admission: runs of a task, or of a concurrency key, that are running now.
CREATE INDEX runs_running_task ON runs (task_id) WHERE status = 'running';
CREATE INDEX runs_running_key ON runs (concurrency_key) WHERE status = 'running' AND concurrency_key IS NOT NULL;
-- Listing: by task and by time.
CREATE INDEX runs_task_time ON runs (task_id, scheduled_for, id);
CREATE INDEX runs_time ON runs (scheduled_for, id);
-- Retention: finished runs, oldest finish first.
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

-- Finished runs per namespace and status, in shards: a writer adds to its own shard (chosen per
-- store instance), readers sum the shards.
CREATE TABLE run_counts (
  namespace TEXT COLLATE "C" NOT NULL,
  status    TEXT NOT NULL,
  shard     SMALLINT NOT NULL,
  n         BIGINT NOT NULL,
  PRIMARY KEY (namespace, status, shard)
);

CREATE TABLE run_logs (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id     TEXT COLLATE "C" NOT NULL,
  at         BIGINT NOT NULL,
  level      TEXT NOT NULL,
  message    TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX run_logs_run ON run_logs (run_id, id);

CREATE TABLE run_samples (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id           TEXT COLLATE "C" NOT NULL,
  at               BIGINT NOT NULL,
  cpu_ms           DOUBLE PRECISION NOT NULL,
  rss_bytes        BIGINT NOT NULL,
  disk_write_bytes BIGINT NOT NULL
);
CREATE INDEX run_samples_run ON run_samples (run_id, at);

CREATE TABLE api_keys (
  id           TEXT COLLATE "C" PRIMARY KEY,
  name         TEXT COLLATE "C" NOT NULL,
  role         TEXT NOT NULL,
  namespaces   TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE,
  last_used_at BIGINT,
  revoked_at   BIGINT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL,
  created_by   TEXT NOT NULL,
  updated_by   TEXT NOT NULL
);

CREATE TABLE audit (
  id          TEXT COLLATE "C" PRIMARY KEY,
  namespace   TEXT COLLATE "C" NOT NULL,
  at          BIGINT NOT NULL,
  actor       TEXT NOT NULL,
  ip          TEXT,
  action      TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id   TEXT NOT NULL,
  detail      TEXT
);
CREATE INDEX audit_at ON audit (at, id);

CREATE TABLE nodes (
  id             TEXT COLLATE "C" PRIMARY KEY,
  host           TEXT NOT NULL,
  pid            INTEGER NOT NULL,
  version        TEXT NOT NULL,
  roles          TEXT NOT NULL,
  started_at     BIGINT NOT NULL,
  heartbeat_at   BIGINT NOT NULL,
  instance_id    TEXT NOT NULL,
  runs_in_flight INTEGER NOT NULL DEFAULT 0,
  created_by     TEXT NOT NULL,
  updated_by     TEXT NOT NULL
);
`;

/** Every migration, in order. Append only: a shipped migration is never edited. */
// Notification channels and the outbox, as in SQLite's V6 (docs/notifications.md). Deliverers on
// every node claim due rows with FOR UPDATE SKIP LOCKED through the partial index of pending rows.
const V2 = `
CREATE TABLE channels (
  id          TEXT COLLATE "C" PRIMARY KEY,
  namespace   TEXT COLLATE "C" NOT NULL,
  name        TEXT COLLATE "C" NOT NULL,
  type        TEXT NOT NULL,
  url         TEXT,
  recipients  TEXT,
  secret      TEXT,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  created_by  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX channels_namespace_name ON channels (namespace, name);

CREATE TABLE notifications (
  id              TEXT COLLATE "C" PRIMARY KEY,
  namespace       TEXT COLLATE "C" NOT NULL,
  channel         TEXT COLLATE "C" NOT NULL,
  event           TEXT NOT NULL,
  run_id          TEXT COLLATE "C",
  task_id         TEXT COLLATE "C",
  body            TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  attempts        TEXT NOT NULL DEFAULT '[]',
  attempt_count   INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  claim_token     TEXT,
  last_error      TEXT,
  delivered_at    BIGINT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_channel ON notifications (namespace, channel, id);
`;

// Alert rules, alerts and the evaluator's lease, as in SQLite's V7 (docs/alerts.md).
const V3 = `
CREATE TABLE alert_rules (
  id          TEXT COLLATE "C" PRIMARY KEY,
  namespace   TEXT COLLATE "C" NOT NULL,
  name        TEXT COLLATE "C" NOT NULL,
  kind        TEXT NOT NULL,
  params      TEXT NOT NULL,
  for_ms      BIGINT NOT NULL,
  channels    TEXT NOT NULL,
  enabled     INTEGER NOT NULL,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  created_by  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX alert_rules_namespace_name ON alert_rules (namespace, name);

CREATE TABLE alerts (
  id          TEXT COLLATE "C" PRIMARY KEY,
  rule_id     TEXT COLLATE "C" NOT NULL,
  namespace   TEXT COLLATE "C" NOT NULL,
  rule_name   TEXT COLLATE "C" NOT NULL,
  kind        TEXT NOT NULL,
  status      TEXT NOT NULL,
  since       BIGINT NOT NULL,
  fired_at    BIGINT NOT NULL,
  resolved_at BIGINT,
  why         TEXT NOT NULL,
  value       DOUBLE PRECISION
);
CREATE UNIQUE INDEX alerts_firing ON alerts (rule_id) WHERE status = 'firing';
CREATE INDEX alerts_namespace ON alerts (namespace, id);
CREATE INDEX alerts_rule ON alerts (rule_id, id);

CREATE TABLE leases (
  name        TEXT COLLATE "C" PRIMARY KEY,
  holder      TEXT NOT NULL,
  until       BIGINT NOT NULL
);

CREATE INDEX runs_retry_of ON runs (retry_of) WHERE retry_of IS NOT NULL;
`;

// Secrets, as in SQLite's V8 (docs/security.md, "Secrets").
const V4 = `
CREATE TABLE secrets (
  id          TEXT COLLATE "C" PRIMARY KEY,
  namespace   TEXT COLLATE "C" NOT NULL,
  name        TEXT COLLATE "C" NOT NULL,
  version     INTEGER NOT NULL,
  kek_id      TEXT COLLATE "C" NOT NULL,
  wrapped_key TEXT NOT NULL,
  ciphertext  TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  created_by  TEXT NOT NULL,
  updated_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX secrets_namespace_name ON secrets (namespace, name);
CREATE INDEX secrets_kek ON secrets (kek_id);
`;

// API keys that expire, rotate, carry scopes and remember where they were used (issue 12,
// docs/security.md "API keys"). As SQLite's V9; all nullable: existing keys never expire and are not narrowed.
const V5 = `
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_from TEXT;
ALTER TABLE api_keys ADD COLUMN addresses TEXT;
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT COLLATE "C";
`;

// Pending runs by namespace, for the claim's fair share (see claims.ts).
const V7 = `
CREATE INDEX runs_due_namespace ON runs (namespace, scheduled_for, priority DESC, id) WHERE status = 'scheduled';
`;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, description: 'initial schema', sql: V1 },
  { version: 2, description: 'notification channels and outbox', sql: V2 },
  { version: 3, description: 'alert rules, alerts and leases', sql: V3 },
  { version: 4, description: 'secrets', sql: V4 },
  { version: 5, description: 'API key expiry, scopes, rotation and last use', sql: V5 },
  { version: 6, description: 'audit hash chain and signed checkpoints', sql: PG_AUDIT_CHAIN_MIGRATION },
  { version: 7, description: 'pending runs by namespace, for fair claims', sql: V7 },
];
