// `sundial store copy`: a SQLite data directory built through the real store API, copied into a
// fresh PostgreSQL database, read back through the PostgreSQL store and compared call by call with
// what the SQLite store answers. Also: every refusal (target not empty, source in use, schema too
// old or too new) changes nothing; the CLI as a real process; and the time of a 100,000-run copy.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { newId } from '../../src/core/ids.js';
import type { LogLine, Run, Task } from '../../src/core/types.js';
import { copyStore, type CopyResult } from '../../src/store/copy/copy.js';
import { SqliteSource } from '../../src/store/copy/sqlite-source.js';
import { COPY_TABLES, RUN_LOGS } from '../../src/store/copy/tables.js';
import { openPostgresStore } from '../../src/store/postgres/pg-store.js';
import { MIGRATIONS, applyMigrations } from '../../src/store/sqlite/migrations.js';
import { DB_FILE } from '../../src/store/sqlite/open-db.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewApiKey, NewRun, Page, RunFilter, Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { T0, audit, intervalPlanner, newRun, newTask } from './store-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const DAY = 86_400_000;
const NODE = 'single-node';

const dirs: string[] = [];
const dbs: TestDatabase[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sundial-copy-'));
  dirs.push(dir);
  return dir;
}
async function freshDb(): Promise<TestDatabase> {
  const db = await createTestDatabase('sundial_copy');
  dbs.push(db);
  return db;
}
after(async () => {
  await Promise.all(dbs.map((d) => d.drop().catch(() => undefined)));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** What the seeded source holds that the checks need to know. */
interface Seeded {
  dir: string;
  keys: NewApiKey[];
  /** Runs left queued or running (the stopped node's). */
  inFlight: string[];
  /** Of those, the ones whose lease was still in the future at the copy. */
  futureLeases: string[];
  /** A run whose log has many lines with one timestamp (order is by id only). */
  chattyRun: string;
}

/**
 * A data directory with tasks of every schedule type (one paused, one deleted), runs in every
 * status (queued and running ones with past and future leases), live and final logs (one line
 * with a NUL), samples, keys (one revoked, one used), audit rows, run counts and a node row.
 */
async function seedSource(): Promise<Seeded> {
  const dir = await tempDir();
  const store = await openSqliteStore({ dir });
  await store.migrate();
  const plan = intervalPlanner(30 * DAY); // next occurrences land far beyond every claim below
  const farLease = Date.now() + DAY;

  async function task(over: Parameters<typeof newTask>[0], first?: (t: Task) => NewRun): Promise<Task> {
    const input = newTask(over);
    const asTask = { ...input, firedCount: 0, lastRunAt: null, lastRunStatus: null, version: 1 } satisfies Task;
    const run = first?.(asTask) ?? null;
    return store.createTask({ ...input, nextRunAt: run?.scheduledFor ?? null }, run, audit('task.create', input.id, { namespace: input.namespace }));
  }
  async function add(t: Task, over: Partial<NewRun>): Promise<Run> {
    const { run } = await store.createRun(newRun(t, over), audit('run.create', 'x', { namespace: t.namespace }));
    return run;
  }
  /** Claims the one run due at `now` (every earlier one is claimed or finished by then). */
  async function claim(now: number, leaseUntil = now + 15_000) {
    const claimed = await store.claimDueRuns({ node: NODE, now, horizon: now, limit: 10, leaseUntil, plan });
    assert.equal(claimed.length, 1, `one run due at T0+${now - T0}`);
    return claimed[0]!.run;
  }
  async function start(run: Run, at: number): Promise<void> {
    assert.deepEqual((await store.markRunning([{ runId: run.id, leaseEpoch: run.leaseEpoch, startedAt: at }])).stale, []);
  }

  // Schedules of each type; one task paused, one with a payload and a description to escape.
  await task({ name: 'every', schedule: { type: 'interval', every: '30d' } }, (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 }));
  const cron = await task(
    { name: 'nightly', schedule: { type: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' }, status: 'paused' },
    (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 + 60 * DAY }),
  );
  await task({ name: 'once', schedule: { type: 'once', at: '2026-01-01T00:00:05Z' } }, (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 + 5_000 }));
  const manual = await task({ name: 'manual', description: 'says "hi" — ünïcode ✓', payload: { a: [1, 2], b: null }, kind: 'http' });
  const other = await task({ name: 'other-ns', namespace: 'team-b' });
  const doomed = await task({ name: 'doomed' });
  await store.updateTask({ ...cron, description: 'edited', updatedAt: T0 + 1, updatedBy: 'key:editor' }, { audit: audit('task.update', cron.id) });

  // succeeded (schedule occurrence, with samples, live logs and final logs incl. a NUL)
  const r1 = await claim(T0);
  await start(r1, T0 + 10);
  await store.appendRunSamples([
    { runId: r1.id, at: T0 + 1000, cpuMs: 12.5, rssBytes: 50_000_000, diskWriteBytes: 0 },
    { runId: r1.id, at: T0 + 2000, cpuMs: 25.25, rssBytes: 51_000_000, diskWriteBytes: 4096 },
  ]);
  await store.appendRunLogs(r1.id, [{ at: T0 + 100, level: 'info', message: 'live line' }]);
  const finalLogs: LogLine[] = [
    { at: T0 + 200, level: 'warn', message: 'multi\nline\tmessage' },
    { at: T0 + 300, level: 'error', message: 'nul \u0000 inside' },
    { at: T0 + 400, level: 'info', message: `big ${'x'.repeat(300_000)}` },
  ];
  await store.completeRuns([
    { runId: r1.id, leaseEpoch: r1.leaseEpoch, status: 'succeeded', startedAt: T0 + 10, finishedAt: T0 + 2500, result: { ok: true, n: 3 }, logs: finalLogs, logsTruncated: true, cpuMs: 30.125, peakRssBytes: 52_000_000, diskWriteBytes: 8192 },
  ]);
  // queued, lease long expired (the once task's occurrence)
  const queuedPast = await claim(T0 + 5_000);
  // failed with a retry (the retry stays scheduled, far ahead)
  const f = await add(manual, { scheduledFor: T0 + 10_000, payload: { x: 1 } });
  const fr = await claim(T0 + 10_000);
  assert.equal(fr.id, f.id);
  await start(fr, T0 + 10_001);
  await store.completeRuns([
    {
      runId: fr.id, leaseEpoch: fr.leaseEpoch, status: 'failed', startedAt: T0 + 10_001, finishedAt: T0 + 10_500,
      error: { code: 'http_status', message: 'HTTP 503' } as never,
      retry: newRun(manual, { scheduledFor: T0 + 40 * DAY, attempt: 2, retryOf: fr.id, idempotencyKey: f.idempotencyKey }),
      // An outbox row committed with the outcome, and a channel with its (write-only) secret.
      notifications: [{ id: newId(), namespace: 'default', channel: 'ops', event: 'failed', runId: fr.id, taskId: manual.id, body: '{"type":"run.failed"}', createdAt: T0 + 10_500 }],
    },
  ]);
  await store.notifications.createChannel(
    { id: newId(), namespace: 'default', name: 'ops', type: 'webhook', url: 'https://hooks.example.com/x', to: null, secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=', createdAt: T0, updatedAt: T0, createdBy: 'k', updatedBy: 'k' },
    audit('channel.create', 'ops'),
  );
  // A secret, sealed: copied as it is (the cluster needs the same key-encryption key).
  await store.secrets.putSecret(
    { id: newId(), namespace: 'default', name: 'API_TOKEN', at: T0, actor: 'k', kekId: 'kek-x', wrappedKey: 'd3JhcHBlZA==', ciphertext: 'c2VhbGVk' },
    (sec) => audit('secret.create', sec.id),
  );
  await store.notifications.enqueueNotifications([{ id: newId(), namespace: 'default', channel: 'ops', event: 'test', runId: null, taskId: null, body: '{"type":"run.test"}', createdAt: T0 + 11_000 }]);
  const [sent] = await store.notifications.claimNotifications(T0 + 11_000, T0 + 20_000, 1);
  await store.notifications.settleNotifications([
    { id: sent!.id, claimToken: sent!.claimToken, status: 'delivered', attempts: [{ at: T0 + 11_001, ok: true, status: 204, error: null, durationMs: 4 }], attemptCount: 1, nextAttemptAt: T0 + 11_001, lastError: null, deliveredAt: T0 + 11_001 },
  ]);
  // An alert rule with a firing alert (value fractional) and a resolved one, with their outbox row.
  const rule = await store.alerts.createRule(
    { id: newId(), namespace: 'default', name: 'late', kind: 'lateness_p99', params: { bound: '1s', window: '5m' }, forMs: 60_000, channels: ['ops'], enabled: true, createdAt: T0, updatedAt: T0, createdBy: 'k', updatedBy: 'k' },
    audit('alert_rule.create', 'late'),
  );
  const alertOf = (status: 'firing' | 'resolved', at: number) => ({
    id: newId(), ruleId: rule.id, namespace: 'default', ruleName: 'late', kind: 'lateness_p99' as const, status, since: at, firedAt: at + 60_000,
    resolvedAt: status === 'resolved' ? at + 90_000 : null, why: 'lateness p99 is 1.5s', value: 1500.5,
  });
  await store.alerts.fireAlert(alertOf('resolved', T0), []);
  await store.alerts.fireAlert(alertOf('firing', T0 + 200_000), [
    { id: newId(), namespace: 'default', channel: 'pager', event: 'alert.firing', runId: null, taskId: null, body: '{"type":"alert.firing"}', createdAt: T0 + 260_000 },
  ]);
  // timed out
  await add(manual, { scheduledFor: T0 + 20_000 });
  const tr = await claim(T0 + 20_000);
  await start(tr, T0 + 20_000);
  await store.completeRuns([{ runId: tr.id, leaseEpoch: tr.leaseEpoch, status: 'timed_out', startedAt: T0 + 20_000, finishedAt: T0 + 80_000, reason: 'timeout' }]);
  // running, lease expired, asked to cancel, with live logs (many lines at one instant) and samples
  await add(manual, { scheduledFor: T0 + 30_000 });
  const running = await claim(T0 + 30_000);
  await start(running, T0 + 30_000);
  await store.appendRunLogs(running.id, Array.from({ length: 23 }, (_, i) => ({ at: T0 + 31_000, level: 'info' as const, message: `line ${i}` })));
  await store.appendRunSamples([{ runId: running.id, at: T0 + 31_000, cpuMs: 1, rssBytes: 2, diskWriteBytes: 3 }]);
  await store.requestCancel(running.id, T0 + 32_000, audit('run.cancel', running.id));
  // running and queued with leases still in the future (a node killed moments ago, or a long lease)
  await add(manual, { scheduledFor: T0 + 40_000 });
  const runningFuture = await claim(T0 + 40_000, farLease);
  await start(runningFuture, T0 + 40_000);
  await add(other, { scheduledFor: T0 + 50_000 });
  const queuedFuture = await claim(T0 + 50_000, farLease);
  // cancelled before it started; skipped at birth; scheduled far ahead
  const c = await add(manual, { scheduledFor: T0 + 50 * DAY });
  await store.requestCancel(c.id, T0 + 60_000, audit('run.cancel', c.id));
  await add(manual, { status: 'skipped', reason: 'overlap', scheduledFor: T0 + 61_000 });
  await add(other, { scheduledFor: T0 + 70 * DAY, priority: 5 });
  // a deleted task: its finished run stays as history
  await add(doomed, { scheduledFor: T0 + 90_000 });
  const d = await claim(T0 + 90_000);
  await start(d, T0 + 90_000);
  await store.completeRuns([{ runId: d.id, leaseEpoch: d.leaseEpoch, status: 'succeeded', startedAt: T0 + 90_000, finishedAt: T0 + 91_000 }]);
  await store.deleteTask(doomed.id, T0 + 100_000, audit('task.delete', doomed.id));

  // keys: one used, one revoked; an audit row of its own; a node row (not copied)
  const keys: NewApiKey[] = [
    { id: newId(), name: 'admin', role: 'admin', namespaces: ['*'], prefix: 'sdl_aaaa', hash: 'a'.repeat(64), createdAt: T0, createdBy: 'bootstrap', lastUsedAt: null, revokedAt: null, expiresAt: T0 + 86_400_000, scopes: ['tasks:write:http'] },
    { id: newId(), name: 'ci', role: 'operator', namespaces: ['default', 'team-b'], prefix: 'sdl_bbbb', hash: 'b'.repeat(64), createdAt: T0 + 1, createdBy: 'key:admin', lastUsedAt: null, revokedAt: null },
  ];
  for (const k of keys) await store.createApiKey(k, audit('api_key.create', k.id));
  await store.recordApiKeyUse({ id: keys[0]!.id, at: T0 + 5_000, ip: '192.0.2.7', newAddressAudit: null });
  await store.revokeApiKey(keys[1]!.id, T0 + 6_000, audit('api_key.revoke', keys[1]!.id));
  await store.appendAudit({ namespace: 'default', at: T0 + 7_000, actor: 'anonymous', ip: null, action: 'auth.failed', targetType: 'api_key', targetId: '-', detail: { reason: 'unknown key' } });
  await store.upsertNode({ id: NODE, host: 'box', pid: 1, version: '0.1.0', roles: ['api', 'scheduler', 'executor'], startedAt: T0, heartbeatAt: T0, instanceId: 'i1', runsInFlight: 3 }, T0 - 30_000);
  await store.close();

  return {
    dir,
    keys,
    inFlight: [queuedPast.id, running.id, runningFuture.id, queuedFuture.id],
    futureLeases: [runningFuture.id, queuedFuture.id],
    chattyRun: running.id,
  };
}

async function allPages<T>(read: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

async function pgCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of [...COPY_TABLES.map((x) => x.name), 'nodes']) {
      const exists = (await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [t])).rows[0]?.t;
      out[t] = exists == null ? -1 : Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n);
    }
    return out;
  } finally {
    await c.end();
  }
}

async function openPg(url: string): Promise<Store> {
  const store = await openPostgresStore({ url, poolSize: 2 });
  await store.migrate();
  return store;
}

/** Runs the CLI as a real process; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, SUNDIAL_DATABASE_URL: undefined, ...env };
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: childEnv as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    proc.once('error', reject);
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A child holding the data directory as a running server would (test/store/fixtures/hold-store.ts). */
async function holdDir(dir: string): Promise<{ proc: ChildProcess; exited: Promise<unknown> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture('hold-store.ts'), dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const first = await createInterface({ input: proc.stdout! })[Symbol.asyncIterator]().next();
  assert.equal(first.value, 'ready');
  return { proc, exited };
}

describe('sundial store copy', () => {
  let seeded: Seeded;
  before(async () => {
    seeded = await seedSource();
  });

  it('copies every table so the PostgreSQL store answers exactly as the SQLite one did', async () => {
    const db = await freshDb();
    const copyAt = Date.now();
    const before = await readFile(join(seeded.dir, DB_FILE));
    // A small batch so every table spans several batches (and the logs' order crosses them), and
    // a text bound the big log line alone exceeds.
    const result = await copyStore({ from: seeded.dir, to: db.url, batchSize: 7, batchChars: 100_000, now: () => copyAt });
    assert.deepEqual(await readFile(join(seeded.dir, DB_FILE)), before, 'the source file is not changed');
    assert.equal(result.dryRun, false);
    assert.equal(result.inFlightRuns, 4);
    assert.equal(result.leasesEnded, 2);
    assert.equal(result.nulReplaced, 1);

    const sqlite = await openSqliteStore({ dir: seeded.dir });
    await sqlite.migrate();
    const pgStore = await openPg(db.url);
    try {
      // Row counts: everything but nodes.
      const counts = await pgCounts(db.url);
      assert.equal(counts.nodes, 0, 'node rows are not copied: nodes register themselves');
      for (const t of result.tables) assert.equal(counts[t.table], t.rows, t.table);

      // Tasks: listings in every sort, and one by one.
      for (const sort of ['createdAt', '-name', 'nextRunAt', '-lastRunAt'] as const) {
        const read = (s: Store) => allPages((cursor) => s.listTasks({ namespaces: '*', sort, limit: 2, ...(cursor !== undefined && { cursor }) }));
        assert.deepEqual(await read(pgStore), await read(sqlite), `listTasks sort=${sort}`);
      }
      const tasks = (await sqlite.listTasks({ namespaces: '*', limit: 100 })).items;
      assert.equal(tasks.length, 5);
      for (const t of tasks) {
        assert.deepEqual(await pgStore.getTask(t.id), t);
        assert.deepEqual(await pgStore.getTaskByName(t.namespace, t.name), t);
      }
      assert.deepEqual(await pgStore.countTasks('*'), await sqlite.countTasks('*'));

      // Runs: both orders, filtered, one by one, with logs and samples. Leases that had not run
      // out end at the copy's time; nothing else differs.
      const expectRun = (r: Run): Run => (seeded.futureLeases.includes(r.id) ? { ...r, leaseUntil: copyAt } : r);
      for (const f of [{ order: 'asc' }, { order: 'desc' }, { status: ['queued', 'running'] }, { namespaces: ['team-b'] }] as Partial<RunFilter>[]) {
        const read = (s: Store) => allPages((cursor) => s.listRuns({ namespaces: '*', limit: 3, ...f, ...(cursor !== undefined && { cursor }) }));
        assert.deepEqual(await read(pgStore), (await read(sqlite)).map(expectRun), `listRuns ${JSON.stringify(f)}`);
      }
      const runs = (await sqlite.listRuns({ namespaces: '*', limit: 100 })).items;
      assert.deepEqual(new Set(runs.map((r) => r.status)), new Set(['scheduled', 'queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']));
      for (const r of runs) {
        assert.deepEqual(await pgStore.getRun(r.id), expectRun(r));
        const logs = await sqlite.getRunLogs(r.id);
        assert.deepEqual(await pgStore.getRunLogs(r.id), logs.map((l) => ({ ...l, message: l.message.replaceAll('\0', '\uFFFD') })), `logs of ${r.id}`);
        assert.deepEqual(await pgStore.getRunSamples(r.id), await sqlite.getRunSamples(r.id), `samples of ${r.id}`);
      }
      assert.deepEqual((await pgStore.getRunLogs(seeded.chattyRun)).map((l) => l.message).slice(-23), Array.from({ length: 23 }, (_, i) => `line ${i}`));
      assert.ok((await pgStore.getRunLogs(runs.find((r) => r.status === 'succeeded' && r.trigger === 'schedule')!.id)).some((l) => l.message === 'nul \uFFFD inside'));
      const ids = tasks.map((t) => t.id);
      assert.deepEqual(await pgStore.listRecentRuns(ids, 5), await sqlite.listRecentRuns(ids, 5));
      assert.deepEqual(await pgStore.listCancelRequests(NODE), await sqlite.listCancelRequests(NODE));

      // Counts: finished runs from run_counts (shard 0), in-flight and backlog from the runs.
      for (const scope of ['*', ['default'], ['team-b']] as const) {
        for (const now of [T0 + 1000, Date.now()]) {
          assert.deepEqual(await pgStore.countRuns(scope, now), await sqlite.countRuns(scope, now), `countRuns ${JSON.stringify(scope)}`);
        }
      }
      // The order of lateness buckets is not part of the contract (conformance.ts sorts them too).
      const perMinute = async (s: Store) =>
        (await s.countRunsPerMinute('*', T0 - 60_000, T0 + DAY)).map((m) => ({ ...m, lateness: [...m.lateness].sort((a, b) => a.bucket - b.bucket) }));
      assert.deepEqual(await perMinute(pgStore), await perMinute(sqlite));

      // Keys keep working (same hashes), audit reads the same.
      for (const k of seeded.keys) assert.deepEqual(await pgStore.findApiKeyByHash(k.hash), await sqlite.findApiKeyByHash(k.hash));
      const copiedKey = await pgStore.findApiKeyByHash(seeded.keys[0]!.hash);
      assert.equal(copiedKey?.lastUsedAt, T0 + 5_000);
      // Expiry, scopes and the remembered addresses travel too (PostgreSQL V5 = SQLite V9).
      assert.equal(copiedKey?.expiresAt, T0 + 86_400_000);
      assert.deepEqual(copiedKey?.scopes, ['tasks:write:http']);
      assert.deepEqual(copiedKey?.addresses, ['192.0.2.7']);
      assert.equal(copiedKey?.lastUsedFrom, '192.0.2.7');
      assert.deepEqual(await pgStore.listApiKeys(), await sqlite.listApiKeys());
      assert.equal(await pgStore.countApiKeys(), 2);
      const readAudit = (s: Store) => allPages((cursor) => s.listAudit({ namespaces: '*', limit: 4, ...(cursor !== undefined && { cursor }) }));
      const auditRows = await readAudit(sqlite);
      assert.ok(auditRows.length >= 15);
      assert.deepEqual(await readAudit(pgStore), auditRows);

      // Channels (secrets included) and the outbox, delivered and pending, read the same.
      assert.deepEqual(await pgStore.notifications.listChannels('*', 10), await sqlite.notifications.listChannels('*', 10));
      assert.equal((await pgStore.notifications.getChannel('default', 'ops'))?.secret, 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=');
      assert.deepEqual(await pgStore.secrets.listSecrets('*', 10), await sqlite.secrets.listSecrets('*', 10));
      assert.equal((await pgStore.secrets.getSecret('default', 'API_TOKEN'))?.ciphertext, 'c2VhbGVk');
      const outbox = await sqlite.notifications.listNotifications('default', 'ops', 10);
      assert.deepEqual(outbox.items.map((n) => n.status).sort(), ['delivered', 'pending']);
      assert.deepEqual(await pgStore.notifications.listNotifications('default', 'ops', 10), outbox);

      // Alert rules and their alerts, firing and resolved, read the same (a firing one stays firing).
      assert.deepEqual(await pgStore.alerts.listRules('*', 10), await sqlite.alerts.listRules('*', 10));
      const alerts = await sqlite.alerts.listAlerts({ namespaces: '*', limit: 10 });
      assert.deepEqual(alerts.items.map((a) => a.status), ['firing', 'resolved']);
      assert.deepEqual(await pgStore.alerts.listAlerts({ namespaces: '*', limit: 10 }), alerts);

      // The cluster takes the stopped node's runs over at its first sweep: all four are orphans now.
      const now = Date.now();
      const orphans = await pgStore.claimOrphanedRuns({ node: 'cluster-1', now, leaseUntil: now + 15_000, limit: 100 });
      assert.deepEqual(orphans.map((o) => o.run.id).sort(), [...seeded.inFlight].sort());
      for (const o of orphans) assert.equal(o.task.id, o.run.taskId);
    } finally {
      await pgStore.close();
      await sqlite.close();
    }
  });

  it('reads the source in rowid order, in batches bounded by rows and by text', () => {
    const source = SqliteSource.open(seeded.dir);
    try {
      const whole = [...source.batches(RUN_LOGS, 1_000_000)];
      assert.equal(whole.length, 1);
      const all = whole[0]!;
      assert.equal(all.length, source.count(RUN_LOGS));
      const bySize = [...source.batches(RUN_LOGS, 4)];
      assert.ok(bySize.every((b) => b.length <= 4));
      assert.deepEqual(bySize.flat(), all);
      // The big line (300,000 characters) ends its batch; every other batch stays under the bound.
      const byText = [...source.batches(RUN_LOGS, 1000, 100_000)];
      assert.deepEqual(byText.flat(), all);
      const big = byText.findIndex((b) => b.some((row) => String(row[3]).length > 100_000));
      assert.ok(big >= 0 && byText[big]!.at(-1)![3] === all.find((row) => String(row[3]).length > 100_000)![3]);
      assert.ok(byText.length >= 2);
    } finally {
      source.close();
    }
  });

  it('refuses a target that holds any row, changing nothing; and of two copies at once, one wins', async () => {
    // A database where a node already started and created its bootstrap key.
    const db = await freshDb();
    const early = await openPg(db.url);
    const key: NewApiKey = { id: newId(), name: 'bootstrap', role: 'admin', namespaces: ['*'], prefix: 'sdl_zzzz', hash: 'z'.repeat(64), createdAt: T0, createdBy: 'bootstrap', lastUsedAt: null, revokedAt: null };
    await early.createApiKey(key, audit('api_key.create', key.id));
    await early.close();
    const beforeCounts = await pgCounts(db.url);
    await assert.rejects(copyStore({ from: seeded.dir, to: db.url }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_TARGET_NOT_EMPTY');
      assert.match(err.message, /already holds Sundial data \(rows in api_keys, audit\); nothing was changed/);
      return true;
    });
    assert.deepEqual(await pgCounts(db.url), beforeCounts);
    // A dry run says the same.
    await assert.rejects(copyStore({ from: seeded.dir, to: db.url, dryRun: true }), { code: 'ERR_TARGET_NOT_EMPTY' });

    // Two copies into one empty database: the second waits on the first's table locks, then
    // finds the rows and refuses; the target holds exactly one copy.
    const shared = await freshDb();
    const outcomes = await Promise.allSettled([copyStore({ from: seeded.dir, to: shared.url }), copyStore({ from: seeded.dir, to: shared.url })]);
    const won = outcomes.filter((o): o is PromiseFulfilledResult<CopyResult> => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal((lost[0]?.reason as { code?: string }).code, 'ERR_TARGET_NOT_EMPTY');
    const counts = await pgCounts(shared.url);
    for (const t of won[0]!.value.tables) assert.equal(counts[t.table], t.rows);
  });

  it('refuses a source a running server holds; a server cannot start while the copy reads', async () => {
    const db = await freshDb();
    const dir = await tempDir();
    const holder = await holdDir(dir);
    try {
      await assert.rejects(copyStore({ from: dir, to: db.url }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_SOURCE_LOCKED');
        assert.match(err.message, /^a Sundial server is using .* \(its database is locked\); stop it, then copy/);
        return true;
      });
      const run = await cli(['store', 'copy', '--from', dir, '--to', db.url]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^error: a Sundial server is using /m);
      assert.equal(run.stdout, '');
    } finally {
      holder.proc.kill('SIGKILL');
      await holder.exited;
    }
    assert.deepEqual(await pgCounts(db.url), Object.fromEntries([...COPY_TABLES.map((t) => t.name), 'nodes'].map((t) => [t, -1])), 'nothing created');

    // The other way round: while a copy reads the directory, a server start is refused.
    let outcome: { ok: boolean; code?: string } | undefined;
    await copyStore({
      from: seeded.dir,
      to: (await freshDb()).url,
      dryRun: true,
      onProgress: (e) => {
        if (e.kind !== 'step' || outcome !== undefined) return;
        // Synchronously, from inside the copy (its read transaction is open): a child process
        // tries to open the directory as a server would.
        outcome = tryOpenAsServer(seeded.dir);
      },
    });
    assert.deepEqual(outcome, { ok: false, code: 'ERR_DATA_DIR_LOCKED' });
  });

  it('refuses a source at an older or newer schema, or a directory without a database, and leaves it as it was', async () => {
    const db = await freshDb();
    await assert.rejects(copyStore({ from: join(tmpdir(), `missing-${newId()}`), to: db.url }), { code: 'ERR_SOURCE_MISSING' });
    await assert.rejects(copyStore({ from: await tempDir(), to: db.url }), { code: 'ERR_SOURCE_MISSING', message: /holds no Sundial database/ });

    const old = await tempDir();
    const raw = new SqliteDatabase(join(old, DB_FILE));
    applyMigrations(raw, MIGRATIONS.slice(0, 3));
    raw.close();
    await assert.rejects(copyStore({ from: old, to: db.url }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_SOURCE_SCHEMA_OLD');
      assert.match(err.message, /schema version 3, this Sundial copies version \d+: start this Sundial once on it \(sundial serve --data-dir .*\) so it migrates/);
      return true;
    });
    const check = new SqliteDatabase(join(old, DB_FILE), { readonly: true });
    assert.equal(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck(true).get(), '3', 'the source was not migrated');
    check.close();

    const newer = await tempDir();
    const n = new SqliteDatabase(join(newer, DB_FILE));
    applyMigrations(n);
    n.prepare("UPDATE meta SET value = '999' WHERE key = 'schema_version'").run();
    n.close();
    await assert.rejects(copyStore({ from: newer, to: db.url }), { code: 'ERR_SCHEMA_TOO_NEW', name: 'SchemaTooNewError' });
    assert.equal((await pgCounts(db.url)).tasks, -1, 'the target was not touched');
  });

  it('runs as a CLI process: dry run, copy with progress and summary, refusal, usage errors', async () => {
    const db = await freshDb();
    const dry = await cli(['store', 'copy', '--from', seeded.dir, '--dry-run'], { SUNDIAL_DATABASE_URL: db.url });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: would copy \d+ rows from .* to postgres:\/\/postgres@127\.0\.0\.1:5432\/sundial_copy_\w+; nothing was written$/m);
    assert.match(dry.stdout, /^runs\s+1[0-9]$/m);
    assert.match(dry.stdout, /4 runs were queued or running when the node stopped/);
    assert.equal((await pgCounts(db.url)).tasks, -1, 'a dry run creates no schema');

    const real = await cli(['store', 'copy', '--from', seeded.dir, '--to', db.url]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /^copied \d+ rows from .* in \d+\.\d s$/m);
    assert.match(real.stdout, /^TABLE\s+ROWS$/m);
    for (const t of COPY_TABLES) assert.match(real.stdout, new RegExp(`^${t.name}\\s+\\d+$`, 'm'));
    assert.match(real.stdout, /^next: start each node with SUNDIAL_DATABASE_URL/m);
    // Each table with its rows (and its rate when it took 100 ms or more).
    for (const t of COPY_TABLES) assert.match(real.stderr, new RegExp(`^ {2}${t.name}: [\\d,]+ rows in \\d+\\.\\d s(, [\\d,]+ rows/s)?$`, 'm'));
    assert.match(real.stderr, /^committing$/m);

    const again = await cli(['--json', 'store', 'copy', '--from', seeded.dir, '--to', db.url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: the target database .* already holds Sundial data \(rows in tasks, runs, run_logs, run_samples, api_keys, audit, run_counts, channels, notifications, alert_rules, alerts, secrets\); nothing was changed/m);
    assert.equal(again.stdout, '');

    const json = await cli(['store', 'copy', '--json', '--dry-run', '--from', seeded.dir, '--to', (await freshDb()).url]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as CopyResult;
    assert.equal(parsed.dryRun, true);
    assert.equal(parsed.inFlightRuns, 4);

    const noTo = await cli(['store', 'copy', '--from', seeded.dir]);
    assert.equal(noTo.code, 2);
    assert.match(noTo.stderr, /^error: give the PostgreSQL database with --to/m);
    const badTo = await cli(['store', 'copy', '--from', seeded.dir, '--to', 'mysql://x/y']);
    assert.equal(badTo.code, 2);
    assert.match(badTo.stderr, /--to must be a postgres:\/\/ or postgresql:\/\/ URL, not mysql:/);
    const noFrom = await cli(['store', 'copy', '--to', db.url]);
    assert.equal(noFrom.code, 2);
    assert.match(noFrom.stderr, /required option '--from <dir>' not specified/);
  });

  it('copies 100,000 runs with their logs (timed)', async (t) => {
    const RUNS = Number(process.env.SUNDIAL_COPY_BENCH_RUNS ?? 100_000);
    const LOGS_PER_RUN = 3;
    const dir = await tempDir();
    const store = await openSqliteStore({ dir });
    await store.migrate();
    const task = await store.createTask(newTask({ name: 'bulk', schedule: { type: 'interval', every: '1m' } }), null, audit('task.create', 'bulk'));
    await store.close();
    // Rows written straight into the file: the store API would spend minutes on 100,000 runs;
    // the copy reads the same columns either way.
    const raw = new SqliteDatabase(join(dir, DB_FILE));
    const insertRun = raw.prepare(
      'INSERT INTO runs (id, namespace, task_id, task_name, status, attempt, trigger, occurrence_at, scheduled_for, idempotency_key, ' +
        'queued_at, started_at, finished_at, node, lease_epoch, result, cpu_ms, peak_rss_bytes, disk_write_bytes, created_at, updated_at, created_by, updated_by) ' +
        "VALUES (?, 'default', ?, 'bulk', 'succeeded', 1, 'schedule', ?, ?, ?, ?, ?, ?, 'node-1', 1, ?, 1.5, 40000000, 0, ?, ?, 'system', 'node-1')",
    );
    const insertLog = raw.prepare("INSERT INTO run_logs (run_id, at, level, message, created_by) VALUES (?, ?, 'info', ?, 'node-1')");
    raw.transaction(() => {
      for (let i = 0; i < RUNS; i++) {
        const at = T0 + i * 60_000;
        const id = newId();
        insertRun.run(id, task.id, at, at, `${task.id}:${at}`, at, at + 5, at + 120, '{"status":200,"ms":115}', at, at + 120);
        for (let j = 0; j < LOGS_PER_RUN; j++) insertLog.run(id, at + j, `GET https://example.com/health -> 200 in 115 ms (line ${j})`);
      }
      raw.prepare("INSERT INTO run_counts (namespace, status, n) VALUES ('default', 'succeeded', ?)").run(RUNS);
    })();
    raw.close();

    const db = await freshDb();
    const perTable: string[] = [];
    const result = await copyStore({
      from: dir,
      to: db.url,
      onProgress: (e) => {
        if (e.kind === 'table' && e.rows > 0) perTable.push(`${e.table} ${e.rows} rows ${e.elapsedMs} ms (${Math.round((e.rows / Math.max(1, e.elapsedMs)) * 1000)} rows/s)`);
      },
    });
    t.diagnostic(`copy of ${RUNS} runs + ${RUNS * LOGS_PER_RUN} log lines: ${result.ms} ms in all; ${perTable.join('; ')}`);
    assert.equal(result.tables.find((x) => x.table === 'runs')?.rows, RUNS);
    assert.equal(result.tables.find((x) => x.table === 'run_logs')?.rows, RUNS * LOGS_PER_RUN);
    const counts = await pgCounts(db.url);
    assert.equal(counts.runs, RUNS);
    assert.equal(counts.run_logs, RUNS * LOGS_PER_RUN);
    const pgStore = await openPg(db.url);
    try {
      assert.deepEqual((await pgStore.countRuns('*', T0)).byStatus, { succeeded: RUNS });
      const last = (await pgStore.listRuns({ namespaces: '*', limit: 1 })).items[0]!;
      assert.deepEqual(
        (await pgStore.getRunLogs(last.id)).map((l) => l.message),
        Array.from({ length: LOGS_PER_RUN }, (_, j) => `GET https://example.com/health -> 200 in 115 ms (line ${j})`),
      );
    } finally {
      await pgStore.close();
    }
  });
});

/** Runs test/store/fixtures/try-open.ts to its end: could a server open `dir` right now? */
function tryOpenAsServer(dir: string): { ok: boolean; code?: string } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fixture('try-open.ts'), dir], { cwd: ROOT, encoding: 'utf8' });
  const parsed = JSON.parse(out) as { ok: boolean; code?: string };
  return parsed.ok ? { ok: true } : { ok: false, code: parsed.code };
}
