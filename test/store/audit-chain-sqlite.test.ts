// The audit hash chain on SQLite: the shared suite (tampering with the file while the store is
// closed, as someone with access to the data directory would), and the migration that chains the
// rows written before it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import { MIGRATIONS, applyMigrations } from '../../src/store/sqlite/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { GENESIS_HASH } from '../../src/store/audit-chain.js';
import type { Store } from '../../src/store/store.js';
import { allRows, runAuditChainConformance, verify } from './audit-chain-conformance.js';
import { T0 } from './store-fixtures.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sundial-audit-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function openMigrated(dir: string): Promise<Store> {
  const store = await openSqliteStore({ dir });
  await store.migrate();
  return store;
}

runAuditChainConformance('sqlite', async () => {
  const dir = await tempDir();
  let store = await openMigrated(dir);
  return {
    get store() {
      return store;
    },
    async tamper(sql, params = []) {
      // The store holds the file's lock: close it, write as an intruder would, open it again.
      await store.close();
      const db = new Database(join(dir, 'sundial.db'));
      try {
        db.prepare(sql.replace(/\$\d+/g, '?')).run(...params);
      } finally {
        db.close();
      }
      store = await openMigrated(dir);
    },
    cleanup: () => store.close(),
  };
});

describe('audit chain migration (SQLite)', () => {
  it('chains the rows written before it, in time order, and appends after them', async () => {
    const dir = await tempDir();
    const db = new Database(join(dir, 'sundial.db'));
    applyMigrations(db, MIGRATIONS.filter((m) => m.version < 10));
    const insert = db.prepare('INSERT INTO audit (id, namespace, at, actor, ip, action, target_type, target_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    // Written out of time order: the chain follows (at, id), as listings do.
    for (const [id, at] of [['b', T0 + 2], ['a', T0 + 1], ['d', T0 + 3], ['c', T0 + 3]] as const) {
      insert.run(id, 'default', at, 'key:old', null, 'task.create', 'task', `t-${id}`, '{"old":true}');
    }
    db.close();
    const store = await openMigrated(dir);
    try {
      const rows = await allRows(store);
      assert.deepEqual(rows.map((r) => [r.seq, r.id]), [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
      assert.equal(rows[0]!.prevHash, GENESIS_HASH);
      await store.appendAudit({ namespace: '*', at: T0 + 10, actor: 'system', ip: null, action: 'node.start', targetType: 'node', targetId: 'n1' });
      const v = await verify(store);
      assert.deepEqual([v.ok, v.count, v.head.seq], [true, 5, 5]);
    } finally {
      await store.close();
    }
  });
});
