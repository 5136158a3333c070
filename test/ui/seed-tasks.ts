// Fills a fresh data dir with many tasks (and a few finished runs each) straight through SQL,
// for the dashboard's scale test: creating 100,000 tasks through the API would take minutes.
// The schema comes from the store's own migrations (the store is opened once first); the
// seeded tasks have no pending runs, so the scheduler leaves them alone.

import { join } from 'node:path';
import { DB_FILE } from '../../src/store/sqlite/open-db.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { newId } from '../../src/core/ids.js';
import { DEFAULT_POLICIES } from '../../src/core/policies.js';

const KINDS = ['http', 'module', 'script'] as const;
const OUTCOMES = ['succeeded', 'succeeded', 'succeeded', 'failed', 'timed_out'] as const;

/** Inserts `count` tasks named `task-000001`…, each with `runsPerTask` finished runs. */
export async function seedTasks(dataDir: string, count: number, runsPerTask = 3): Promise<void> {
  const store = await openSqliteStore({ dir: dataDir });
  await store.migrate();
  await store.close();
  const db = new SqliteDatabase(join(dataDir, DB_FILE));
  const now = Date.now();
  const insertTask = db.prepare(
    'INSERT INTO tasks (id, namespace, name, description, kind, spec, schedule, policies, payload, status, fired_count, ' +
      'next_run_at, last_run_at, last_run_status, version, created_at, updated_at, created_by, updated_by) ' +
      "VALUES (?, 'default', ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, 1, ?, ?, 'seed', 'seed')",
  );
  const insertRun = db.prepare(
    'INSERT INTO runs (id, namespace, task_id, task_name, status, attempt, trigger, scheduled_for, idempotency_key, ' +
      "queued_at, started_at, finished_at, error, created_at, updated_at, created_by, updated_by) VALUES (?, 'default', ?, ?, ?, 1, 'schedule', ?, ?, ?, ?, ?, ?, ?, ?, 'seed', 'seed')",
  );
  const policies = JSON.stringify(DEFAULT_POLICIES);
  const counts = new Map<string, number>();
  db.transaction(() => {
    for (let i = 1; i <= count; i++) {
      const id = newId(now - (count - i));
      const name = `task-${String(i).padStart(6, '0')}`;
      const kind = KINDS[i % KINDS.length]!;
      const spec =
        kind === 'http'
          ? { url: `https://example.com/hooks/${i}`, method: 'POST' }
          : kind === 'module'
            ? { file: 'job.mjs' }
            : { code: 'export default async () => 1' };
      const schedule =
        i % 4 === 0
          ? null
          : i % 4 === 1
            ? { type: 'cron', expression: `${i % 60} * * * *`, timezone: 'Europe/Berlin' }
            : i % 4 === 2
              ? { type: 'interval', every: `${(i % 30) + 1}m`, startAt: new Date(now - 3_600_000).toISOString() }
              : { type: 'once', at: new Date(now + i * 1000).toISOString() };
      const last = OUTCOMES[i % OUTCOMES.length]!;
      insertTask.run(
        id,
        name,
        i % 3 === 0 ? `Nightly report number ${i}` : null,
        kind,
        JSON.stringify(spec),
        schedule === null ? null : JSON.stringify(schedule),
        policies,
        i % 10 === 0 ? 'paused' : 'active',
        runsPerTask,
        schedule === null ? null : now + (i % 3600) * 1000,
        now - (i % 600) * 1000,
        last,
        now - (count - i),
        now - (count - i),
      );
      for (let r = 0; r < runsPerTask; r++) {
        const at = now - (runsPerTask - r) * 60_000 - (i % 600) * 1000;
        const status = OUTCOMES[(i + r) % OUTCOMES.length]!;
        const error = status === 'succeeded' ? null : JSON.stringify({ code: status === 'failed' ? 'http_status' : 'timeout', message: 'seeded' });
        insertRun.run(newId(at), id, name, status, at, `${id}:${at}`, at, at + 5, at + 40, error, at, at + 40);
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
    }
    const bump = db.prepare("INSERT INTO run_counts (namespace, status, n) VALUES ('default', ?, ?) ON CONFLICT (namespace, status) DO UPDATE SET n = n + excluded.n");
    for (const [status, n] of counts) bump.run(status, n);
  })();
  db.close();
}
