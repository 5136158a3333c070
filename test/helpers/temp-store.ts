// A real SQLite store in a fresh temporary directory, removed again by `cleanup`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

export interface TempStore {
  store: Store;
  dir: string;
  /** Closes the store and deletes its directory. */
  cleanup(): Promise<void>;
}

/** Opens and migrates a SQLite store in a new temp directory. */
export async function openTempStore(prefix = 'sundial-test-'): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = await openSqliteStore({ dir });
  await store.migrate();
  return {
    store,
    dir,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
