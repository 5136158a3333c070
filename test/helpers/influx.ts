// Real time-series servers for the InfluxDB sink's tests, started as children of the test process
// on free loopback ports with their data in a temporary directory, and killed at the end (or with
// the test process: setpriv's parent-death signal): InfluxDB 1.x (`influxd`, queried back with
// InfluxQL) and VictoriaMetrics (`victoria-metrics`, which takes InfluxDB's /api/v2/write).
// scripts/install-influx.sh installs both from Debian (npm test runs it first).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

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

/** The binary's path, or an error that says how to install it. */
function binary(name: string, envVar: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const found = spawnSync('sh', ['-c', `command -v ${name} || { [ -x /usr/bin/${name} ] && echo /usr/bin/${name}; }`], { encoding: 'utf8' }).stdout.trim();
  if (found === '') throw new Error(`${name} is not installed: run scripts/install-influx.sh as root (Debian: apt-get install influxdb victoria-metrics)`);
  return found;
}

interface Child {
  child: ChildProcess;
  log: string[];
  exited: Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

/** Starts `argv` with a parent-death signal, collecting its output. */
function startChild(argv: string[]): Child {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const log: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => log.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => log.push(l));
  const exited = new Promise<void>((resolve) =>
    child.on('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  return { child, log, exited };
}

/** Polls `url` until it answers `status`, or fails with the server's log. */
async function waitFor(url: string, status: number, c: Child, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void c.exited.then(() => (dead = true));
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === status) return;
    } catch {
      // not listening yet
    }
    if (dead || Date.now() > deadline) {
      c.child.kill('SIGKILL');
      throw new Error(`${what} did not start${dead ? ' (it exited)' : ''}:\n${c.log.slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(c: Child, dir: string): Promise<void> {
  if (c.child.exitCode === null && c.child.signalCode === null) {
    c.child.kill('SIGKILL');
    await c.exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

/** One series of an InfluxQL answer. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxdServer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  log: readonly string[];
  /** Runs InfluxQL (times as RFC 3339 strings, nanoseconds kept); throws on an error. */
  query(q: string, db?: string): Promise<InfluxSeries[]>;
  /** `query`, each row as an object keyed by column. */
  rows(q: string, db?: string): Promise<Record<string, unknown>[]>;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts InfluxDB 1.x on loopback ports, data in a temp dir, reporting off, only the HTTP API listening on a public interface. */
export async function startInfluxd(): Promise<InfluxdServer> {
  const bin = binary('influxd', 'SUNDIAL_TEST_INFLUXD');
  const dir = mkdtempSync(join(tmpdir(), 'sundial-influxd-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const config = join(dir, 'influxdb.conf');
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      // The backup/restore RPC service cannot be turned off; it listens on loopback only.
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      '  enabled = true',
      `  bind-address = "127.0.0.1:${httpPort}"`,
      '  log-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '[subscriber]',
      '  enabled = false',
      '[logging]',
      '  level = "warn"',
      '',
    ].join('\n'),
  );
  const c = startChild([bin, 'run', '-config', config]);
  const url = `http://127.0.0.1:${httpPort}`;
  await waitFor(`${url}/ping`, 204, c, 'influxd');
  const query = async (q: string, db?: string): Promise<InfluxSeries[]> => {
    const params = new URLSearchParams({ q });
    if (db !== undefined) params.set('db', db);
    const res = await fetch(`${url}/query`, { method: 'POST', body: params });
    const body = (await res.json()) as { error?: string; results?: { error?: string; series?: InfluxSeries[] }[] };
    const err = body.error ?? body.results?.find((r) => r.error)?.error;
    if (!res.ok || err) throw new Error(`InfluxQL ${q}: ${res.status} ${err ?? ''}`);
    return body.results?.flatMap((r) => r.series ?? []) ?? [];
  };
  return {
    url,
    log: c.log,
    query,
    async rows(q, db) {
      return (await query(q, db)).flatMap((s) => s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((col, i) => [col, v[i]])) })));
    },
    async createDatabase(name) {
      await query(`CREATE DATABASE "${name.replace(/"/g, '\\"')}"`);
    },
    stop: () => stopChild(c, dir),
  };
}

/** One series of VictoriaMetrics' /api/v1/export. */
export interface VmSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaServer {
  url: string;
  log: readonly string[];
  /** Makes what was written searchable at once. */
  flush(): Promise<void>;
  /** Every series matching the selector, e.g. `{__name__=~"task_schedule_.*"}`. */
  export(match: string): Promise<VmSeries[]>;
  stop(): Promise<void>;
}

/** Starts VictoriaMetrics (single node) on a loopback port with its storage in a temp dir. */
export async function startVictoriaMetrics(): Promise<VictoriaServer> {
  const bin = binary('victoria-metrics', 'SUNDIAL_TEST_VICTORIA_METRICS');
  const dir = mkdtempSync(join(tmpdir(), 'sundial-vm-'));
  const port = await freePort();
  const c = startChild([
    bin,
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${join(dir, 'data')}`,
    '-search.disableCache',
    '-loggerLevel=ERROR',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/health`, 200, c, 'victoria-metrics');
  return {
    url,
    log: c.log,
    async flush() {
      const res = await fetch(`${url}/internal/force_flush`);
      await res.arrayBuffer();
    },
    async export(match) {
      const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match, start: '0' }).toString()}`);
      const text = await res.text();
      if (!res.ok) throw new Error(`export ${match}: ${res.status} ${text}`);
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as VmSeries);
    },
    stop: () => stopChild(c, dir),
  };
}
