// The SQLite listings and stats read the indexes they were built around, checked on the SQL the
// store really runs (recorded as it prepares it) with EXPLAIN QUERY PLAN: a planner that drifts to
// a scan of all history fails here rather than in production.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { applyMigrations } from '../../src/store/sqlite/migrations.js';
import { openDatabase } from '../../src/store/sqlite/open-db.js';
import { Queries } from '../../src/store/sqlite/queries.js';
import { prepareStatements } from '../../src/store/sqlite/statements.js';
import type { TaskFilter } from '../../src/store/store.js';
import { T0 } from './store-fixtures.js';

interface Call {
  sql: string;
  params: Record<string, unknown>;
}

let dir: string;
let db: Database.Database;
let queries: Queries;
let plain: Database.Database['prepare'];
const calls: Call[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sundial-plans-'));
  db = openDatabase(dir);
  applyMigrations(db);
  plain = db.prepare.bind(db);
  // Records each statement the queries prepare, and the parameters of each run of it.
  db.prepare = ((sql: string) => {
    const stmt = plain(sql);
    const all = stmt.all.bind(stmt);
    stmt.all = ((params: Record<string, unknown>) => {
      calls.push({ sql, params });
      return all(params);
    }) as typeof stmt.all;
    return stmt;
  }) as Database.Database['prepare'];
  queries = new Queries(db);
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The query plan of the last statement `read` ran, one line per step. */
function planOf(read: () => unknown): string {
  calls.length = 0;
  read();
  const last = calls[calls.length - 1];
  assert.ok(last, 'the read ran no statement');
  const rows = plain(`EXPLAIN QUERY PLAN ${last.sql}`).all(last.params) as { detail: string }[];
  return rows.map((r) => r.detail).join('\n');
}

describe('SQLite query plans', () => {
  it('pending runs oldest first read runs_due, whatever the namespace filter; a task’s read runs_task_time', () => {
    for (const namespaces of ['*', ['a'], ['a', 'b']] as const) {
      const plan = planOf(() => queries.listRuns({ namespaces, status: ['scheduled'], from: T0, order: 'asc', limit: 50 }));
      assert.match(plan, /USING (COVERING )?INDEX runs_due/, plan);
      assert.doesNotMatch(plan, /runs_time/, plan);
    }
    const cursor = queries.listRuns({ namespaces: '*', status: ['scheduled'], order: 'asc', limit: 1 }).nextCursor;
    assert.equal(cursor, null, 'an empty store has one page');
    const ofTask = planOf(() => queries.listRuns({ namespaces: ['a'], taskId: 'x', status: ['scheduled'], from: T0, order: 'asc', limit: 50 }));
    assert.match(ofTask, /INDEX runs_task_time/, ofTask);
    const all = planOf(() => queries.listRuns({ namespaces: '*', order: 'asc', limit: 50 }));
    assert.match(all, /INDEX runs_time/, all);
    assert.doesNotMatch(all, /TEMP B-TREE/, all);
  });

  it('recent runs are one runs_task_time seek per task, without a sort', () => {
    const plan = planOf(() => queries.listRecentRuns(['x'], 5));
    assert.match(plan, /SEARCH runs USING INDEX runs_task_time \(task_id=\?\)/, plan);
    assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
  });

  it('per-minute counts are a range of runs_time', () => {
    for (const namespaces of ['*', ['a'], ['a', 'b']] as const) {
      const plan = planOf(() => queries.countRunsPerMinute(namespaces, T0, T0, T0 + 60_000));
      assert.match(plan, /SEARCH runs USING INDEX runs_time \(scheduled_for>\? AND scheduled_for<\?\)/, plan);
    }
  });

  it('an unfiltered name sort walks an index; a filtered one scans and sorts the page', () => {
    const cursor = Buffer.from(JSON.stringify(['ts', 'name', 'm', 'x'])).toString('base64url');
    const plan = (f: Partial<TaskFilter>) => planOf(() => queries.listTasks({ namespaces: '*', sort: 'name', limit: 50, ...f }));
    for (const f of [{}, { cursor }, { sort: '-name' as const }]) {
      const p = plan(f);
      assert.match(p, /INDEX tasks_name/, p);
      assert.doesNotMatch(p, /TEMP B-TREE/, p);
    }
    const oneNamespace = plan({ namespaces: ['a'] });
    assert.match(oneNamespace, /INDEX tasks_namespace_name/, oneNamespace);
    assert.doesNotMatch(oneNamespace, /TEMP B-TREE/, oneNamespace);
    for (const f of [{ status: 'paused' as const }, { q: 'x' }, { schedule: 'cron' as const }, { namespaces: ['a', 'b'] }, { status: 'paused' as const, cursor }]) {
      const p = plan(f);
      assert.doesNotMatch(p, /tasks_name\b/, p);
      assert.match(p, /TEMP B-TREE FOR ORDER BY/, p);
    }
  });

  it('a heartbeat probes its list of runs once built, not by a scan of the list per in-flight run', () => {
    const prepared: string[] = [];
    const record = ((sql: string) => {
      prepared.push(sql);
      return plain(sql);
    }) as Database.Database['prepare'];
    prepareStatements({ ...db, prepare: record } as unknown as Parameters<typeof prepareStatements>[0]);
    const sql = prepared.find((s) => s.startsWith('UPDATE runs SET lease_until = @leaseUntil'));
    assert.ok(sql, 'the lease renewal statement');
    const rows = plain(`EXPLAIN QUERY PLAN ${sql}`).all({ leaseUntil: T0, node: 'n', runs: '[]' }) as { id: number; parent: number; detail: string }[];
    const text = rows.map((r) => `${r.id}<${r.parent} ${r.detail}`).join('\n');
    // A json_each scan joined at the top level runs once per runs row: 24 s for 20,000 held runs.
    const lists = new Set(rows.filter((r) => r.detail.startsWith('LIST SUBQUERY')).map((r) => r.id));
    const scans = rows.filter((r) => r.detail.includes('json_each'));
    assert.ok(scans.length > 0, text);
    for (const s of scans) assert.ok(lists.has(s.parent), `json_each scanned outside a list subquery:\n${text}`);
    assert.doesNotMatch(text, /SCAN runs/, text);
  });

  it('the time sorts have no index (the scheduler writes those columns on every run)', () => {
    const indexed = plain("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND (sql LIKE '%next_run_at%' OR sql LIKE '%last_run_at%')")
      .pluck()
      .all();
    assert.deepEqual(indexed, []);
    const plan = planOf(() => queries.listTasks({ namespaces: '*', sort: '-nextRunAt', limit: 50 }));
    assert.match(plan, /TEMP B-TREE FOR ORDER BY/, plan);
  });
});
