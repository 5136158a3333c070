// Throwaway PostgreSQL databases for tests, on the local server (127.0.0.1:5432, user postgres,
// trust auth; SUNDIAL_TEST_PG_URL points elsewhere). The server is started when it is down.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import pg from 'pg';

/** The maintenance database of the test server. */
const ADMIN_URL = process.env.SUNDIAL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database made for one test file. */
export interface TestDatabase {
  /** Its connection string. */
  url: string;
  /** Its name. */
  name: string;
  /** Ends its connections and drops it. */
  drop(): Promise<void>;
}

let started = false;

/** Connects to the maintenance database, starting the local cluster once if nothing listens. */
async function admin(): Promise<pg.Client> {
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: ADMIN_URL, application_name: 'sundial-tests' });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      const code = (err as { code?: string }).code;
      const down = code === 'ECONNREFUSED' || code === '57P03' || (err instanceof AggregateError && err.errors.some((e) => (e as { code?: string }).code === 'ECONNREFUSED'));
      if (!down || attempt >= 50) throw err;
      if (!started) {
        started = true;
        startCluster();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Starts the local cluster (the newest version found in /etc/postgresql). */
function startCluster(): void {
  let version = '15';
  try {
    version = readdirSync('/etc/postgresql').sort((a, b) => Number(b) - Number(a))[0] ?? version;
  } catch {
    // no Debian cluster layout: try the default
  }
  try {
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
  } catch {
    // Already starting (another test file raced us) or not startable: the retries decide.
  }
}

/** Drops databases with this prefix left behind by test processes that no longer exist. */
async function dropLeftovers(client: pg.Client, prefix: string): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}\\_%`]);
  for (const { datname } of rows) {
    const pid = Number(datname.slice(prefix.length + 1).split('_')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Creates an empty database named `<prefix>_<pid>_<random>`. */
export async function createTestDatabase(prefix = 'sundial_test'): Promise<TestDatabase> {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const name = `${safe}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const client = await admin();
  try {
    await dropLeftovers(client, safe);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = await admin();
      try {
        // FORCE ends the connections still open to it (a store a failed test did not close).
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
