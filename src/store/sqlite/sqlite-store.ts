// STUB: owned by the sqlite-store helper.
import type { Store } from '../store.js';

export interface SqliteStoreOptions {
  /** Directory holding `sundial.db` (created if missing). */
  dir: string;
}

/** Opens (and locks) the SQLite store in `dir`. Call `migrate()` before use. */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<Store> {
  throw new Error(`not implemented: openSqliteStore(${opts.dir})`);
}
