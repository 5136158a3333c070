// The PostgreSQL store: the shared conformance suite on a real server, plus what only a shared
// database has — concurrent migrations, several nodes claiming, taking over and starting the same
// runs at once, signals between nodes, and the retry policy.
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { SundialError } from '../../src/core/errors.js';
import type { Task } from '../../src/core/types.js';
import { LATEST_PG_SCHEMA_VERSION } from '../../src/store/postgres/migrations.js';
import { PG_MIGRATIONS } from '../../src/store/postgres/schema.js';
import { PostgresStore, openPostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/pg-store.js';
import { TRANSIENT_SQLSTATES, transientKind, withRetry } from '../../src/store/postgres/retry.js';
import type { ClaimedRun, RunStart, Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { runStoreConformance } from './conformance.js';
import { runRetentionConformance } from './retention-conformance.js';
import { T0, audit, intervalPlanner, newRun, newTask, noPlan } from './store-fixtures.js';

const TABLES = 'tasks, runs, run_counts, run_logs, run_samples, api_keys, audit, nodes';
const LEASE = 30_000;

const db = await createTestDatabase('sundial_pgstore');
const admin = new pg.Pool({ connectionString: db.url, max: 2 });
after(async () => {
  await admin.end();
  await db.drop();
});

const opened: Store[] = [];
/** A migrated store on the test database (closed after the file). */
async function openStore(over: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const store = await openPostgresStore({ url: db.url, poolSize: 4, ...over });
  await store.migrate();
  opened.push(store);
  return store;
}
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

let schema: Promise<void> | null = null;
/** Empties every table (between tests; the schema stays, made on first use). */
async function truncate(): Promise<void> {
  schema ??= openPostgresStore({ url: db.url, poolSize: 1 }).then(async (s) => {
    await s.migrate();
    await s.close();
  });
  await schema;
  await admin.query(`TRUNCATE ${TABLES} RESTART IDENTITY`);
}

runStoreConformance('postgres', async () => {
  const store = await openPostgresStore({ url: db.url, poolSize: 4 });
  await store.migrate();
  await truncate();
  return { store, cleanup: () => store.close() };
});
runRetentionConformance('postgres', async () => {
  const store = await openPostgresStore({ url: db.url, poolSize: 4 });
  await store.migrate();
  await truncate();
  return { store, cleanup: () => store.close() };
});

/** Creates a task through the store. */
async function createTask(store: Store, over: Parameters<typeof newTask>[0] = {}): Promise<Task> {
  const input = newTask(over);
  return store.createTask(input, null, audit('task.create', input.id));
}

/** Inserts `n` pending manual runs of `task` due at T0 (directly: thousands of API calls would be slow). */
async function insertDueRuns(task: Task, n: number, trigger = 'manual'): Promise<void> {
  await admin.query(
    'INSERT INTO runs (id, namespace, task_id, task_name, status, attempt, trigger, occurrence_at, scheduled_for, priority, ' +
      "idempotency_key, created_at, updated_at, created_by, updated_by) SELECT gen_random_uuid()::text, $1, $2, $3, 'scheduled', 1, $4, " +
      "CASE WHEN $4 = 'schedule' THEN $5::bigint - i END, $5::bigint - i, 0, $2 || ':' || ($5::bigint - i), $5, $5, 'test', 'test' " +
      'FROM generate_series(1, $6::int) AS i',
    [task.namespace, task.id, task.name, trigger, T0, n],
  );
}

/** Claims everything due with several concurrent loops on `store`; returns what each claim got. */
async function drain(store: Store, node: string, loops: number, limit: number): Promise<ClaimedRun[]> {
  const got: ClaimedRun[] = [];
  await Promise.all(
    Array.from({ length: loops }, async () => {
      for (;;) {
        const batch = await store.claimDueRuns({ node, now: T0, horizon: T0, limit, leaseUntil: T0 + LEASE, plan: noPlan });
        if (batch.length === 0) return;
        got.push(...batch);
      }
    }),
  );
  return got;
}

describe('PostgreSQL store', () => {
  describe('migrations', () => {
    let fresh: TestDatabase;
    before(async () => {
      fresh = await createTestDatabase('sundial_pgmigrate');
    });
    after(async () => {
      await fresh.drop();
    });

    it('two nodes migrating one empty database at once: both succeed, each step applied once', async () => {
      const a = await openPostgresStore({ url: fresh.url, poolSize: 2 });
      const b = await openPostgresStore({ url: fresh.url, poolSize: 2 });
      try {
        await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
        const c = new pg.Client({ connectionString: fresh.url });
        await c.connect();
        try {
          const { rows } = await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
          assert.deepEqual(
            rows.map((r) => r.version),
            // Every version this code knows, once (numbers are assigned per change, so they may have gaps).
            PG_MIGRATIONS.map((m) => m.version),
          );
        } finally {
          await c.end();
        }
        // Both work on the one schema.
        const t = await createTask(a);
        assert.equal((await b.getTask(t.id))?.name, t.name);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('refuses a database written by newer code, naming both versions, and stays unusable', async () => {
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      await c.query("INSERT INTO schema_migrations (version, description, applied_at) VALUES (999, 'from the future', 0)");
      await c.end();
      const store = await openPostgresStore({ url: fresh.url, poolSize: 2 });
      try {
        await assert.rejects(store.migrate(), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_SCHEMA_TOO_NEW');
          assert.match(err.message, /version 999/);
          assert.match(err.message, new RegExp(`up to version ${LATEST_PG_SCHEMA_VERSION}\\b`));
          assert.match(err.message, /upgrade Sundial/);
          return true;
        });
        await assert.rejects(store.getTask('x'), /not migrated/);
      } finally {
        await store.close();
      }
      await assert.rejects(store.getTask('x'), /closed/);
    });
  });

  describe('several nodes at once', () => {
    it('two nodes claiming 2,000 due runs concurrently: every run claimed exactly once', async () => {
      await truncate();
      const a = await openStore();
      const b = await openStore();
      const task = await createTask(a);
      await insertDueRuns(task, 2000);
      const [byA, byB] = await Promise.all([drain(a, 'node-a', 3, 60), drain(b, 'node-b', 3, 60)]);
      const ids = [...byA, ...byB].map((c) => c.run.id);
      assert.equal(ids.length, 2000);
      assert.equal(new Set(ids).size, 2000, 'no run claimed twice');
      assert.ok(byA.length > 0 && byB.length > 0, `both nodes claimed (${byA.length} / ${byB.length})`);
      const { rows } = await admin.query<{ node: string; status: string; lease_epoch: number; n: number }>(
        'SELECT node, status, lease_epoch, count(*)::int AS n FROM runs GROUP BY 1, 2, 3 ORDER BY 1',
      );
      assert.deepEqual(rows, [
        { node: 'node-a', status: 'queued', lease_epoch: 1, n: byA.length },
        { node: 'node-b', status: 'queued', lease_epoch: 1, n: byB.length },
      ]);
      for (const c of byA) assert.equal(c.run.node, 'node-a');
    });

    it('schedule occurrences planned by two nodes at once: each fires once, counters add up', async () => {
      await truncate();
      const a = await openStore();
      const b = await openStore();
      const tasks: Task[] = [];
      for (let i = 0; i < 20; i++) tasks.push(await createTask(a));
      // Ten missed occurrences per task, one minute apart: catch-up that both nodes share.
      for (const t of tasks) await insertDueRuns(t, 10, 'schedule');
      const plan = intervalPlanner(1);
      const claimAll = async (store: Store, node: string) => {
        const got: ClaimedRun[] = [];
        for (;;) {
          const batch = await store.claimDueRuns({ node, now: T0, horizon: T0, limit: 7, leaseUntil: T0 + LEASE, plan });
          if (batch.length === 0) return got;
          got.push(...batch);
        }
      };
      const claimed = (await Promise.all([claimAll(a, 'node-a'), claimAll(b, 'node-b'), claimAll(a, 'node-a')])).flat();
      // Each claim inserts the next occurrence (1 ms later), itself due and claimed in turn, until
      // the occurrence at T0 + 1 lies past the horizon.
      const ids = claimed.map((c) => c.run.id);
      assert.equal(new Set(ids).size, ids.length, 'no occurrence claimed twice');
      for (const t of tasks) {
        const fired = claimed.filter((c) => c.run.taskId === t.id).length;
        const stored = await a.getTask(t.id);
        assert.equal(stored?.firedCount, fired, 'every plan saw the counters of the one before');
      }
      const dup = await admin.query('SELECT task_id, idempotency_key FROM runs GROUP BY 1, 2 HAVING count(*) > 1');
      assert.equal(dup.rowCount, 0);
    });

    it('takes over orphans after the lease: epoch bumped, the dead holder fenced out', async () => {
      await truncate();
      const a = await openStore();
      const b = await openStore();
      const task = await createTask(a);
      await insertDueRuns(task, 5);
      const held = await a.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 10, leaseUntil: T0 + LEASE, plan: noPlan });
      assert.equal(held.length, 5);
      const started = held.slice(0, 3);
      assert.deepEqual(
        (await a.markRunning(started.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 })))).stale,
        [],
      );
      // Node A dies. Before its lease ends nothing moves; after it, B takes all five.
      assert.deepEqual(await b.claimOrphanedRuns({ node: 'node-b', now: T0 + LEASE - 1, leaseUntil: T0 + 3 * LEASE, limit: 10 }), []);
      const [first, second] = await Promise.all([
        b.claimOrphanedRuns({ node: 'node-b', now: T0 + LEASE + 1, leaseUntil: T0 + 3 * LEASE, limit: 10 }),
        b.claimOrphanedRuns({ node: 'node-b', now: T0 + LEASE + 1, leaseUntil: T0 + 3 * LEASE, limit: 10 }),
      ]);
      const orphans = [...first, ...second];
      assert.deepEqual(orphans.map((o) => o.run.id).sort(), held.map((c) => c.run.id).sort(), 'each taken once');
      for (const o of orphans) {
        const before = held.find((c) => c.run.id === o.run.id)!;
        assert.equal(o.run.node, 'node-b');
        assert.equal(o.run.leaseEpoch, before.run.leaseEpoch + 1);
        assert.equal(o.run.status, started.includes(before) ? 'running' : 'queued');
      }
      // A comes back (a long pause, not a death): every write of its old claims is refused.
      const late = await a.completeRuns(held.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, status: 'succeeded', finishedAt: T0 + 1 })));
      assert.deepEqual(late.stale.sort(), held.map((c) => c.run.id).sort());
      assert.deepEqual(
        (await a.markRunning(held.slice(3).map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 })))).stale.length,
        2,
      );
      const done = await b.completeRuns(
        orphans.map((o) => ({ runId: o.run.id, leaseEpoch: o.run.leaseEpoch, status: 'failed', reason: 'lost', finishedAt: T0 + LEASE + 2 })),
      );
      assert.deepEqual(done.stale, []);
      assert.equal((await a.getTask(task.id))?.lastRunStatus, 'failed');
    });

    it('guarded starts from two nodes: one run of a task at a time, and a concurrency key capped across nodes', async () => {
      await truncate();
      const a = await openStore();
      const b = await openStore();
      // Overlap: ten queued runs of one task, half on each node, all started at once.
      const solo = await createTask(a);
      await insertDueRuns(solo, 10);
      const onA = await a.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 5, leaseUntil: T0 + LEASE, plan: noPlan });
      const onB = await b.claimDueRuns({ node: 'node-b', now: T0, horizon: T0, limit: 5, leaseUntil: T0 + LEASE, plan: noPlan });
      const starts = (cs: ClaimedRun[]): RunStart[] =>
        cs.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0, guard: { overlapTaskId: solo.id } }));
      // One call per run and node, interleaved: the most chances for two to slip through.
      const results = await Promise.all([...starts(onA).map((s) => a.markRunning([s])), ...starts(onB).map((s) => b.markRunning([s]))]);
      assert.equal(results.flatMap((r) => r.stale).length, 0);
      const busy = results.flatMap((r) => r.busy);
      assert.equal(busy.length, 9);
      assert.ok(busy.every((x) => x.reason === 'overlap'));
      const running = await admin.query("SELECT id FROM runs WHERE task_id = $1 AND status = 'running'", [solo.id]);
      assert.equal(running.rowCount, 1);
      // Busy runs stay queued, held by their node, and start once the running one ended.
      const winner = [...onA, ...onB].find((c) => c.run.id === running.rows[0].id)!;
      const winnerStore = onA.includes(winner) ? a : b;
      await winnerStore.completeRuns([{ runId: winner.run.id, leaseEpoch: winner.run.leaseEpoch, status: 'succeeded', finishedAt: T0 + 1 }]);
      const again = [...onA, ...onB].filter((c) => c !== winner);
      const second = await Promise.all([
        a.markRunning(starts(again.filter((c) => onA.includes(c)))),
        b.markRunning(starts(again.filter((c) => onB.includes(c)))),
      ]);
      assert.equal(second.flatMap((r) => r.busy).length, 8);

      // Concurrency: runs of two tasks share key "k" with a cap of 3; twelve try at once.
      const t1 = await createTask(a);
      const t2 = await createTask(a);
      await insertDueRuns(t1, 6);
      await insertDueRuns(t2, 6);
      const cA = await a.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 6, leaseUntil: T0 + LEASE, plan: noPlan });
      const cB = await b.claimDueRuns({ node: 'node-b', now: T0, horizon: T0, limit: 100, leaseUntil: T0 + LEASE, plan: noPlan });
      const keyed = (cs: ClaimedRun[]): RunStart[] =>
        cs.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0, guard: { concurrency: { key: 'k', cap: 3 } } }));
      const out = await Promise.all([...keyed(cA).map((s) => a.markRunning([s])), b.markRunning(keyed(cB))]);
      const refused = out.flatMap((r) => r.busy);
      assert.equal(refused.length, 12 - 3);
      assert.ok(refused.every((x) => x.reason === 'concurrency'));
      const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE concurrency_key = 'k' AND status = 'running'");
      assert.equal(rows[0]!.n, 3);
    });

    it('a guarded start is stamped once admitted: a start that waited for its key is recorded after the end that freed it', async () => {
      await truncate();
      const a = await openStore();
      const task = await createTask(a);
      await insertDueRuns(task, 2);
      const [first, second] = await a.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 2, leaseUntil: T0 + LEASE, plan: noPlan });
      const start = (c: ClaimedRun, startedAt: number): RunStart => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt, guard: { concurrency: { key: 'w', cap: 1 } } });
      const startedAt = async (id: string): Promise<number> => Number((await admin.query('SELECT started_at FROM runs WHERE id = $1', [id])).rows[0].started_at);

      const one = await a.markRunning([start(first!, T0)], () => T0 + 5);
      assert.deepEqual(one.restamped, [{ runId: first!.run.id, startedAt: T0 + 5 }]);
      assert.equal(await startedAt(first!.run.id), T0 + 5);
      // Asked for at T0 + 1, refused while the first runs: nothing written, nothing restamped.
      const refused = await a.markRunning([start(second!, T0 + 1)], () => T0 + 7);
      assert.deepEqual(refused.busy, [{ runId: second!.run.id, reason: 'concurrency' }]);
      assert.deepEqual(refused.restamped, []);
      await a.completeRuns([{ runId: first!.run.id, leaseEpoch: first!.run.leaseEpoch, status: 'succeeded', finishedAt: T0 + 10 }]);
      // The same start (the dispatcher keeps the time it first asked for) is admitted at T0 + 12.
      const admitted = await a.markRunning([start(second!, T0 + 1)], () => T0 + 12);
      assert.deepEqual(admitted, { stale: [], busy: [], restamped: [{ runId: second!.run.id, startedAt: T0 + 12 }] });
      assert.equal(await startedAt(second!.run.id), T0 + 12);
      // Written again after a lost answer: started, at the time written the first time.
      const repeated = await a.markRunning([start(second!, T0 + 1)], () => T0 + 20);
      assert.deepEqual(repeated, { stale: [], busy: [], restamped: [{ runId: second!.run.id, startedAt: T0 + 12 }] });
      assert.equal(await startedAt(second!.run.id), T0 + 12);
      // A clock behind the asked time never moves a start earlier.
      await insertDueRuns(await createTask(a), 1);
      const [third] = await a.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 1, leaseUntil: T0 + LEASE, plan: noPlan });
      await a.completeRuns([{ runId: second!.run.id, leaseEpoch: second!.run.leaseEpoch, status: 'succeeded', finishedAt: T0 + 30 }]);
      assert.deepEqual(await a.markRunning([start(third!, T0 + 40)], () => T0 + 35), { stale: [], busy: [], restamped: [] });
      assert.equal(await startedAt(third!.run.id), T0 + 40);
    });

    it('a batch with more concurrency keys than one transaction takes still admits each key once', async () => {
      await truncate();
      const a = await openStore();
      const task = await createTask(a);
      await insertDueRuns(task, 200);
      const claimed = await a.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 200, leaseUntil: T0 + LEASE, plan: noPlan });
      // 100 keys, two runs each, cap 1: exactly one run per key starts.
      const starts = claimed.map((c, i) => ({
        runId: c.run.id,
        leaseEpoch: c.run.leaseEpoch,
        startedAt: T0,
        guard: { concurrency: { key: `key-${i % 100}`, cap: 1 } },
      }));
      const res = await a.markRunning(starts);
      assert.equal(res.stale.length, 0);
      assert.equal(res.busy.length, 100);
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(DISTINCT concurrency_key)::int AS n FROM runs WHERE status = 'running'",
      );
      assert.equal(rows[0]!.n, 100);
    });
    it('survives churn: three nodes claiming, starting with guards, retrying, renewing leases, while tasks are edited', async () => {
      await truncate();
      const nodes = [await openStore(), await openStore(), await openStore()];
      const T = T0 + 10_000_000;
      let now = T;
      const tasks: Task[] = [];
      for (let i = 0; i < 12; i++) {
        const input = newTask({ schedule: { type: 'interval', every: '1s' } });
        const first = newRun(input, { trigger: 'schedule', scheduledFor: T - 20_000 });
        const task = await nodes[0]!.createTask({ ...input, nextRunAt: first.scheduledFor }, first, audit('task.create', input.id));
        tasks.push(task);
        // A catch-up chain: several pending occurrences of one task, claimed by different nodes.
        for (let k = 1; k < 4; k++) await nodes[0]!.createRun(newRun(task, { trigger: 'schedule', scheduledFor: T - 20_000 + k * 1000 }), null);
      }
      const plan = intervalPlanner(1000);
      const stop = Date.now() + 3000;
      const seen = new Set<string>();
      const node = async (i: number) => {
        const s = nodes[i]!;
        while (Date.now() < stop) {
          const batch = await s.claimDueRuns({ node: `n${i}`, now, horizon: now, limit: 10, leaseUntil: now + LEASE, plan });
          for (const c of batch) {
            assert.ok(!seen.has(c.run.id), 'claimed twice');
            seen.add(c.run.id);
          }
          const queued = batch.filter((c) => c.run.status === 'queued');
          const res = await s.markRunning(
            queued.map((c, k) => ({
              runId: c.run.id,
              leaseEpoch: c.run.leaseEpoch,
              startedAt: now,
              guard: k % 2 === 0 ? { overlapTaskId: c.task.id } : { concurrency: { key: `k${k % 3}`, cap: 2 } },
            })),
          );
          const busy = new Set(res.busy.map((b) => b.runId));
          await s.extendLeases(`n${i}`, queued.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch })), now + LEASE);
          const ends = queued.map((c, k) =>
            busy.has(c.run.id)
              ? { runId: c.run.id, leaseEpoch: c.run.leaseEpoch, status: 'skipped' as const, reason: 'overlap', finishedAt: now }
              : {
                  runId: c.run.id,
                  leaseEpoch: c.run.leaseEpoch,
                  status: k % 3 === 0 ? ('failed' as const) : ('succeeded' as const),
                  finishedAt: now,
                  logs: [{ at: now, level: 'info' as const, message: 'done' }],
                  retry:
                    k % 3 === 0 && c.run.attempt < 3
                      ? newRun(c.task, { trigger: 'retry', attempt: c.run.attempt + 1, retryOf: c.run.id, idempotencyKey: c.run.idempotencyKey, scheduledFor: now + 50 })
                      : null,
                },
          );
          assert.deepEqual((await s.completeRuns(ends)).stale, res.stale);
        }
      };
      const editor = async () => {
        for (let k = 0; Date.now() < stop; k++) {
          const cur = (await nodes[2]!.getTask(tasks[k % tasks.length]!.id))!;
          const next = newRun(cur, { trigger: 'schedule', scheduledFor: now + 1000 });
          await nodes[2]!.updateTask(
            { ...cur, name: `${cur.name.replace(/~\d+$/, '')}~${k}` },
            { replacePending: { reason: 'rescheduled', nextRun: next, now }, audit: audit('task.update', cur.id) },
          );
        }
      };
      const clock = setInterval(() => {
        now += 50;
      }, 5);
      try {
        await Promise.all([node(0), node(1), node(2), node(0), editor()]);
      } finally {
        clearInterval(clock);
      }
      assert.ok(seen.size > 50, `only ${seen.size} claims in 3 s`);
      const dup = await admin.query('SELECT 1 FROM runs GROUP BY task_id, idempotency_key, attempt HAVING count(*) > 1');
      assert.equal(dup.rowCount, 0, 'an occurrence has two rows');
      const pending = await admin.query<{ task_id: string; n: number }>(
        "SELECT task_id, count(*)::int AS n FROM runs WHERE status = 'scheduled' AND trigger = 'schedule' GROUP BY 1 HAVING count(*) > 1",
      );
      assert.deepEqual(pending.rows.filter((r) => r.n > 4), [], 'edits leave one pending occurrence (plus the catch-up chain)');
      const counted = await admin.query<{ status: string; n: number }>('SELECT status, sum(n)::int AS n FROM run_counts GROUP BY 1 ORDER BY 1');
      const actual = await admin.query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM runs WHERE status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped') GROUP BY 1 ORDER BY 1",
      );
      assert.deepEqual(counted.rows, actual.rows, 'the sharded counts match the runs');
    });

    it('a batch naming one run twice behaves as two writes in order', async () => {
      await truncate();
      const a = await openStore();
      const task = await createTask(a);
      await insertDueRuns(task, 1);
      const [c] = await a.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 1, leaseUntil: T0 + LEASE, plan: noPlan });
      const id = c!.run.id;
      const epoch = c!.run.leaseEpoch;
      const started = await a.markRunning([
        { runId: id, leaseEpoch: epoch + 5, startedAt: T0 },
        { runId: id, leaseEpoch: epoch, startedAt: T0 + 1 },
        { runId: id, leaseEpoch: epoch, startedAt: T0 + 2 },
      ]);
      assert.deepEqual(started.stale, [id, id], 'the wrong epoch, then the repeat of a started run');
      assert.equal((await a.getRun(id))?.startedAt, T0 + 1);
      const done = await a.completeRuns([
        { runId: id, leaseEpoch: epoch + 5, status: 'failed', finishedAt: T0 + 3 },
        { runId: id, leaseEpoch: epoch, status: 'succeeded', finishedAt: T0 + 4 },
        { runId: id, leaseEpoch: epoch, status: 'failed', finishedAt: T0 + 5 },
      ]);
      assert.deepEqual(done.stale, [id, id]);
      const row = await a.getRun(id);
      assert.equal(row?.status, 'succeeded');
      assert.equal(row?.finishedAt, T0 + 4);
    });
  });

  describe('signals', () => {
    it('delivers between two stores, never back to the sender, and comes back after the connection drops', async () => {
      const a = await openStore({ nodeId: 'node-a' });
      const b = await openStore({ nodeId: 'node-b' });
      const gotA: string[] = [];
      const gotB: string[] = [];
      a.signals.subscribe((topic, payload) => gotA.push(`${topic}:${payload}`));
      b.signals.subscribe((topic, payload) => gotB.push(`${topic}:${payload}`));
      await Promise.all([a.signals.whenListening(), b.signals.whenListening()]);

      await a.signals.publish('wake', 'from-a');
      await b.signals.publish('runs', '{"n":1}');
      await until(() => gotB.length === 1 && gotA.length === 1);
      assert.deepEqual(gotB, ['wake:from-a']);
      assert.deepEqual(gotA, ['runs:{"n":1}']);

      await assert.rejects(a.signals.publish('big', 'x'.repeat(8000)), RangeError);

      // The database ends B's listening connection: B reconnects and listens again.
      const pid = b.signals.listenerPid;
      assert.ok(pid !== null);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await until(() => b.signals.listenerPid !== null && b.signals.listenerPid !== pid);
      await b.signals.whenListening();
      await a.signals.publish('wake', 'again');
      await until(() => gotB.length === 2);
      assert.deepEqual(gotB, ['wake:from-a', 'wake:again']);
      assert.equal(gotA.length, 1);
    });
  });

  describe('failures', () => {
    it('classifies transient failures by the SQLSTATE table and socket errors; the rest surface', () => {
      const kinds = Object.fromEntries(Object.keys(TRANSIENT_SQLSTATES).map((code) => [code, transientKind({ code })]));
      assert.deepEqual(kinds, {
        '40001': 'conflict',
        '40P01': 'conflict',
        '55P03': 'conflict',
        '57P01': 'connection',
        '57P02': 'connection',
        '57P03': 'connection',
        '08000': 'connection',
        '08003': 'connection',
        '08006': 'connection',
        '08001': 'connection',
        '08004': 'connection',
        '53300': 'connection',
        '25P03': 'connection',
      });
      for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) assert.equal(transientKind(Object.assign(new Error(code), { code })), 'connection');
      assert.equal(transientKind(new Error('Connection terminated unexpectedly')), 'connection');
      assert.equal(transientKind(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })])), 'connection');
      for (const code of ['23505', '42P01', '22P02', '57014', 'ENOENT']) assert.equal(transientKind({ code }), null, code);
      assert.equal(transientKind(new SundialError('database_unavailable')), null);
      assert.equal(transientKind(new Error('boom')), null);
    });

    it('retries whole attempts with growing jittered waits inside the budget, then gives up the right way', async () => {
      // A fake clock that only sleeping moves.
      let clock = 0;
      const waits: number[] = [];
      const now = () => clock;
      const sleep = async (ms: number) => {
        waits.push(ms);
        clock += ms;
      };
      let calls = 0;
      const ok = await withRetry(
        async () => {
          if (++calls < 4) throw Object.assign(new Error('deadlock'), { code: '40P01' });
          return 'done';
        },
        { sleep, now, random: () => 0.5, baseDelayMs: 10, maxDelayMs: 1000 },
      );
      assert.equal(ok, 'done');
      assert.deepEqual(waits, [8, 15, 30]);

      // A connection that stays down: bounded by the budget, then database_unavailable.
      waits.length = 0;
      await assert.rejects(
        withRetry(() => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), { sleep, now, budgetMs: 300, random: () => 1 }),
        (err: unknown) => err instanceof SundialError && err.code === 'database_unavailable' && err.status === 503,
      );
      assert.equal(
        waits.reduce((x, y) => x + y, 0),
        300,
      );
      // A conflict that stays: the database's own error after the budget.
      await assert.rejects(
        withRetry(() => Promise.reject(Object.assign(new Error('serialization'), { code: '40001' })), { sleep, now, budgetMs: 50 }),
        { code: '40001' },
      );
      // Anything else: at once, unchanged.
      calls = 0;
      const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
      await assert.rejects(
        withRetry(() => {
          calls++;
          return Promise.reject(unique);
        }),
        (err) => err === unique,
      );
      assert.equal(calls, 1);
    });

    it('answers database_unavailable when nothing listens, within the retry budget', async () => {
      const store = await openPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/nothing', retry: { budgetMs: 200 } });
      const started = Date.now();
      try {
        await assert.rejects(store.migrate(), (err: unknown) => err instanceof SundialError && err.code === 'database_unavailable');
        assert.ok(Date.now() - started < 3000);
      } finally {
        await store.close();
      }
    });

    it('answers database_unavailable, not a hang, when the network to the database goes silent', async () => {
      // A proxy that forwards until told to swallow everything (a partition: no reset, no close).
      let silent = false;
      const sockets = new Set<Socket>();
      const proxy = createServer((client) => {
        const upstream = connect(5432, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.on('data', (b) => silent || upstream.write(b));
        upstream.on('data', (b) => silent || client.write(b));
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const url = new URL(db.url);
      url.port = String((proxy.address() as AddressInfo).port);
      const store = await openPostgresStore({ url: url.toString(), poolSize: 2, queryTimeoutMs: 500, connectTimeoutMs: 500, retry: { budgetMs: 300 } });
      try {
        await store.migrate();
        const task = await createTask(store);
        silent = true;
        const started = Date.now();
        await assert.rejects(store.getTask(task.id), (err: unknown) => err instanceof SundialError && err.code === 'database_unavailable');
        await assert.rejects(store.createRun(newRun(task), null), (err: unknown) => err instanceof SundialError && err.code === 'database_unavailable');
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
        // The network heals: the store works again on fresh connections.
        silent = false;
        assert.equal((await store.getTask(task.id))?.id, task.id);
      } finally {
        for (const sk of sockets) sk.destroy();
        proxy.close();
        await store.close();
      }
    });

    it('a transaction broken by a terminated connection is retried whole on a new one', async () => {
      await truncate();
      const store = await openStore({ poolSize: 1 });
      const task = await createTask(store);
      // Kill the store's only pooled connection between two of its transactions.
      const { rows } = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'sundial' AND pid <> pg_backend_pid()",
        [db.name],
      );
      for (const r of rows) await admin.query('SELECT pg_terminate_backend($1)', [r.pid]);
      const run = await store.createRun(newRun(task), audit('run.create', 'x'));
      assert.equal(run.created, true);
      assert.equal((await store.getRun(run.run.id))?.status, 'scheduled');
      const audits = await admin.query("SELECT id FROM audit WHERE action = 'run.create'");
      assert.equal(audits.rowCount, 1, 'written once');
    });
  });

  describe('speed (figures on this machine, printed as diagnostics)', () => {
    it('claims, starts and completes 5,000 due runs in batches', async (t) => {
      await truncate();
      const store = await openStore({ poolSize: 4 });
      const manual = await createTask(store);
      await insertDueRuns(manual, 5000);
      const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
        const at = performance.now();
        const out = await fn();
        return [out, Math.round(performance.now() - at)];
      };
      const [claimed, claimMs] = await time(() =>
        store.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 5000, leaseUntil: T0 + LEASE, plan: noPlan }),
      );
      assert.equal(claimed.length, 5000);
      const [, startMs] = await time(() => store.markRunning(claimed.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 }))));
      const [done, completeMs] = await time(() =>
        store.completeRuns(
          claimed.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, status: 'succeeded', finishedAt: T0 + 1, logs: [{ at: T0, level: 'info', message: 'ok' }] })),
        ),
      );
      assert.deepEqual(done.stale, []);

      // Schedule occurrences of 5,000 tasks: each claim plans and inserts the next occurrence.
      await truncate();
      const tasks: Task[] = [];
      for (let i = 0; i < 5000; i += 500) {
        const batch = Array.from({ length: 500 }, () => newTask());
        await admin.query(
          'INSERT INTO tasks (id, namespace, name, kind, spec, policies, status, version, created_at, updated_at, created_by, updated_by) ' +
            "SELECT u.id, 'default', u.name, 'http', '{}', $3, 'active', 1, 0, 0, 't', 't' FROM unnest($1::text[], $2::text[]) AS u(id, name)",
          [batch.map((x) => x.id), batch.map((x) => x.name), JSON.stringify(batch[0]!.policies)],
        );
        tasks.push(...batch.map((x) => ({ ...x, firedCount: 0, lastRunAt: null, lastRunStatus: null, version: 1 })));
      }
      await admin.query(
        'INSERT INTO runs (id, namespace, task_id, task_name, status, attempt, trigger, occurrence_at, scheduled_for, ' +
          "idempotency_key, created_at, updated_at, created_by, updated_by) SELECT gen_random_uuid()::text, 'default', u.id, u.name, " +
          "'scheduled', 1, 'schedule', $3::bigint, $3::bigint, u.id || ':' || $3::bigint, 0, 0, 't', 't' FROM unnest($1::text[], $2::text[]) AS u(id, name)",
        [tasks.map((x) => x.id), tasks.map((x) => x.name), T0],
      );
      const [planned, planMs] = await time(() =>
        store.claimDueRuns({ node: 'node-a', now: T0, horizon: T0, limit: 5000, leaseUntil: T0 + LEASE, plan: intervalPlanner(60_000) }),
      );
      assert.equal(planned.length, 5000);
      const next = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE status = 'scheduled'");
      assert.equal(next.rows[0]!.n, 5000);
      const figures = { claim5000ManualMs: claimMs, start5000Ms: startMs, complete5000WithLogsMs: completeMs, claimAndPlan5000ScheduleMs: planMs };
      t.diagnostic(JSON.stringify(figures));
      console.log(`postgres store figures: ${JSON.stringify(figures)}`);
      assert.ok(claimMs < 10_000 && planMs < 20_000);
    });
  });
});

/** Waits until `cond` holds (polling), failing after a few seconds. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
