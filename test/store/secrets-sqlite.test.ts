// The secrets conformance suite on the SQLite store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runSecretConformance } from './secret-conformance.js';

runSecretConformance('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sundial-secrets-'));
  const store = await openSqliteStore({ dir });
  await store.migrate();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
