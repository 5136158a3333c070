// The target of `sundial store copy`: a PostgreSQL database. The schema is created by the store's
// own migrate() (the same advisory-locked path every node runs at start); the rows are written by
// one connection of our own inside ONE transaction, so a failed or interrupted copy leaves no row
// behind, and a finished one appears whole.
import pg from 'pg';
import { openPostgresStore } from '../postgres/pg-store.js';
import { clientConfig } from '../postgres/pool.js';
import type { CopyTable, PgType } from './tables.js';

/** Thrown when the target cannot take the copy (it holds rows, or its schema is not the one this code writes). */
export class CopyTargetError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_TARGET_NOT_EMPTY' | 'ERR_TARGET_SCHEMA' | 'ERR_TARGET_BUSY',
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'CopyTargetError';
  }
}

/** How long the copy waits for other sessions' locks on the target tables before giving up. */
const LOCK_TIMEOUT = '10s';

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages and output. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** One connection to the target database, for the copy's checks and its transaction. */
export class PostgresTarget {
  readonly url: string;
  readonly #client: pg.Client;
  #inTransaction = false;

  private constructor(url: string, client: pg.Client) {
    this.url = url;
    this.#client = client;
  }

  /** Connects (a bad URL, refused connection or failed login rejects here). */
  static async connect(url: string): Promise<PostgresTarget> {
    const client = new pg.Client(clientConfig({ url, applicationName: 'sundial-store-copy' }));
    // A connection that breaks between queries emits 'error' on the client; the next query fails
    // with it anyway, so the listener only keeps it from being thrown at the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw new Error(`cannot connect to ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
    }
    return new PostgresTarget(url, client);
  }

  /** The applied Sundial schema version, 0 when the database has none yet. Reads only. */
  async schemaVersion(): Promise<number> {
    const exists = await this.#client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    if (exists.rows[0]?.t == null) return 0;
    const { rows } = await this.#client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return rows[0]?.v ?? 0;
  }

  /**
   * The copied tables that already hold a row (empty list: the target may take the copy). A
   * table that does not exist yet is empty. Reads only, so a dry run and the refusal change nothing.
   */
  async occupied(tables: readonly CopyTable[]): Promise<string[]> {
    const { rows } = await this.#client.query<{ name: string; t: string | null }>(
      'SELECT name, to_regclass(name)::text AS t FROM unnest($1::text[]) AS name',
      [tables.map((t) => t.name)],
    );
    const present = rows.filter((r) => r.t !== null).map((r) => r.name);
    if (present.length === 0) return [];
    // EXISTS, not count(*): a big table answers at its first row.
    const probes = present.map((name, i) => `EXISTS (SELECT 1 FROM ${pg.escapeIdentifier(name)}) AS t${i}`);
    const found = (await this.#client.query<Record<string, boolean>>(`SELECT ${probes.join(', ')}`)).rows[0] ?? {};
    return present.filter((_, i) => found[`t${i}`] === true);
  }

  /**
   * Creates or upgrades the schema through the PostgreSQL store's own migrate(), under its
   * advisory lock, so the schema is exactly what every node expects (and a database written by
   * newer code is refused with SchemaTooNewError).
   */
  async migrate(): Promise<void> {
    const store = await openPostgresStore({ url: this.url, poolSize: 1, applicationName: 'sundial-store-copy' });
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
  }

  /**
   * Checks that each target table has exactly the columns the copy writes plus the ones it leaves
   * to the target (`targetOnly`): a column this code does not know would get only its default.
   */
  async checkColumns(tables: readonly CopyTable[]): Promise<void> {
    const { rows } = await this.#client.query<{ table_name: string; column_name: string }>(
      'SELECT table_name, column_name FROM information_schema.columns ' +
        'WHERE table_schema = current_schema() AND table_name = ANY($1::text[])',
      [tables.map((t) => t.name)],
    );
    const problems: string[] = [];
    for (const table of tables) {
      const actual = rows.filter((r) => r.table_name === table.name).map((r) => r.column_name);
      const expected = [...table.columns.map((c) => c.name), ...(table.targetOnly ?? [])];
      if (actual.length === 0) problems.push(`table ${table.name} is missing`);
      else {
        for (const c of actual) if (!expected.includes(c)) problems.push(`column ${table.name}.${c} is not written`);
        for (const c of expected) if (!actual.includes(c)) problems.push(`column ${table.name}.${c} is missing`);
      }
    }
    if (problems.length > 0) {
      throw new CopyTargetError(
        `the PostgreSQL schema is not the one this copy writes (${problems.join('; ')}); this is a bug in Sundial`,
        'ERR_TARGET_SCHEMA',
      );
    }
  }

  /**
   * Begins the copy's transaction and locks the copied tables against writers (readers go on):
   * a node started too early, or a second copy, waits for this one instead of interleaving its
   * rows, and then finds the tables taken.
   */
  async begin(tables: readonly CopyTable[]): Promise<void> {
    await this.#client.query('BEGIN');
    this.#inTransaction = true;
    await this.#client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    try {
      await this.#client.query(`LOCK TABLE ${tables.map((t) => pg.escapeIdentifier(t.name)).join(', ')} IN EXCLUSIVE MODE`);
    } catch (err) {
      if ((err as { code?: string }).code === '55P03') {
        throw new CopyTargetError(
          `the target tables stayed locked by another session for ${LOCK_TIMEOUT} (a Sundial node or another copy is using ${redactUrl(this.url)})`,
          'ERR_TARGET_BUSY',
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Inserts one batch (rows in `table.columns` order) in the open transaction. */
  async insert(table: CopyTable, rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    const n = rows.length;
    const columns = table.columns.map(() => new Array<unknown>(n));
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      for (let j = 0; j < columns.length; j++) columns[j]![i] = row[j];
    }
    await this.#client.query({ name: `sundial_copy_${table.name}`, text: insertSql(table), values: columns });
  }

  /** Commits the copy. */
  /** Sets the audit chain's head (inside the copy's transaction). */
  async setAuditHead(head: { seq: number; hash: string }): Promise<void> {
    await this.#client.query('UPDATE audit_head SET seq = $1, prev_hash = $2, hash = $2 WHERE id = 1', [head.seq, head.hash]);
  }

  async commit(): Promise<void> {
    await this.#client.query('COMMIT');
    this.#inTransaction = false;
  }

  /** Rolls the copy back (nothing of it stays). */
  async rollback(): Promise<void> {
    if (!this.#inTransaction) return;
    this.#inTransaction = false;
    await this.#client.query('ROLLBACK');
  }

  /**
   * Refreshes the planner's statistics of the copied tables. Autovacuum would get there, but only
   * after its thresholds; until then the first cluster queries on freshly loaded tables can plan
   * as if they were empty.
   */
  async analyze(tables: readonly CopyTable[]): Promise<void> {
    await this.#client.query(`ANALYZE ${tables.map((t) => pg.escapeIdentifier(t.name)).join(', ')}`);
  }

  /** Closes the connection (an open transaction is rolled back by the server). */
  async close(): Promise<void> {
    await this.#client.end().catch(() => undefined);
  }
}

const ARRAY_TYPES: Record<PgType, string> = { text: 'text[]', int4: 'int4[]', int8: 'int8[]', float8: 'float8[]' };

/**
 * `INSERT … SELECT … FROM unnest($1::type[], …)`: one statement per batch whatever its size (no
 * 65,535-parameter ceiling as with multi-row VALUES), and one text, so it is prepared once.
 * unnest yields rows in array order, so identity ids follow the source order.
 */
export function insertSql(table: CopyTable): string {
  const names = table.columns.map((c) => c.name);
  const consts = table.constants ?? [];
  const into = [...names, ...consts.map((c) => c.name)].map((c) => pg.escapeIdentifier(c)).join(', ');
  const arrays = table.columns.map((c, i) => `$${i + 1}::${ARRAY_TYPES[c.type]}`).join(', ');
  const select = [
    ...names.map((c) => `u.${pg.escapeIdentifier(c)}`),
    ...consts.map((c) => (typeof c.value === 'number' ? `${c.value}::${c.type}` : `${pg.escapeLiteral(c.value)}::${c.type}`)),
  ].join(', ');
  const alias = names.map((c) => pg.escapeIdentifier(c)).join(', ');
  return `INSERT INTO ${pg.escapeIdentifier(table.name)} (${into}) SELECT ${select} FROM unnest(${arrays}) AS u(${alias})`;
}
