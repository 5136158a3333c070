// Test helpers for the CLI: a node:http stub of the Sundial API that records every request and
// answers from a route table, and a runner that spawns the CLI as a user would.

import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** One request the stub received. */
export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
}

/** A canned answer. `problem` is sent as application/problem+json. */
export interface Reply {
  status?: number;
  json?: unknown;
  problem?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

/** Answers for `METHOD /path` keys; a function answers depending on the request (or its count). */
export type Routes = Record<string, Reply | ((req: Recorded, n: number) => Reply)>;

/** A running stub. */
export interface Stub {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** Starts a stub API on 127.0.0.1 with a free port. Unknown routes get a 404 problem. */
export async function startStub(routes: Routes): Promise<Stub> {
  const requests: Recorded[] = [];
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://stub');
      const raw = Buffer.concat(chunks).toString('utf8');
      const rec: Recorded = {
        method: req.method ?? '',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        body: raw === '' ? undefined : (JSON.parse(raw) as unknown),
      };
      requests.push(rec);
      const key = `${rec.method} ${rec.path}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      const route = routes[key];
      const reply: Reply =
        route === undefined
          ? { status: 404, problem: { type: 'https://sundial.dev/problems/not_found', title: 'Not found', status: 404, detail: `no route ${key}` } }
          : typeof route === 'function'
            ? route(rec, n)
            : route;
      const headers: Record<string, string> = { ...reply.headers };
      let out = '';
      if (reply.problem !== undefined) {
        headers['content-type'] = 'application/problem+json';
        out = JSON.stringify(reply.problem);
      } else if (reply.json !== undefined) {
        headers['content-type'] = 'application/json; charset=utf-8';
        out = JSON.stringify(reply.json);
      } else if (reply.text !== undefined) {
        headers['content-type'] ??= 'text/plain';
        out = reply.text;
      }
      res.writeHead(reply.status ?? 200, headers);
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What a CLI process did. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `sundial <args>` (from source, through tsx) with a clean environment: no SUNDIAL_*
 * variables from the developer's shell, and TZ=UTC so printed local times are stable.
 */
export function runCli(args: readonly string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const env: Record<string, string> = { TZ: 'UTC' };
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('SUNDIAL_') && k !== 'TZ') env[k] = v;
  }
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
