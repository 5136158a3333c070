// The audit hash chain on PostgreSQL: the shared suite (hashes computed in SQL, verified with the
// TypeScript encoding), the migration that chains rows written before it, and what only a shared
// database has: several nodes appending at once keep one gapless, valid chain.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS_HASH, signCheckpoint } from '../../src/store/audit-chain.js';
import { copyStore } from '../../src/store/copy/copy.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { applyPgMigrations } from '../../src/store/postgres/migrations.js';
import { PG_MIGRATIONS } from '../../src/store/postgres/schema.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/pg-store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { KEY, allRows, runAuditChainConformance, verify } from './audit-chain-conformance.js';
import { T0, audit, newTask } from './store-fixtures.js';

const db = await createTestDatabase('sundial_auditchain');
const admin = new pg.Pool({ connectionString: db.url, max: 2 });
after(async () => {
  await admin.end();
  await db.drop();
});

async function openStore(url = db.url): Promise<PostgresStore> {
  const store = await openPostgresStore({ url, poolSize: 4 });
  await store.migrate();
  return store;
}

/** Empties the log and resets the chain (between tests). */
async function resetChain(): Promise<void> {
  await admin.query('TRUNCATE audit, audit_checkpoints, tasks, runs, run_counts');
  await admin.query(`UPDATE audit_head SET seq = 0, prev_hash = '${GENESIS_HASH}', hash = '${GENESIS_HASH}'`);
}

runAuditChainConformance('postgres', async () => {
  const store = await openStore();
  await resetChain();
  return {
    store,
    async tamper(sql, params = []) {
      await admin.query(sql, params);
    },
    cleanup: () => store.close(),
  };
});

describe('audit chain on PostgreSQL', () => {
  it('the migration chains the rows written before it, in time order', async () => {
    const other = await createTestDatabase('sundial_auditmig');
    try {
      await applyPgMigrations({ url: other.url }, PG_MIGRATIONS.filter((m) => m.version < 6));
      const c = new pg.Client({ connectionString: other.url });
      await c.connect();
      for (const [id, at] of [['b', T0 + 2], ['a', T0 + 1], ['d', T0 + 3], ['c', T0 + 3]] as const) {
        await c.query('INSERT INTO audit (id, namespace, at, actor, ip, action, target_type, target_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
          id, 'default', at, 'key:old', id === 'a' ? null : '10.0.0.1', 'task.create', 'task', `t-${id}`, id === 'b' ? null : '{"old":"ü"}',
        ]);
      }
      await c.end();
      const store = await openStore(other.url);
      try {
        const rows = await allRows(store);
        assert.deepEqual(rows.map((r) => [r.seq, r.id]), [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
        await store.appendAudit(audit('node.start', 'n1', { at: T0 + 10 }));
        const v = await verify(store);
        assert.deepEqual([v.ok, v.count, v.head.seq], [true, 5, 5], JSON.stringify(v.broken));
      } finally {
        await store.close();
      }
    } finally {
      await other.drop();
    }
  });

  it('several nodes appending at once keep one gapless, valid chain', async () => {
    await resetChain();
    const nodes = await Promise.all([openStore(), openStore(), openStore(), openStore()]);
    try {
      const PER_NODE = 40;
      await Promise.all(
        nodes.map(async (store, n) => {
          // Two writers per node, through both audited paths (a change with its row, a row alone).
          await Promise.all([
            (async () => {
              for (let i = 0; i < PER_NODE / 2; i++) {
                const task = newTask({ id: `t-${n}-${i}`, name: `t-${n}-${i}` });
                await store.createTask(task, null, audit('task.create', task.id, { at: T0 + i }));
              }
            })(),
            (async () => {
              for (let i = 0; i < PER_NODE / 2; i++) await store.appendAudit(audit('api_key.use', `k-${n}-${i}`, { at: T0 + i }));
            })(),
          ]);
        }),
      );
      const total = nodes.length * PER_NODE;
      const rows = await allRows(nodes[0]!);
      assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: total }, (_, i) => i + 1));
      const v = await verify(nodes[1]!);
      assert.deepEqual([v.ok, v.count, v.head.seq], [true, total, total], JSON.stringify(v.broken));
    } finally {
      await Promise.all(nodes.map((s) => s.close()));
    }
  });

  it('sundial store copy moves the chain and its checkpoints: it verifies on the cluster and goes on from the head', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sundial-auditcopy-'));
    const target = await createTestDatabase('sundial_auditcopy');
    try {
      const single = await openSqliteStore({ dir });
      await single.migrate();
      for (let i = 1; i <= 5; i++) await single.appendAudit(audit('task.create', `t${i}`, { at: T0 + i }));
      await single.auditChain.prune(T0 + 2.5, 100, (last) => signCheckpoint({ kind: 'prune', seq: last.seq, hash: last.hash, at: T0 + 9, node: 'single' }, KEY));
      const head = await single.auditChain.head();
      await single.auditChain.addCheckpoint(signCheckpoint({ kind: 'head', seq: head.seq, hash: head.hash, at: T0 + 9, node: 'single' }, KEY));
      await single.close();
      await copyStore({ from: dir, to: target.url });
      const cluster = await openStore(target.url);
      try {
        assert.deepEqual(await cluster.auditChain.head(), head);
        await cluster.appendAudit(audit('node.start', 'n1', { at: T0 + 10 }));
        const v = await verify(cluster);
        assert.deepEqual([v.ok, v.from.seq, v.from.checkpoint, v.count, v.signedHeads, v.head.seq], [true, 2, true, 4, 1, 6], JSON.stringify(v.broken));
      } finally {
        await cluster.close();
      }
    } finally {
      await target.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
