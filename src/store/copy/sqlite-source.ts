// The source of `sundial store copy`: a SQLite data directory, opened read-only and read in one
// transaction, so every table comes from the same snapshot.
//
// Why refuse a directory a server is using (instead of copying from a consistent read of a live
// server): the server holds its database with an exclusive lock (open-db.ts), and anything it does
// after the snapshot (a run that finishes, a key created) would be missing from the cluster while
// the old node keeps acting on it. Stopping the node first is what makes the copy complete.
// The read transaction is held until `close()`, and it in turn keeps a server from starting on the
// directory while the copy runs (the server's open fails with "another Sundial server is using").
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION, SchemaTooNewError } from '../sqlite/migrations.js';
import { DB_FILE } from '../sqlite/open-db.js';
import { SqliteDatabase } from '../sqlite/sqlite-driver.js';
import { COPY_TABLES, NOT_COPIED, type CopyTable } from './tables.js';

/** Text per batch, in UTF-16 code units (see `batches`). */
export const DEFAULT_BATCH_CHARS = 16 * 1024 * 1024;

/** Thrown when the source cannot be copied as it is (missing, in use, or at another schema). */
export class CopySourceError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_SOURCE_MISSING' | 'ERR_SOURCE_LOCKED' | 'ERR_SOURCE_SCHEMA_OLD' | 'ERR_SOURCE_SCHEMA_UNKNOWN',
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'CopySourceError';
  }
}

/** A SQLite data directory opened for copying: one read snapshot until `close()`. */
export class SqliteSource {
  readonly dir: string;
  /** The source's schema version (always LATEST_SCHEMA_VERSION once opened). */
  readonly schemaVersion: number;
  readonly #db: Database.Database;

  private constructor(dir: string, db: Database.Database, schemaVersion: number) {
    this.dir = dir;
    this.#db = db;
    this.schemaVersion = schemaVersion;
  }

  /**
   * Opens `<dir>/sundial.db` read-only and starts the read transaction. Refuses a missing
   * database, one a running server holds, one at an older schema (start the current Sundial on it
   * once: it migrates) and one at a newer schema (SchemaTooNewError).
   */
  static open(dir: string): SqliteSource {
    const abs = resolve(dir);
    const file = join(abs, DB_FILE);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) {
      throw new CopySourceError(`${abs} is not a directory (give --from the server's data directory)`, 'ERR_SOURCE_MISSING');
    }
    if (!existsSync(file)) {
      throw new CopySourceError(`${abs} holds no Sundial database (no ${DB_FILE} in it)`, 'ERR_SOURCE_MISSING');
    }
    // Read-only: the copy must not change its source. It still needs the -shm file beside the
    // database (WAL readers share their index through it), so a directory it cannot write to fails
    // at the first read; a server left after a crash is recovered from its WAL, in that index only.
    // No `locking_mode=EXCLUSIVE` here: a read-only file descriptor cannot take the write lock
    // that mode needs in WAL (SQLITE_IOERR_LOCK); the read transaction's lock is enough.
    const locked = (err: unknown): CopySourceError =>
      new CopySourceError(
        `a Sundial server is using ${abs} (its database is locked); stop it, then copy: ` +
          'runs it starts or finishes after the copy would be missing from the cluster',
        'ERR_SOURCE_LOCKED',
        { cause: err },
      );
    let db: Database.Database;
    try {
      db = new SqliteDatabase(file, { readonly: true, fileMustExist: true, timeout: 0 });
    } catch (err) {
      throw isBusy(err) ? locked(err) : err;
    }
    try {
      // The snapshot starts at the first read, which is also where a running server's lock shows.
      db.exec('BEGIN');
      let version: number;
      try {
        version = readSchemaVersion(db);
      } catch (err) {
        throw isBusy(err) ? locked(err) : err;
      }
      if (version === 0) {
        throw new CopySourceError(`${file} is not a Sundial database (it has no schema version)`, 'ERR_SOURCE_SCHEMA_UNKNOWN');
      }
      if (version > LATEST_SCHEMA_VERSION) throw new SchemaTooNewError(version, LATEST_SCHEMA_VERSION);
      if (version < LATEST_SCHEMA_VERSION) {
        // Copying older schemas would need a reader per past version; the server's own migration
        // already knows how to bring it forward, and keeps one code path tested.
        throw new CopySourceError(
          `the database in ${abs} is at schema version ${version}, this Sundial copies version ${LATEST_SCHEMA_VERSION}: ` +
            `start this Sundial once on it (sundial serve --data-dir ${abs}) so it migrates, stop it, then copy`,
          'ERR_SOURCE_SCHEMA_OLD',
        );
      }
      checkTables(db);
      return new SqliteSource(abs, db, version);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Rows in `table` (in the snapshot). */
  count(table: CopyTable): number {
    return this.#db.prepare(`SELECT count(*) FROM ${table.name}`).pluck(true).get() as number;
  }

  /** Runs `queued` or `running` (held by the stopped node when it stopped). */
  /** The audit chain's head (null from a schema without the chain). */
  auditHead(): { seq: number; hash: string } | null {
    const exists = this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_head'").get();
    if (exists === undefined) return null;
    return (this.#db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as { seq: number; hash: string } | undefined) ?? null;
  }

  countInFlight(): number {
    return this.#db.prepare("SELECT count(*) FROM runs WHERE status IN ('queued', 'running')").pluck(true).get() as number;
  }

  /**
   * The rows of `table` in batches of at most `size` rows and about `maxChars` characters of text,
   * each row an array in `table.columns` order. The text bound keeps memory flat when rows are big
   * (a run's result, a long log line) and keeps each column's array, which PostgreSQL receives as
   * one value, far below its 1 GB limit per value. Paged by rowid (keyset: each batch is one range
   * of the table's b-tree, whatever its size), which is also the order log lines were written in.
   */
  *batches(table: CopyTable, size: number, maxChars = DEFAULT_BATCH_CHARS): Generator<unknown[][]> {
    const cols = table.columns.map((c) => c.name).join(', ');
    if (table.paging === 'whole') {
      // One row per namespace and status: small enough to read at once.
      const rows = this.#db.prepare(`SELECT ${cols} FROM ${table.name}`).raw(true).all() as unknown[][];
      for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
      return;
    }
    // The rowid rides along as the last value and is cut off before the batch is handed out.
    const page = this.#db.prepare(`SELECT ${cols}, rowid FROM ${table.name} WHERE rowid > ? ORDER BY rowid LIMIT ?`).raw(true);
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const rows: unknown[][] = [];
      let chars = 0;
      // iterate(), not all(): a batch that reaches the text bound stops reading there.
      for (const row of page.iterate(after, size) as IterableIterator<unknown[]>) {
        after = row.pop() as number;
        rows.push(row);
        for (const v of row) if (typeof v === 'string') chars += v.length;
        if (chars >= maxChars) break;
      }
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < size && chars < maxChars) return;
    }
  }

  /** Ends the read transaction and closes the file. */
  close(): void {
    if (!this.#db.open) return;
    try {
      this.#db.exec('COMMIT');
    } finally {
      this.#db.close();
    }
  }
}

/** The version in `meta`, or 0 when there is no `meta` (read-only: nothing is created). */
function readSchemaVersion(db: Database.Database): number {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  if (!hasMeta) return 0;
  const value = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck(true).get() as string | undefined;
  return value === undefined ? 0 : Number(value);
}

/**
 * Checks that the source has exactly the tables and columns the copy knows: a table or column
 * this code does not copy would otherwise be lost without a word. At the current schema version
 * this only fails when a migration was added without updating tables.ts (the tests catch that).
 */
function checkTables(db: Database.Database): void {
  const names = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck(true)
    .all() as string[];
  const problems: string[] = [];
  for (const name of names) {
    if (!COPY_TABLES.some((t) => t.name === name) && NOT_COPIED[name] === undefined) problems.push(`table ${name} is not copied`);
  }
  for (const table of COPY_TABLES) {
    if (!names.includes(table.name)) {
      problems.push(`table ${table.name} is missing`);
      continue;
    }
    const actual = (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck(true).all(table.name) as string[]).sort();
    const expected = [...table.columns.map((c) => c.name), ...Object.keys(table.skipped ?? {})].sort();
    for (const c of actual) if (!expected.includes(c)) problems.push(`column ${table.name}.${c} is not copied`);
    for (const c of expected) if (!actual.includes(c)) problems.push(`column ${table.name}.${c} is missing`);
  }
  if (problems.length > 0) {
    throw new CopySourceError(
      `this Sundial's copy does not match its own SQLite schema (${problems.join('; ')}); this is a bug in Sundial`,
      'ERR_SOURCE_SCHEMA_UNKNOWN',
    );
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
