// The alert store's SQLite statements read indexes, never a scan of runs, alerts or the outbox:
// the evaluator runs them every few seconds on the server's own thread. Checked with EXPLAIN
// QUERY PLAN on the SQL the store really prepares (recorded as it prepares it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { SqliteAlerts } from '../../src/store/sqlite/alerts.js';
import { applyMigrations } from '../../src/store/sqlite/migrations.js';
import { openDatabase } from '../../src/store/sqlite/open-db.js';

const dir = mkdtempSync(join(tmpdir(), 'sundial-alert-plans-'));
const db = openDatabase(dir);
applyMigrations(db);
const prepared: string[] = [];
const plain = db.prepare.bind(db);
db.prepare = ((sql: string) => {
  prepared.push(sql);
  return plain(sql);
}) as typeof db.prepare;
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A step reading a whole table (or alias) without an index; rules and leases are small by nature, subqueries are ours. */
const FULL_SCAN = /^SCAN (?!\(|alert_rules\b|leases\b)\S+$/;

function plan(sql: string): string[] {
  const named = [...sql.matchAll(/@([a-zA-Z]+)/g)].map((m) => m[1]!);
  const stmt = plain(`EXPLAIN QUERY PLAN ${sql}`);
  const rows = (named.length > 0 ? stmt.all(Object.fromEntries(named.map((n) => [n, null]))) : stmt.all(...Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null))) as {
    detail: string;
  }[];
  return rows.map((r) => r.detail);
}

it('reads runs, alerts and the outbox through indexes only', async () => {
  const alerts = new SqliteAlerts(db, async (fn) => fn());
  alerts.ready();
  // The listings build their SQL per filter: prepare each shape once.
  await alerts.listAlerts({ namespaces: ['a', 'b'], status: 'firing', limit: 10 });
  await alerts.listAlerts({ namespaces: '*', ruleId: 'r', limit: 10 });
  await alerts.listRules(['a'], 10);
  const reads = prepared.filter((sql) => /^\s*(SELECT|UPDATE|DELETE)/i.test(sql));
  assert.ok(reads.length >= 15, `${reads.length} statements recorded`);
  for (const sql of reads) {
    for (const line of plan(sql)) assert.doesNotMatch(line, FULL_SCAN, `in ${sql}`);
  }
  // The check itself catches a scan.
  assert.ok(plan("SELECT id FROM runs r WHERE r.error = 'x'").some((line) => FULL_SCAN.test(line)));
});
