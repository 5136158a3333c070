// The PostgreSQL statements that find runs by id must look them up in the primary key, also in
// the generic plans that named statements switch to after five runs. The partial index
// runs_lease (every in-flight run, and under load every not yet vacuumed version of one) tempted
// the planner: it walked the whole index and filtered it by id, which in S2 at 100,000 runs a
// minute read ~13 million index entries a second. Checked here with EXPLAIN on the statements the
// store runs, over a table whose statistics look like that moment.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/pg-store.js';
import * as S from '../../src/store/postgres/statements.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let db: TestDatabase;
let c: pg.Client;

before(async () => {
  db = await createTestDatabase('sundial_plans');
  const store = await openPostgresStore({ url: db.url });
  await store.migrate();
  await store.close();
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
  // 40,000 finished runs, 500 in flight on node n1, 9,500 scheduled (a few in seven other namespaces).
  await c.query(`
    INSERT INTO runs (id, namespace, task_id, task_name, status, attempt, trigger, occurrence_at, scheduled_for, priority,
      idempotency_key, created_at, updated_at, created_by, updated_by, finished_at, node, lease_until)
    SELECT 'r' || lpad(i::text, 8, '0'), CASE WHEN i >= 40500 AND i % 20 = 0 THEN 'ns' || (i % 7) ELSE 'default' END, 't' || (i % 5000), 'x',
      CASE WHEN i < 40000 THEN 'succeeded' WHEN i < 40500 THEN 'queued' ELSE 'scheduled' END, 1, 'schedule', 1, 1000000 + i, 0,
      'k' || i, 0, 0, 'test', 'test', CASE WHEN i < 40000 THEN 2000000 + i END,
      CASE WHEN i >= 40000 AND i < 40500 THEN 'n1' END, CASE WHEN i >= 40000 AND i < 40500 THEN 5000000 END
    FROM generate_series(0, 49999) AS i`);
  await c.query('ANALYZE runs');
  await c.query('SET plan_cache_mode = force_generic_plan');
});

after(async () => {
  await c?.end();
  await db?.drop();
});

/** The scans of the statement's generic plan, run on 20 in-flight runs and rolled back. */
async function scans(st: S.Statement, values: unknown[]): Promise<string[]> {
  await c.query('BEGIN');
  try {
    const { rows } = await c.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN (COSTS OFF) ${st.text}`, values });
    return rows.map((r) => r['QUERY PLAN']).filter((l) => /Scan/.test(l)).map((l) => l.trim());
  } finally {
    await c.query('ROLLBACK');
  }
}

const ids = Array.from({ length: 20 }, (_, i) => `r${String(40000 + i).padStart(8, '0')}`);
const each = <T>(v: T) => ids.map(() => v);

const byId: [S.Statement, unknown[]][] = [
  [S.markRunning, [ids, each(0), each(3e6)]],
  [S.startAdmitted, [ids, each(0), each(3e6), each(null)]],
  [S.completeRuns, [ids, each(0), each('succeeded'), each(3e6), each(3e6), each(null), each(null), each(null), each(0), each(1), each(1), each(1)]],
  [S.extendLeases, [6e6, 'n1', ids, each(0)]],
  [S.releaseRuns, [6e6, 'n1', ids, each(0)]],
  [S.releaseCancelRequested, [6e6, 'n1', ids, each(0)]],
  [S.claimLocked, [ids, each(true), 3e6, 'n1', 5e6, 'token']],
];

describe('PostgreSQL statements that find runs by id', () => {
  for (const [st, values] of byId) {
    it(`${st.name} reads the primary key, never the lease index`, async () => {
      const plan = await scans(st, values);
      assert.ok(plan.length > 0, 'the plan has scans');
      for (const line of plan) {
        if (!/ on runs\b/.test(line)) continue;
        assert.match(line, /runs_pkey/, `every scan of runs is a primary-key lookup:\n${plan.join('\n')}`);
      }
      assert.ok(plan.some((l) => /runs_pkey/.test(l)), plan.join('\n'));
    });
  }
});

describe('the claim’s fair share', () => {
  it('finds the namespaces with pending runs by seeks of runs_due_namespace, not a scan of the backlog', async () => {
    const plan = await scans(S.pendingNamespaces, []);
    assert.ok(plan.length > 0, 'the plan has scans');
    const runs = plan.filter((l) => / on runs\b/.test(l));
    assert.ok(runs.length > 0, plan.join('\n'));
    for (const line of runs) assert.match(line, /Index Only Scan using runs_due_namespace on runs/, plan.join('\n'));
  });

  it('reads each namespace’s oldest due runs from runs_due_namespace', async () => {
    const plan = await scans(S.lockDueOfNamespaces, [['default', 'other'], 2e6, 10]);
    const runs = plan.filter((l) => / on runs\b/.test(l) && !/ on tasks\b/.test(l));
    assert.ok(runs.length > 0, plan.join('\n'));
    for (const line of runs) assert.match(line, /runs_due_namespace/, plan.join('\n'));
  });
});
