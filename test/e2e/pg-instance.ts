// A private PostgreSQL 15 server for tests that stop, restart or kill the database: the machine's
// shared server (127.0.0.1:5432) serves other test files in parallel and must never be touched.
//
// initdb into a temporary directory (trust auth, no fsync), then `postgres` on a free port of
// 127.0.0.1 as a child of the test process, in its own process group (so kill() takes the
// backends with the postmaster), run as the `postgres` OS user (PostgreSQL refuses root). The
// port stays the same across stop()/start(), so a URL handed to a node keeps working.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';

const BIN = process.env.SUNDIAL_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';

export interface PgInstance {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** The server's log lines so far (every start). */
  readonly log: readonly string[];
  /** When the server last logged "ready to accept connections" (epoch ms), or null while down. */
  readonly readyAt: number | null;
  /** True while the postmaster runs. */
  readonly running: boolean;
  /** URL of database `name` on this server. */
  urlFor(name: string): string;
  /** Creates database `name` (if missing) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Starts the server (no-op while it runs); resolves once it accepts connections. */
  start(): Promise<void>;
  /** `immediate`: SIGQUIT (no checkpoint, crash recovery at the next start); `fast`: SIGINT. No-op while down. */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** SIGKILL to the postmaster and every backend. No-op while down. */
  kill(): Promise<void>;
  /** Kills the server (if running) and removes its directory. Idempotent. */
  cleanup(): Promise<void>;
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs `argv` as the postgres OS user (exec'd in place: the child's pid is the program's), with
 * SIGQUIT (PostgreSQL's immediate shutdown, which takes the backends along) as its parent-death
 * signal: a test process killed by a signal runs no exit hook, and its server must not outlive it.
 */
function asPostgres(argv: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return ['setpriv', ['--pdeathsig', 'SIGQUIT', '--', ...argv]];
  return ['setpriv', ['--reuid', OS_USER, '--regid', OS_USER, '--init-groups', '--pdeathsig', 'SIGQUIT', '--', ...argv]];
}

/** Every private instance of this process, killed when it exits whatever happens. */
const live = new Set<{ killNow(): void }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const i of live) i.killNow();
  });
}

/** initdb a fresh cluster into a temp dir; the server is not started (call start()). */
export async function createPgInstance(opts: { settings?: Record<string, string> } = {}): Promise<PgInstance> {
  installExitHook();
  removeLeftovers();
  const dir = mkdtempSync(join(tmpdir(), `sundial-pg-${process.pid}-`));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const { uid, gid } = osUser(OS_USER);
    chownSync(dir, uid, gid);
  }
  const [cmd, args] = asPostgres([join(BIN, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  const init = spawnSync(cmd, args, { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.stdout || init.error?.message}`);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    // No fsync: a killed server loses nothing (its writes are in the OS already), only a crash
    // of the machine would. synchronous_commit stays on: with it off, a COMMIT answers before
    // its WAL is written, and `stop('immediate')` would lose commits a client saw succeed.
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '32MB',
    logging_collector: 'off',
    log_min_messages: 'warning',
    ...opts.settings,
  };
  const log: string[] = [];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let readyAt: number | null = null;
  let cleaned = false;

  const killNow = (): void => {
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const handle = { killNow };
  live.add(handle);

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const inst: PgInstance = {
    url,
    port,
    log,
    get readyAt() {
      return readyAt;
    },
    get running() {
      return child !== null;
    },
    urlFor: (name) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await c.end();
      }
      return inst.urlFor(name);
    },
    async start() {
      if (cleaned) throw new Error('this PostgreSQL instance was cleaned up');
      if (child !== null) return;
      const argv = [join(BIN, 'postgres'), '-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
      const [c, a] = asPostgres(argv);
      const proc = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child = proc;
      readyAt = null;
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      void exited.then(() => {
        if (child === proc) {
          child = null;
          readyAt = null;
        }
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`PostgreSQL did not become ready in 15 s:\n${log.slice(-20).join('\n')}`)), 15_000);
        const onLine = (line: string): void => {
          log.push(line);
          if (readyAt === null && line.includes('ready to accept connections')) {
            readyAt = Date.now();
            clearTimeout(timer);
            resolve();
          }
        };
        createInterface({ input: proc.stdout! }).on('line', onLine);
        createInterface({ input: proc.stderr! }).on('line', onLine);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`PostgreSQL exited before it was ready:\n${log.slice(-20).join('\n')}`));
        });
      });
    },
    async stop(mode = 'fast') {
      const proc = child;
      if (proc?.pid === undefined) return;
      proc.kill(mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        killNow();
        await exited;
      }
      // Backends leave with the postmaster; make sure nothing of it lingers in its group.
      killGroup(proc.pid);
    },
    async kill() {
      const proc = child;
      if (proc?.pid === undefined) return;
      killNow();
      await exited;
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      const pid = child?.pid;
      killNow();
      await Promise.race([exited, sleep(5000)]);
      if (pid !== undefined) killGroup(pid);
      live.delete(handle);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return inst;
}

/**
 * Removes the directories of instances whose test process is gone (one killed by a signal runs
 * no exit hook; its server went with it, by its parent-death signal, but its files stay).
 */
function removeLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = /^sundial-pg-(\d+)-/.exec(name);
    if (m === null || alive(Number(m[1]))) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILL to a process group, ignoring "no such process". */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone
  }
}

function osUser(name: string): { uid: number; gid: number } {
  const out = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const outG = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (out.status !== 0 || outG.status !== 0) throw new Error(`no OS user ${name}: PostgreSQL cannot run as root`);
  return { uid: Number(out.stdout.trim()), gid: Number(outG.stdout.trim()) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A fresh database on an existing server (e.g. the shared one), dropped again by `drop`. */
export interface TempDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates database `sundial_<prefix>_<random>` on the server of `adminUrl`. */
export async function createTempDatabase(adminUrl: string, prefix: string): Promise<TempDatabase> {
  const name = `sundial_${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  let dropped = false;
  return {
    url: u.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
