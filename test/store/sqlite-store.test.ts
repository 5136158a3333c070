// The SQLite store: the shared conformance suite, plus what only SQLite has — the file lock,
// migrations, durability under SIGKILL, and group commit.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import { SundialError } from '../../src/core/errors.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { SqliteStore, openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DUE_RUNS_OF_NAMESPACE_SQL, DUE_RUNS_SQL, NEXT_PENDING_NAMESPACE_SQL } from '../../src/store/sqlite/statements.js';
import { runStoreConformance } from './conformance.js';
import { runRetentionConformance } from './retention-conformance.js';
import { T0, audit, newRun, newTask } from './store-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sundial-store-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function openMigrated(dir: string): Promise<SqliteStore> {
  const store = await openSqliteStore({ dir });
  await store.migrate();
  return store as SqliteStore;
}

runStoreConformance('sqlite', async () => {
  const dir = await tempDir();
  const store = await openMigrated(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
runRetentionConformance('sqlite', async () => {
  const dir = await tempDir();
  const store = await openMigrated(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** Starts a fixture script in a child process; `lines` yields its stdout line by line. */
function child(script: string, dir: string): { proc: ChildProcess; lines: AsyncIterableIterator<string>; exited: Promise<unknown> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture(script), dir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return { proc, lines, exited };
}

async function nextLine(lines: AsyncIterableIterator<string>): Promise<string> {
  const r = await lines.next();
  assert.equal(r.done, false, 'the child process ended early');
  return r.value as string;
}

describe('SQLite store', () => {
  it('creates the data dir and schema; migrate() again is a no-op and data survives a reopen', async () => {
    const dir = join(await tempDir(), 'nested', 'data');
    const store = await openMigrated(dir);
    const task = newTask();
    await store.createTask(task, null, audit('task.create', task.id));
    await store.migrate();
    await store.close();
    await store.close(); // idempotent

    const again = await openMigrated(dir);
    assert.equal((await again.getTask(task.id))?.name, task.name);
    await again.close();

    const db = new Database(join(dir, 'sundial.db'), { readonly: true });
    const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
    const mode = db.pragma('journal_mode', { simple: true });
    db.close();
    assert.equal(version, String(LATEST_SCHEMA_VERSION));
    assert.equal(mode, 'wal');
  });

  it('refuses a database written by newer code, naming both versions', async () => {
    const dir = await tempDir();
    await (await openMigrated(dir)).close();
    const db = new Database(join(dir, 'sundial.db'));
    db.prepare("UPDATE meta SET value = '999' WHERE key = 'schema_version'").run();
    db.close();

    const store = await openSqliteStore({ dir });
    await assert.rejects(store.migrate(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_SCHEMA_TOO_NEW');
      assert.match(err.message, /version 999/);
      assert.match(err.message, new RegExp(`up to version ${LATEST_SCHEMA_VERSION}\\b`));
      return true;
    });
    await assert.rejects(store.getTask('x'), /not migrated/);
    await store.close();
  });

  it('rejects use before migrate() and writes after close()', async () => {
    const dir = await tempDir();
    const store = await openSqliteStore({ dir });
    await assert.rejects(store.countApiKeys(), /call migrate\(\) first/);
    const task = newTask();
    await assert.rejects(store.createTask(task, null, audit('task.create', task.id)), /call migrate\(\) first/);
    await store.migrate();
    await store.close();
    await assert.rejects(store.createTask(task, null, audit('task.create', task.id)), /closed/);
  });

  it('refuses a second server on the same data dir until the first one dies (even by SIGKILL)', async () => {
    const dir = await tempDir();
    const holder = child('hold-store.ts', dir);
    try {
      assert.equal(await nextLine(holder.lines), 'ready');

      const second = child('try-open.ts', dir);
      const outcome = JSON.parse(await nextLine(second.lines)) as { ok: boolean; code?: string; message?: string };
      await second.exited;
      assert.equal(outcome.ok, false);
      assert.equal(outcome.code, 'ERR_DATA_DIR_LOCKED');
      assert.equal(outcome.message, `another Sundial server is using ${dir} (the SQLite database is locked)`);

      // In this process too (SQLite tracks its own locks per process).
      await assert.rejects(openSqliteStore({ dir }), { code: 'ERR_DATA_DIR_LOCKED' });
    } finally {
      holder.proc.kill('SIGKILL');
      await holder.exited;
    }
    const store = await openMigrated(dir);
    await store.close();
  });

  it('keeps every acknowledged write when the process is killed with SIGKILL', async () => {
    const dir = await tempDir();
    const writer = child('durable-writer.ts', dir);
    const acked: { taskId: string; runId: string }[] = [];
    try {
      assert.equal(await nextLine(writer.lines), 'ready');
      while (acked.length < 500) {
        const [word, taskId, runId] = (await nextLine(writer.lines)).split(' ');
        assert.equal(word, 'ok');
        acked.push({ taskId: taskId!, runId: runId! });
      }
    } finally {
      // Killed mid-stream: more writes are in flight (queued, or committing) right now.
      writer.proc.kill('SIGKILL');
    }
    // Lines already in the pipe were acknowledged before the kill.
    for await (const line of writer.lines) {
      const [word, taskId, runId] = line.split(' ');
      if (word === 'ok') acked.push({ taskId: taskId!, runId: runId! });
    }
    await writer.exited;

    const store = await openMigrated(dir);
    try {
      const missing: string[] = [];
      for (const a of acked) {
        if ((await store.getTask(a.taskId)) === null) missing.push(`task ${a.taskId}`);
        if ((await store.getRun(a.runId)) === null) missing.push(`run ${a.runId}`);
      }
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes were lost`);
      const total = (await store.listTasks({ namespaces: '*', limit: 100_000 })).items.length;
      assert.ok(total >= acked.length);
    } finally {
      await store.close();
    }
  });

  it('group commit: 1,000 concurrent creates share a few transactions; only the colliding names fail', async () => {
    const dir = await tempDir();
    const store = await openMigrated(dir);
    try {
      const before = { ...store.writerStats };
      // Every 20th task reuses the name of the one before it.
      const inputs = Array.from({ length: 1000 }, (_, i) => newTask({ name: `bulk-${i % 20 === 19 ? i - 1 : i}` }));
      const results = await Promise.allSettled(
        inputs.map((t) => store.createTask(t, newRun(t), audit('task.create', t.id))),
      );
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
      assert.deepEqual(
        failed,
        inputs.map((_, i) => i).filter((i) => i % 20 === 19),
      );
      for (const i of failed) {
        const reason = (results[i] as PromiseRejectedResult).reason as SundialError;
        assert.ok(reason instanceof SundialError);
        assert.equal(reason.code, 'task_name_taken');
      }
      const tasks = (await store.listTasks({ namespaces: '*', limit: 2000 })).items;
      assert.equal(tasks.length, 950);
      assert.deepEqual(
        new Set(tasks.map((t) => t.id)),
        new Set(inputs.filter((_, i) => i % 20 !== 19).map((t) => t.id)),
      );
      // The failed creates left neither their run nor their audit row behind.
      assert.equal((await store.listRuns({ namespaces: '*', limit: 2000 })).items.length, 950);
      assert.equal((await store.listAudit({ namespaces: '*', limit: 2000 })).items.length, 950);
      const batches = store.writerStats.batches - before.batches;
      assert.ok(batches <= 5, `1,000 creates took ${batches} transactions`);
    } finally {
      await store.close();
    }
  });

  it('rolls back a failing write inside its batch to its savepoint: no half-written task', async () => {
    const dir = await tempDir();
    const store = await openMigrated(dir);
    try {
      const first = newTask();
      const firstRun = newRun(first);
      const before = store.writerStats.batches;
      const broken = newTask();
      const ok = newTask();
      const results = await Promise.allSettled([
        store.createTask(first, firstRun, audit('task.create', first.id)),
        // Its task row goes in, then its run reuses a taken run id: the whole create must vanish.
        store.createTask(broken, { ...newRun(broken), id: firstRun.id }, audit('task.create', broken.id)),
        store.createTask(ok, newRun(ok), audit('task.create', ok.id)),
      ]);
      assert.equal(store.writerStats.batches - before, 1, 'one transaction for the three');
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE constraint failed: runs\.id/);
      assert.equal(await store.getTask(broken.id), null);
      assert.notEqual(await store.getTask(ok.id), null);
      assert.equal((await store.getRun(firstRun.id))?.taskId, first.id);
      assert.equal((await store.listAudit({ namespaces: '*', limit: 10 })).items.length, 2);
    } finally {
      await store.close();
    }
  });

  it('claims through the runs_due partial index (no table scan, no sort)', async () => {
    const dir = await tempDir();
    await (await openMigrated(dir)).close();
    const db = new Database(join(dir, 'sundial.db'));
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${DUE_RUNS_SQL}`).all({ horizon: T0, limit: 10 }) as { detail: string }[];
    db.close();
    const details = plan.map((p) => p.detail).join('\n');
    assert.match(details, /SEARCH r USING INDEX runs_due/);
    assert.doesNotMatch(details, /TEMP B-TREE/);
  });

  it('the claim’s fair share seeks runs_due_namespace: the next namespace, then its oldest due runs (no scan, no sort)', async () => {
    const dir = await tempDir();
    await (await openMigrated(dir)).close();
    const db = new Database(join(dir, 'sundial.db'));
    const explain = (sql: string, params: unknown): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail).join('\n');
    const next = explain(NEXT_PENDING_NAMESPACE_SQL, ['']);
    const due = explain(DUE_RUNS_OF_NAMESPACE_SQL, { horizon: T0, limit: 10, namespace: 'a' });
    db.close();
    assert.match(next, /SEARCH runs USING COVERING INDEX runs_due_namespace \(namespace>\?\)/);
    assert.match(due, /SEARCH r USING INDEX runs_due_namespace \(namespace=\? AND scheduled_for<\?\)/);
    for (const plan of [next, due]) assert.doesNotMatch(plan, /TEMP B-TREE/);
  });
});
