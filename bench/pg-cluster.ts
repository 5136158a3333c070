// The PostgreSQL side of `npm run bench -- --backend postgres`: a fresh database per scenario on
// the local server (SUNDIAL_BENCH_PG, default postgres://postgres@127.0.0.1:5432/postgres), and
// extra nodes as real `sundial serve` processes on it, so a 3-node figure is three processes
// competing for this machine's cores with PostgreSQL, as a real deployment on one host would.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { PROJECT_ROOT } from '../src/version.js';

/** The server the bench creates its databases on. */
const ADMIN_URL = process.env.SUNDIAL_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database made for one scenario. */
export interface BenchDatabase {
  url: string;
  /** Reads per table so far (pg_stat_user_tables): how the database spent its time, roughly. */
  tableReads(): Promise<Map<string, TableReads>>;
  drop(): Promise<void>;
}

/** Cumulative reads of one table. */
export interface TableReads {
  seqScans: number;
  seqRows: number;
  idxScans: number;
  idxRows: number;
}

/** What each table read between two snapshots, busiest first, as one line per table. */
export function readsBetween(a: Map<string, TableReads>, b: Map<string, TableReads>): string[] {
  const out: { line: string; rows: number }[] = [];
  for (const [table, r] of b) {
    const p = a.get(table) ?? { seqScans: 0, seqRows: 0, idxScans: 0, idxRows: 0 };
    const d = { seqScans: r.seqScans - p.seqScans, seqRows: r.seqRows - p.seqRows, idxScans: r.idxScans - p.idxScans, idxRows: r.idxRows - p.idxRows };
    if (d.seqScans + d.idxScans === 0) continue;
    out.push({ rows: d.seqRows + d.idxRows, line: `${table}: ${d.seqScans} seq scans (${d.seqRows} rows), ${d.idxScans} index scans (${d.idxRows} rows)` });
  }
  return out.sort((x, y) => y.rows - x.rows).map((o) => o.line);
}

/** Creates an empty database for one scenario. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `sundial_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async tableReads() {
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        const { rows } = await c.query<{ relname: string; seq_scan: string; seq_tup_read: string; idx_scan: string | null; idx_tup_fetch: string | null }>(
          'SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch FROM pg_stat_user_tables',
        );
        return new Map(
          rows.map((r) => [r.relname, { seqScans: Number(r.seq_scan), seqRows: Number(r.seq_tup_read), idxScans: Number(r.idx_scan ?? 0), idxRows: Number(r.idx_tup_fetch ?? 0) }]),
        );
      } finally {
        await c.end();
      }
    },
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A node started as its own process. */
export interface NodeProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `sundial serve` (the built one in dist/) on `databaseUrl`; resolves once it listens. */
export function startNodeProcess(databaseUrl: string, nodeId: string, env: Record<string, string>): Promise<NodeProcess> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/cli/main.js'), 'serve'], {
    env: {
      ...process.env,
      SUNDIAL_DATABASE_URL: databaseUrl,
      SUNDIAL_NODE_ID: nodeId,
      SUNDIAL_PORT: '0',
      SUNDIAL_LOG_LEVEL: 'info',
      // Benchmarks measure the server, not its per-key throttle.
      SUNDIAL_RATE_LIMIT: '0',
      SUNDIAL_TASKS_DIR: join(PROJECT_ROOT, 'bench/tasks'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A scenario that fails (or a benchmark killed with Ctrl-C) must not leave nodes running on:
  // they would load the machine under the next measurement.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.removeListener('exit', killOnExit);
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    const output: string[] = [];
    const onLine = (line: string): void => {
      if (output.length < 200) output.push(line);
      // `serve` prints this on stderr whatever the log level.
      if (!line.includes('sundial listening on')) return;
      resolve({
        child,
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then(() => reject(new Error(`node ${nodeId} exited before listening:\n${output.join('\n')}`)));
  });
}

/**
 * Inserts `n` manual runs of a task due at `at` straight into PostgreSQL, 10,000 per statement:
 * through the Store each insert is its own transaction (as an API request is), which would make
 * setting up 200,000 runs take longer than the scenario it prepares.
 */
export async function bulkInsertRuns(
  databaseUrl: string,
  task: { id: string; namespace: string; name: string },
  ids: readonly string[],
  at: number,
  now: number,
): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = ids.slice(i, i + 10_000);
      await c.query(
        'INSERT INTO runs (id, namespace, task_id, task_name, status, attempt, trigger, scheduled_for, priority, idempotency_key, ' +
          "created_at, updated_at, created_by, updated_by) SELECT id, $2, $3, $4, 'scheduled', 1, 'api', $5, 0, id, $6, $6, 'bench', 'bench' " +
          'FROM unnest($1::text[]) AS id',
        [chunk, task.namespace, task.id, task.name, at, now],
      );
    }
  } finally {
    await c.end();
  }
}
