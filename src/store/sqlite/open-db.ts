// Opening the SQLite file: durability settings and the data-directory lock.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { SqliteDatabase } from './sqlite-driver.js';

/** The database file's name inside the data directory. */
export const DB_FILE = 'sundial.db';

/** Thrown when another process (another Sundial server) holds the data directory. */
export class DataDirLockedError extends Error {
  readonly code = 'ERR_DATA_DIR_LOCKED';
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    super(`another Sundial server is using ${dir} (the SQLite database is locked)`, { cause });
    this.name = 'DataDirLockedError';
  }
}

/**
 * Opens `<dir>/sundial.db` and takes its lock for the life of this process.
 *
 * - `locking_mode=EXCLUSIVE` before WAL: SQLite then keeps the WAL index in heap memory (no
 *   `-shm` file) and never releases its file lock, so one process owns the directory. The OS
 *   drops the lock when the process dies, even by SIGKILL, so there is no stale lock file.
 * - `synchronous=FULL`: WAL commits fsync, so a resolved write survives a power cut, not
 *   only a process crash. Group commit (write-batcher.ts) pays for that fsync once per batch.
 * - busy timeout 0: a second server fails at once with a clear error instead of waiting.
 */
export function openDatabase(dir: string): Database.Database {
  mkdirSync(dir, { recursive: true });
  const db = new SqliteDatabase(join(dir, DB_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`could not switch ${dir}/${DB_FILE} to WAL mode (got ${String(mode)})`);
    db.pragma('synchronous = FULL');
    // Runs reference tasks that may be deleted (history stays); see migrations.ts.
    db.pragma('foreign_keys = OFF');
    // 16 MiB of page cache. What a node touches often (due and in-flight runs, their indexes, the
    // tasks they belong to) fits; the rest comes from the OS page cache at a few µs a page. At
    // 64 MiB the cache held ~55 MB more of the server's RSS at 100,000 runs/min for no
    // measurable gain (docs/benchmarks.md).
    db.pragma('cache_size = -16384');
    db.pragma('temp_store = MEMORY');
    // The WAL is reused after each checkpoint; this only trims it after an unusually large batch.
    db.pragma('journal_size_limit = 67108864');
    // The first write takes the exclusive lock, which locking_mode keeps until close.
    db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (err) {
    db.close();
    if (isBusy(err)) throw new DataDirLockedError(dir, err);
    throw err;
  }
  return db;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
