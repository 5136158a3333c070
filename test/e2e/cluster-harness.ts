// A Sundial cluster of real `sundial serve` processes on one fresh PostgreSQL database, for
// end-to-end tests: start nodes with ids and roles, call any of them, kill -9 or SIGTERM one,
// start it again with the same id, follow server-sent events; `close()` stops every process
// this harness started and drops the database, whatever state the test left them in.
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { ADMIN_TOKEN, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

export { ADMIN_TOKEN, eventually } from './server-process.js';
export type { TestDatabase };

const ROOT = new URL('../../', import.meta.url).pathname;

// ---- HTTP ----

export interface ApiResponse<T> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** One request to a node; JSON bodies (problem+json too) are parsed, anything else left as text. */
export async function request<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  const json = /json/.test(res.headers.get('content-type') ?? '') && text !== '';
  return { status: res.status, body: (json ? JSON.parse(text) : text) as T, text, headers: res.headers };
}

// ---- nodes ----

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface NodeSpec {
  id: string;
  /** SUNDIAL_ROLES, e.g. 'api' or 'executor,scheduler' (default: all three). */
  roles?: string;
  env?: Record<string, string>;
}

/** One node id of the cluster: its current process, replaced by `restart()`. */
export class ClusterNode {
  #proc: ServerProcess;

  constructor(
    readonly cluster: Cluster,
    readonly spec: NodeSpec,
    proc: ServerProcess,
    /** Its SUNDIAL_DATA_DIR, kept across restarts. */
    readonly dataDir: string,
  ) {
    this.#proc = proc;
  }

  get id(): string {
    return this.spec.id;
  }

  /** True while its current process runs. */
  get alive(): boolean {
    return this.#proc.child.exitCode === null && this.#proc.child.signalCode === null;
  }

  /** Its current process. */
  get proc(): ServerProcess {
    return this.#proc;
  }

  get url(): string {
    return this.proc.url;
  }

  /** Every line the current process printed so far. */
  get output(): string[] {
    return this.#proc.output;
  }

  api<T = unknown>(method: string, path: string, body?: unknown, token?: string | null): Promise<ApiResponse<T>> {
    return request<T>(this.url, method, path, { body, token });
  }

  /** kill -9: no drain, no deregistration, leases left to lapse. */
  kill9(): Promise<Exit> {
    return this.proc.kill('SIGKILL');
  }

  /** SIGTERM: drains and deregisters; resolves with the exit. */
  term(): Promise<Exit> {
    return this.proc.kill('SIGTERM');
  }

  /** Takes a process started for this node id elsewhere (e.g. by `Cluster.tryStart`) as its current one. */
  adopt(proc: ServerProcess): void {
    if (this.alive) throw new Error(`node ${this.id} is still running`);
    this.#proc = proc;
  }

  /** Starts this node id again (same roles, env and data directory); the old process must be gone. */
  async restart(): Promise<void> {
    if (this.alive) throw new Error(`node ${this.id} is still running`);
    this.#proc = await this.cluster.spawn(this.spec, this.dataDir);
  }
}

export interface ClusterOptions {
  /** Names the database and the temp folders. */
  prefix: string;
  /** Module files in the tasks directory every node shares. */
  modules?: Record<string, string>;
  /** SUNDIAL_LEASE of every node (default 3s: a dead node's runs are taken over in seconds). */
  lease?: string;
  /** SUNDIAL_POLL_INTERVAL of every node (default 100ms). */
  pollInterval?: string;
  /** More environment for every node. */
  env?: Record<string, string>;
}

/** Nodes sharing one database and one tasks directory. */
export class Cluster {
  readonly nodes = new Map<string, ClusterNode>();
  /** Every process started, including refused and replaced ones, so close() misses none. */
  readonly #procs = new Set<Spawned>();
  readonly #dirs: string[] = [];
  #closed = false;

  private constructor(
    readonly db: TestDatabase,
    readonly tasksDir: string,
    readonly opts: ClusterOptions,
  ) {}

  /** A fresh database and tasks directory; no node runs yet. */
  static async create(opts: ClusterOptions): Promise<Cluster> {
    const db = await createTestDatabase(`sundial_e2e_${opts.prefix}`);
    const { tasksDir } = makeDirs(opts.modules ?? {});
    const cluster = new Cluster(db, tasksDir, opts);
    cluster.#dirs.push(join(tasksDir, '..'));
    liveClusters.add(cluster);
    return cluster;
  }

  get leaseMs(): number {
    return parseDurationMs(this.opts.lease ?? '3s');
  }

  /** The environment a node of this cluster starts with. */
  envFor(spec: NodeSpec): Record<string, string> {
    return {
      SUNDIAL_DATABASE_URL: this.db.url,
      SUNDIAL_NODE_ID: spec.id,
      // Module workers get only the variables named in SUNDIAL_MODULE_ENV (never SUNDIAL_*):
      // test modules that log which node ran them read this one.
      TEST_NODE_ID: spec.id,
      SUNDIAL_MODULE_ENV: 'TEST_NODE_ID',
      SUNDIAL_ROLES: spec.roles ?? 'api,scheduler,executor',
      SUNDIAL_LEASE: this.opts.lease ?? '3s',
      SUNDIAL_POLL_INTERVAL: this.opts.pollInterval ?? '100ms',
      // Test files share one PostgreSQL (max_connections 100) and run in parallel: a node here
      // needs few connections, and eight nodes at the default 10 (+1) would take most of them.
      SUNDIAL_DATABASE_POOL_SIZE: '4',
      ...this.opts.env,
      ...spec.env,
    };
  }

  /** Starts a node and resolves once it listens (rejects with its output if it exits first). */
  async start(spec: NodeSpec): Promise<ClusterNode> {
    if (this.nodes.get(spec.id)?.alive) throw new Error(`node ${spec.id} already runs in this harness`);
    const dataDir = this.#newDataDir();
    const proc = await this.spawn(spec, dataDir);
    const node = new ClusterNode(this, spec, proc, dataDir);
    this.nodes.set(spec.id, node);
    return node;
  }

  /** Starts several nodes at once (they migrate the schema one at a time among themselves). */
  startAll(specs: NodeSpec[]): Promise<ClusterNode[]> {
    return Promise.all(specs.map((s) => this.start(s)));
  }

  /**
   * Starts a process that is expected to be refused: resolves with its exit code and output once
   * it exits, or with the running node (not added to `nodes`) if it did start after all.
   */
  async tryStart(spec: NodeSpec): Promise<{ refused: true; exit: Exit; output: string } | { refused: false; proc: ServerProcess }> {
    let spawned: Spawned | undefined;
    try {
      const proc = await this.spawn(spec, this.#newDataDir(), (s) => (spawned = s));
      return { refused: false, proc };
    } catch (err) {
      const exit = spawned ? await spawned.exited : { code: null, signal: null };
      return { refused: true, exit, output: (err as Error).message };
    }
  }

  /** Spawns a process for `spec` (internal to the harness; tests call start or restart). */
  spawn(spec: NodeSpec, dataDir: string, onSpawn?: (s: Spawned) => void): Promise<ServerProcess> {
    if (this.#closed) return Promise.reject(new Error('cluster is closed'));
    return startServerProcess({
      dataDir,
      tasksDir: this.tasksDir,
      env: this.envFor(spec),
      onSpawn: (child, exited) => {
        const s: Spawned = { id: spec.id, child, exited, log: [] };
        child.stdout?.on('data', (chunk: Buffer) => s.log.push(chunk));
        child.stderr?.on('data', (chunk: Buffer) => s.log.push(chunk));
        this.#procs.add(s);
        onSpawn?.(s);
      },
    });
  }

  node(id: string): ClusterNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Live nodes, in start order. */
  get live(): ClusterNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  /**
   * Stops every process (SIGTERM, then SIGKILL after `graceMs`), drops the database and deletes
   * the temp folders. Safe to call twice and after a failed start.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    liveClusters.delete(this);
    await Promise.all([...this.#procs].map((p) => stopProcess(p, graceMs)));
    this.#keepLogs();
    try {
      await this.db.drop();
    } finally {
      for (const d of this.#dirs) rmSync(d, { recursive: true, force: true });
    }
  }

  /**
   * Writes what every process printed to test-results/cluster-e2e/<prefix>-<node id>[-<n>].log
   * (the newest run of the suite wins), since the processes and their database are gone after close.
   */
  #keepLogs(): void {
    const dir = join(ROOT, 'test-results', 'cluster-e2e');
    mkdirSync(dir, { recursive: true });
    const seen = new Map<string, number>();
    for (const p of this.#procs) {
      const n = (seen.get(p.id) ?? 0) + 1;
      seen.set(p.id, n);
      writeFileSync(join(dir, `${this.opts.prefix}-${p.id}${n > 1 ? `-${n}` : ''}.log`), Buffer.concat(p.log));
    }
  }

  /** SIGKILLs every process at once (the test process is exiting; nothing can be awaited). */
  killAllNow(): void {
    for (const p of this.#procs) if (p.child.exitCode === null && p.child.signalCode === null) killQuietly(p.child);
  }

  #newDataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), `sundial-${this.opts.prefix}-`));
    this.#dirs.push(dir);
    return join(dir, 'data');
  }
}

/** A spawned process, whether or not it came to listen. */
interface Spawned {
  id: string;
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Everything it wrote (stdout and stderr), for the logs kept after close. */
  log: Buffer[];
}

async function stopProcess(p: Spawned, graceMs: number): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** Clusters not closed yet: their processes are killed if the test process exits anyway. */
const liveClusters = new Set<Cluster>();
process.once('exit', () => {
  for (const c of liveClusters) c.killAllNow();
});

function killQuietly(child: ChildProcess): void {
  try {
    child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

/** '3s', '250ms', '1m' → ms. */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`cannot parse duration ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

// ---- server-sent events ----

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
  /** Date.now() when it arrived. */
  at: number;
}

/** A server-sent event stream read in the background; events and comments are kept in order. */
export class SseStream {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Resolves when the server ends the stream (or it is closed here). */
  readonly ended: Promise<void>;
  readonly #abort: AbortController;
  #waiters: (() => void)[] = [];
  #done = false;

  private constructor(res: Response, abort: AbortController) {
    this.#abort = abort;
    this.ended = this.#read(res).finally(() => {
      this.#done = true;
      this.#notify();
    });
  }

  /** Opens `path` on `baseUrl`; resolves once the response headers (status 200) arrived. */
  static async open(baseUrl: string, path: string, token: string = ADMIN_TOKEN, headers: Record<string, string> = {}): Promise<SseStream> {
    const abort = new AbortController();
    const res = await fetch(baseUrl + path, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (res.status !== 200 || !/^text\/event-stream/.test(res.headers.get('content-type') ?? '')) {
      abort.abort();
      throw new Error(`${path}: ${res.status} ${res.headers.get('content-type')}`);
    }
    return new SseStream(res, abort);
  }

  get done(): boolean {
    return this.#done;
  }

  /** Resolves with the first event (seen so far or later) matching `pred`; rejects after `timeoutMs`. */
  async waitFor(pred: (e: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (this.#done) throw new Error('stream ended before the event arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`event not seen within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves once a comment line matching `pred` arrived (e.g. ': connected'). */
  async waitForComment(pred: (c: string) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.comments.some(pred)) {
      if (this.#done) throw new Error('stream ended before the comment arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`comment not seen within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#abort.abort();
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async #read(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let sep: number;
        while ((sep = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          this.#parse(block);
        }
        this.#notify();
      }
    } catch (err) {
      if (!this.#abort.signal.aborted) throw err;
    }
  }

  #parse(block: string): void {
    const ev: SseEvent = { event: 'message', data: '', at: Date.now() };
    let hasField = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
      else if (field === 'data') ev.data = ev.data === '' ? value : `${ev.data}\n${value}`;
      else continue;
      hasField = true;
    }
    if (hasField && (ev.data !== '' || ev.event !== 'message')) this.events.push(ev);
  }
}
