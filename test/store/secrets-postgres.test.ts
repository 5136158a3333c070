// The secrets conformance suite on the PostgreSQL store: a database of its own for this file,
// emptied between tests.
import { after } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/pg-store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { runSecretConformance } from './secret-conformance.js';

const db = await createTestDatabase('sundial_pgsecrets');
const admin = new pg.Pool({ connectionString: db.url, max: 2 });
after(async () => {
  await admin.end();
  await db.drop();
});

runSecretConformance('postgres', async () => {
  const store = await openPostgresStore({ url: db.url, poolSize: 4 });
  await store.migrate();
  await admin.query('TRUNCATE audit, secrets');
  return { store, cleanup: () => store.close() };
});
