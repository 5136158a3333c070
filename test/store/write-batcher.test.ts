// The SQLite group-commit writer on its own, on a real database: one transaction per event-loop
// turn, a savepoint per write, results only after COMMIT, the batch bound, close.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { StoreClosedError, WriteBatcher } from '../../src/store/sqlite/write-batcher.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function open(): Database.Database {
  const db = new SqliteDatabase(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)');
  return db;
}

const insert = (db: Database.Database, k: string, v = 0) => (): number => Number(db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(k, v).lastInsertRowid);
const keys = (db: Database.Database): string[] => (db.prepare('SELECT k FROM t ORDER BY rowid').all() as { k: string }[]).map((r) => r.k);

test('the writes of one turn share one transaction, run in order, and resolve with their results', async () => {
  const db = open();
  const w = new WriteBatcher(db);
  const seen: boolean[] = [];
  const results = await Promise.all([
    w.run(insert(db, 'a')),
    w.run(() => {
      seen.push(db.inTransaction);
      return 'two';
    }),
    w.run(insert(db, 'b')),
  ]);
  assert.deepEqual(results, [1, 'two', 2]);
  assert.deepEqual(seen, [true], 'a write runs inside the transaction');
  assert.deepEqual(keys(db), ['a', 'b']);
  assert.deepEqual(w.stats, { batches: 1, ops: 3, maxBatch: 3 });

  // Another turn, another transaction.
  await w.run(insert(db, 'c'));
  assert.equal(w.stats.batches, 2);
  db.close();
});

test('writes queued across awaits within one turn still share its transaction (a turn, not a microtask)', async () => {
  const db = open();
  const w = new WriteBatcher(db);
  const ps = [w.run(insert(db, 'a'))];
  await Promise.resolve();
  ps.push(w.run(insert(db, 'b')));
  await Promise.resolve();
  ps.push(w.run(insert(db, 'c')));
  await Promise.all(ps);
  assert.deepEqual(keys(db), ['a', 'b', 'c']);
  assert.equal(w.stats.batches, 1);
  db.close();
});

test('a write is queued, not run, until the turn ends; its promise settles only after COMMIT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sundial-batcher-'));
  dirs.push(dir);
  const db = new SqliteDatabase(join(dir, 'db.sqlite'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)');
  const reader = new SqliteDatabase(join(dir, 'db.sqlite'), { readonly: true });
  const w = new WriteBatcher(db);
  let ran = false;
  const p = w.run(() => {
    ran = true;
    insert(db, 'x')();
  });
  assert.equal(ran, false, 'not run synchronously');
  await p.then(() => {
    assert.equal(db.inTransaction, false, 'resolved after the transaction ended');
    // Another connection sees it: it is committed, not merely written.
    assert.deepEqual(reader.prepare('SELECT k FROM t').all(), [{ k: 'x' }]);
  });
  reader.close();
  db.close();
});

test('a failing write rolls back only itself (its savepoint); the rest of the batch commits', async () => {
  const db = open();
  const w = new WriteBatcher(db);
  const settled = await Promise.allSettled([
    w.run(insert(db, 'a')),
    w.run(() => {
      insert(db, 'partial')();
      insert(db, 'a')(); // UNIQUE violation: this write's first insert must go too
    }),
    w.run(insert(db, 'b')),
  ]);
  assert.equal(settled[0].status, 'fulfilled');
  assert.equal(settled[1].status, 'rejected');
  assert.match(String((settled[1] as PromiseRejectedResult).reason), /UNIQUE/);
  assert.equal(settled[2].status, 'fulfilled');
  assert.deepEqual(keys(db), ['a', 'b']);
  assert.equal(w.stats.batches, 1);
  db.close();
});

test('a lone failing write leaves nothing behind', async () => {
  const db = open();
  const w = new WriteBatcher(db);
  await assert.rejects(
    w.run(() => {
      insert(db, 'half')();
      throw new Error('bug in the write');
    }),
    /bug in the write/,
  );
  assert.deepEqual(keys(db), []);
  assert.equal(db.inTransaction, false);
  db.close();
});

test('an error that ends the whole transaction fails every write of the batch, and the next batch works', async () => {
  const db = open();
  const w = new WriteBatcher(db);
  const settled = await Promise.allSettled([
    w.run(insert(db, 'a')),
    w.run(() => {
      // What SQLITE_FULL or an I/O error does: the transaction is gone, not just the savepoint.
      db.exec('ROLLBACK');
      throw new Error('disk full');
    }),
    w.run(insert(db, 'c')),
  ]);
  assert.deepEqual(
    settled.map((s) => s.status),
    ['rejected', 'rejected', 'rejected'],
  );
  for (const s of settled) assert.match(String((s as PromiseRejectedResult).reason), /disk full/);
  assert.deepEqual(keys(db), [], "nothing of the batch is committed, and 'c' did not run in autocommit");
  await w.run(insert(db, 'd'));
  assert.deepEqual(keys(db), ['d']);
  db.close();
});

test('a full batch is committed at once, without waiting for the turn to end', async () => {
  const db = open();
  const w = new WriteBatcher(db, { maxBatch: 3 });
  const ps = [w.run(insert(db, 'a')), w.run(insert(db, 'b'))];
  assert.equal(w.stats.batches, 0);
  ps.push(w.run(insert(db, 'c')));
  assert.equal(w.stats.batches, 1, 'the third write flushed synchronously');
  assert.deepEqual(keys(db), ['a', 'b', 'c']);
  ps.push(w.run(insert(db, 'd')));
  assert.equal(w.stats.batches, 1, 'the fourth waits for the turn');
  await Promise.all(ps);
  assert.deepEqual(w.stats, { batches: 2, ops: 4, maxBatch: 3 });
  db.close();
});

test('a write queued by a write runs in the next transaction of the same flush', async () => {
  const db = open();
  const w = new WriteBatcher(db);
  let inner: Promise<number> | null = null;
  await w.run(() => {
    insert(db, 'outer')();
    inner = w.run(insert(db, 'inner'));
  });
  assert.equal(await inner!, 2);
  assert.deepEqual(keys(db), ['outer', 'inner']);
  assert.equal(w.stats.batches, 2);
  db.close();
});

test('close commits what is queued, then refuses writes', async () => {
  const db = open();
  const w = new WriteBatcher(db);
  const queued = w.run(insert(db, 'last'));
  w.close();
  assert.deepEqual(keys(db), ['last'], 'committed by close, before the turn ended');
  assert.equal(await queued, 1);
  const err = await w.run(insert(db, 'late')).catch((e: unknown) => e);
  assert.ok(err instanceof StoreClosedError);
  assert.equal(err.code, 'ERR_STORE_CLOSED');
  assert.deepEqual(keys(db), ['last']);
  db.close();
});
