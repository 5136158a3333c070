// What serialising audit appends costs on PostgreSQL (issue 12): W writers (each its own store,
// as W nodes would be) create tasks at once, every create writing its audit row; once with the
// chained insert (the head row locked from that statement to COMMIT, the hash computed in SQL),
// once with a plain INSERT of the same row (seq from a sequence, no hash, no head lock), which is
// what audit rows cost before the chain. Prints creates/s and latency percentiles of both.
//
//   node --import tsx bench/audit-chain-bench.ts [--writers=3] [--tasks=400] [--rounds=3]
//
// Each mode runs `rounds` times, alternating, and medians are reported (the machine is shared).
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { DEFAULT_POLICIES } from '../src/core/policies.js';
import { verifyAuditChain } from '../src/services/audit-verify.js';
import { GENESIS_HASH } from '../src/store/audit-chain.js';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres/pg-store.js';
import * as S from '../src/store/postgres/statements.js';
import type { Queryable } from '../src/store/postgres/statements.js';
import { createBenchDatabase } from './pg-cluster.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const WRITERS = Number(args.get('writers') ?? 3);
const TASKS = Number(args.get('tasks') ?? 400);
const ROUNDS = Number(args.get('rounds') ?? 3);

const chainedInsert = S.insertAudit.run.bind(S.insertAudit);
/** The write in progress (per async context): when its audit statement, which takes the head lock, began. */
const current = new AsyncLocalStorage<{ auditAt: number }>();
const chainedRun = (c: Queryable, values: unknown[] = []) => {
  const w = current.getStore();
  if (w !== undefined) w.auditAt = performance.now();
  return chainedInsert(c, values);
};
const PLAIN =
  'INSERT INTO audit (id, namespace, at, actor, ip, action, target_type, target_id, detail, seq, prev_hash, hash) ' +
  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, nextval('bench_audit_seq'), '', '')";
const plainRun = (c: Queryable, values: unknown[] = []) => c.query({ name: 'bench_plain_audit', text: PLAIN, values });

interface Round {
  mode: 'chained' | 'plain';
  perSecond: number;
  p50: number;
  p99: number;
  /** Median time from the audit statement's start to the write's end: waiting for the head lock, then holding it to COMMIT. */
  holdP50: number;
}

async function round(stores: PostgresStore[], admin: PostgresStore, mode: Round['mode'], n: number): Promise<Round> {
  (S.insertAudit as { run: unknown }).run = mode === 'chained' ? chainedRun : plainRun;
  const latencies: number[] = [];
  const holds: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    stores.map(async (store, w) => {
      for (let i = 0; i < TASKS; i++) {
        const now = Date.now();
        const id = `${mode}-${n}-${w}-${i}`;
        const t = performance.now();
        const write = { auditAt: 0 };
        await current.run(write, () => store.createTask(
          {
            id, namespace: 'default', name: id, description: null, kind: 'http', spec: { url: 'https://example.com/' }, schedule: null,
            policies: DEFAULT_POLICIES, payload: null, status: 'active', nextRunAt: null, createdAt: now, updatedAt: now, createdBy: 'key:bench', updatedBy: 'key:bench',
          },
          null,
          { namespace: 'default', at: now, actor: 'key:bench', ip: '127.0.0.1', action: 'task.create', targetType: 'task', targetId: id, detail: { name: id, kind: 'http' } },
        ));
        const end = performance.now();
        latencies.push(end - t);
        if (mode === 'chained' && write.auditAt > 0) holds.push(end - write.auditAt);
      }
    }),
  );
  const ms = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  holds.sort((a, b) => a - b);
  return { mode, perSecond: (WRITERS * TASKS * 1000) / ms, p50: pct(0.5), p99: pct(0.99), holdP50: holds[Math.floor(holds.length / 2)] ?? 0 };
}

const db = await createBenchDatabase();
const stores: PostgresStore[] = [];
try {
  for (let w = 0; w < WRITERS; w++) {
    const store = await openPostgresStore({ url: db.url, poolSize: 4 });
    await store.migrate();
    stores.push(store);
  }
  const admin = stores[0]!;
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE SEQUENCE bench_audit_seq START 1000000000');
  const results: Round[] = [];
  for (let n = 0; n < ROUNDS; n++) {
    for (const mode of ['chained', 'plain'] as const) {
      await client.query('TRUNCATE audit, tasks');
      await client.query(`UPDATE audit_head SET seq = 0, prev_hash = '${GENESIS_HASH}', hash = '${GENESIS_HASH}'`);
      const r = await round(stores, admin, mode, n);
      if (mode === 'chained') {
        const v = await verifyAuditChain(admin.auditChain, { key: null });
        if (!v.ok || v.count !== WRITERS * TASKS) throw new Error(`the chain did not verify: ${JSON.stringify(v)}`);
      }
      results.push(r);
      const hold = mode === 'chained' ? `, audit statement to end (lock wait + hold) p50 ${r.holdP50.toFixed(2)} ms` : '';
      console.log(`${mode.padEnd(8)} round ${n + 1}: ${r.perSecond.toFixed(0)} creates/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${hold}`);
    }
  }
  await client.end();
  // The machine is shared, so single rounds swing by 2×: report the median, the median of each
  // round's chained/plain ratio (the two ran back to back), and the best of each.
  const of = (mode: Round['mode']) => results.filter((r) => r.mode === mode);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [c, p] = [of('chained'), of('plain')];
  const ratio = median(c.map((r, i) => r.perSecond / p[i]!.perSecond));
  const line = (rs: Round[]) =>
    `median ${median(rs.map((r) => r.perSecond)).toFixed(0)}/s (p50 ${median(rs.map((r) => r.p50)).toFixed(2)} ms, p99 ${median(rs.map((r) => r.p99)).toFixed(2)} ms), ` +
    `best ${Math.max(...rs.map((r) => r.perSecond)).toFixed(0)}/s`;
  console.log(`\n${WRITERS} writers × ${TASKS} audited task creates, ${ROUNDS} rounds each:`);
  console.log(`  chained: ${line(c)}; audit statement to end (lock wait + hold) p50 ${median(c.map((r) => r.holdP50)).toFixed(2)} ms`);
  console.log(`  plain:   ${line(p)}`);
  console.log(`  chained/plain per round, median: ${ratio.toFixed(2)} (${(100 * (1 - ratio)).toFixed(0)}% fewer audited writes/s)`);
} finally {
  await Promise.all(stores.map((s) => s.close()));
  await db.drop();
}
