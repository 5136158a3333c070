// Applies the PostgreSQL schema (schema.ts) forward, one node at a time. Every node runs this at
// start; a session advisory lock on one connection makes the others wait until the first is done,
// after which they find the version current and do nothing. Each migration runs in its own
// transaction with the row recording it, so a failure leaves the schema at the last whole step.
import pg from 'pg';
import { SchemaTooNewError } from '../store-errors.js';
import { clientConfig, type PgConnectOptions } from './pool.js';
import { PG_MIGRATIONS, type PgMigration } from './schema.js';

export { SchemaTooNewError };

/**
 * The advisory lock key of schema migrations: fixed, so every Sundial node (of any version)
 * contends for the same lock. The single-bigint key space is apart from the two-int keys that
 * guarded starts use (starts.ts).
 */
export const MIGRATION_LOCK_KEY = 0x53_75_6e_64_69_61_6c; // "Sundial"

/** The schema version this code writes. */
export const LATEST_PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]?.version ?? 0;

/** Reads the applied schema version on `c` (0 for an empty database). */
export async function pgSchemaVersion(c: Pick<pg.ClientBase, 'query'>): Promise<number> {
  await c.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, ' +
      'applied_at BIGINT NOT NULL)',
  );
  const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return rows[0]?.v ?? 0;
}

/**
 * Applies the migrations the database lacks, under the migration lock, on a connection of its
 * own (not pooled, and without the pool's statement timeout: waiting for another node's
 * migration, or a long step, is expected here); returns the version it left. Refuses
 * (SchemaTooNewError) a database newer than `migrations` knows: older code must not write to it.
 */
export async function applyPgMigrations(connect: PgConnectOptions, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number> {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  const client = new pg.Client(clientConfig(connect));
  // Errors of this connection reach us through its queries; without a listener they would also
  // be thrown at the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    // Session-level, not transaction-level: it must span several transactions (one per step).
    // It ends with the session (closed below, or dropped by a node that dies mid-migration).
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const current = await pgSchemaVersion(client);
    if (current > known) throw new SchemaTooNewError(current, known);
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(
          'INSERT INTO schema_migrations (version, description, applied_at) ' +
            'VALUES ($1, $2, (extract(epoch from clock_timestamp()) * 1000)::bigint)',
          [m.version, m.description],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    return Math.max(current, known);
  } finally {
    // Closing the session is what surely frees the lock (no unlock that could fail half-way).
    await client.end().catch(() => undefined);
  }
}
