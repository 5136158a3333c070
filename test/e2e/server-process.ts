// Starts real `sundial serve` processes for end-to-end tests: real HTTP, real SQLite files,
// real signals (SIGTERM, SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('../../', import.meta.url).pathname;
export const ADMIN_TOKEN = 'sdl_e2e-admin-token-0123456789abcdefghijklmnopqrstuv';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every stdout/stderr line so far. */
  output: string[];
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A fresh data dir and a tasks dir holding the given module files. */
export function makeDirs(modules: Record<string, string> = {}): { dataDir: string; tasksDir: string } {
  const base = mkdtempSync(join(tmpdir(), 'sundial-e2e-'));
  const dataDir = join(base, 'data');
  const tasksDir = join(base, 'tasks');
  mkdirSync(tasksDir, { recursive: true });
  for (const [name, code] of Object.entries(modules)) writeFileSync(join(tasksDir, name), code);
  return { dataDir, tasksDir };
}

/** Spawns `sundial serve` and resolves once it listens (or rejects with its output if it exits). */
export function startServerProcess(opts: {
  dataDir: string;
  tasksDir: string;
  env?: Record<string, string>;
  /** Called at once with the spawned process, so a caller can stop one that never listens. */
  onSpawn?: (child: ChildProcess, exited: ServerProcess['exited']) => void;
}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      SUNDIAL_PORT: '0',
      SUNDIAL_DATA_DIR: opts.dataDir,
      SUNDIAL_TASKS_DIR: opts.tasksDir,
      SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN,
      SUNDIAL_WORKERS: '1',
      SUNDIAL_POLL_INTERVAL: '100ms',
      SUNDIAL_LOG_LEVEL: 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  opts.onSpawn?.(child, exited);
  return new Promise((resolve, reject) => {
    let settled = false;
    const onLine = (line: string): void => {
      output.push(line);
      if (settled || !line.includes('sundial is listening')) return;
      const address = (JSON.parse(line) as { address: string }).address;
      settled = true;
      resolve(makeHandle(address, child, output, exited));
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((e) => {
      if (!settled) {
        settled = true;
        reject(new Error(`server exited (${e.code ?? e.signal}) before listening:\n${output.join('\n')}`));
      }
    });
  });
}

function makeHandle(
  url: string,
  child: ChildProcess,
  output: string[],
  exited: ServerProcess['exited'],
): ServerProcess {
  return {
    url,
    child,
    output,
    exited,
    async api<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
    },
    kill(signal) {
      child.kill(signal);
      return exited;
    },
  };
}

/** Polls `fn` until it returns a truthy value (end-to-end state lives in another process). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
