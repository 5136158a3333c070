// ctx.fetch in the script sandbox: the same outbound guard as `http` tasks. The only server is
// on 127.0.0.1; private and metadata addresses are IP literals, refused before any connection
// (these tests never send a packet beyond loopback).

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../../src/core/clock.js';
import { EventBus } from '../../../src/core/events.js';
import type { RunJob, RunOutcome } from '../../../src/executor/executor.js';
import { ScriptPool, type ScriptPoolOptions } from '../../../src/executor/script/script-pool.js';
import { assertNoRouteOut } from '../../helpers/netns.js';

// Run by npm test in a network namespace with no route out: a broken guard cannot leak a packet.
before(assertNoRouteOut);

let seq = 0;
function scriptJob(code: string, payload: unknown = null): RunJob {
  const n = ++seq;
  return {
    runId: `frun-${n}`,
    taskId: 'task-f',
    taskName: 'fetch-fixture',
    namespace: 'default',
    attempt: 1,
    scheduledFor: Date.UTC(2026, 0, 1),
    idempotencyKey: `task-f:${n}`,
    kind: 'script',
    spec: { code },
    payload,
    timeoutMs: 10_000,
  };
}

function newPool(over: Partial<ScriptPoolOptions> = {}): ScriptPool {
  return new ScriptPool({
    workers: 1,
    memoryMaxBytes: 128 * 1024 * 1024,
    logMaxBytes: 4096,
    resultMaxBytes: 256 * 1024,
    fetchMaxBytes: 64 * 1024,
    outboundAllow: [],
    clock: systemClock,
    bus: new EventBus(),
    onLogs: () => {},
    onChildOutput: () => {},
    ...over,
  });
}

/** A script that fetches `url` with `init` and returns what happened, never throwing. */
function probe(url: string, init = 'undefined'): string {
  return `export default async (ctx) => {
    try {
      const r = await ctx.fetch(${JSON.stringify(url)}, ${init});
      const body = await r.text();
      return { status: r.status, ok: r.ok, statusText: r.statusText, url: r.url, redirected: r.redirected, type: r.headers.get('Content-Type'), body };
    } catch (e) {
      return { error: e.name, code: e.code ?? null, message: e.message };
    }
  }`;
}

function result(o: RunOutcome): Record<string, unknown> {
  assert.equal(o.status, 'succeeded', JSON.stringify(o.error));
  return o.result as Record<string, unknown>;
}

describe('script fetch', () => {
  let server: Server;
  let base: string;
  let hits = 0;
  const seen: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      hits++;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/json') {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ hello: 'world', echo: body }));
        } else if (req.url === '/big') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('z'.repeat(200 * 1024));
        } else if (req.url === '/redirect-private') {
          res.writeHead(302, { location: 'http://10.0.0.1/internal' });
          res.end();
        } else if (req.url === '/redirect-local') {
          res.writeHead(303, { location: '/json' });
          res.end();
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 5000);
        } else {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`hi from ${req.url}`);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  describe('with no allow-list', () => {
    const pool = newPool();
    after(() => pool.close(1000));

    it('refuses loopback: the script sees an outbound_blocked error it can catch', async () => {
      const before = hits;
      const r = result(await pool.run(scriptJob(probe(`${base}/x`))));
      assert.equal(r.error, 'OutboundBlockedError');
      assert.equal(r.code, 'outbound_blocked');
      assert.match(String(r.message), /^outbound_blocked: refused to connect to 127\.0\.0\.1 \(loopback\)/);
      assert.equal(hits, before);
    });

    it('refuses metadata and private IP literals before any connection', async () => {
      for (const [url, category] of [
        ['http://169.254.169.254/latest/meta-data/', 'metadata'],
        ['http://10.0.0.1/', 'private'],
        ['http://[::ffff:10.0.0.1]/', 'private'],
        ['http://metadata.google.internal/', 'a cloud metadata service'],
      ] as const) {
        const started = performance.now();
        const r = result(await pool.run(scriptJob(probe(url))));
        assert.equal(r.code, 'outbound_blocked', url);
        assert.match(String(r.message), new RegExp(category.replace(/[()]/g, '\\$&')), url);
        assert.ok(performance.now() - started < 2000);
      }
    });

    it('an uncaught refusal fails the run script_threw', async () => {
      const o = await pool.run(scriptJob(`export default async (ctx) => (await ctx.fetch('http://169.254.169.254/')).status`));
      assert.equal(o.status, 'failed');
      assert.equal(o.error!.code, 'script_threw');
      assert.match(o.error!.message, /outbound_blocked/);
      assert.equal((o.error!.detail as { name: string }).name, 'OutboundBlockedError');
    });

    it('rejects other schemes and bad requests inside the script', async () => {
      assert.match(String(result(await pool.run(scriptJob(probe('file:///etc/passwd')))).message), /file: URLs are not supported/);
      assert.match(String(result(await pool.run(scriptJob(probe('not a url')))).message), /invalid URL/);
      assert.match(String(result(await pool.run(scriptJob(probe(`${base}/`, "{ method: 'GET', body: 'x' }")))).message), /cannot have a body/);
      assert.match(String(result(await pool.run(scriptJob(probe(`${base}/`, "{ method: 'POST', body: new Uint8Array(2) }")))).message), /only string bodies/);
    });
  });

  describe('with 127.0.0.1 allow-listed', () => {
    const pool = newPool({ outboundAllow: ['127.0.0.1'] });
    after(() => pool.close(1000));

    it('fetches, with method, headers and body, and returns status, headers and body', async () => {
      const o = await pool.run(
        scriptJob(`export default async (ctx) => {
          const r = await ctx.fetch('${base}/json', { method: 'post', headers: { 'X-Test': 'yes', 'content-type': 'text/plain' }, body: 'ping' });
          return { status: r.status, ok: r.ok, statusText: r.statusText, type: r.headers.get('content-type'), has: r.headers.has('X-MISSING'), data: await r.json(), used: r.bodyUsed };
        }`),
      );
      assert.deepEqual(result(o), { status: 201, ok: true, statusText: 'Created', type: 'application/json', has: false, data: { hello: 'world', echo: 'ping' }, used: true });
      const req = seen.at(-1)!;
      assert.equal(req.method, 'POST');
      assert.equal(req.headers['x-test'], 'yes');
      assert.equal(req.body, 'ping');
    });

    it('a text body comes back whole', async () => {
      const r = result(await pool.run(scriptJob(probe(`${base}/hello`))));
      assert.deepEqual(r, { status: 200, ok: true, statusText: 'OK', url: `${base}/hello`, redirected: false, type: 'text/plain; charset=utf-8', body: 'hi from /hello' });
    });

    it('follows a local redirect, but checks every hop: a redirect to a private address is refused', async () => {
      const local = result(await pool.run(scriptJob(probe(`${base}/redirect-local`))));
      assert.equal(local.status, 201);
      assert.equal(local.redirected, true);
      assert.equal(local.url, `${base}/json`);
      const priv = result(await pool.run(scriptJob(probe(`${base}/redirect-private`))));
      assert.equal(priv.code, 'outbound_blocked');
      assert.match(String(priv.message), /10\.0\.0\.1 \(private\)/);
      const manual = result(await pool.run(scriptJob(probe(`${base}/redirect-private`, "{ redirect: 'manual' }"))));
      assert.equal(manual.status, 302);
    });

    it('a body over fetchMaxBytes rejects with a clear error', async () => {
      const r = result(await pool.run(scriptJob(probe(`${base}/big`))));
      assert.equal(r.error, 'Error');
      assert.equal(r.code, 'body_too_large');
      assert.match(String(r.message), /larger than 65536 bytes/);
    });

    it('runs fetches concurrently (at most 6 at a time), and the run’s timeout aborts them', async () => {
      const many = await pool.run(
        scriptJob(`export default async (ctx) => {
          const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => ctx.fetch('${base}/n' + i).then((r) => r.text())));
          return rs;
        }`),
      );
      assert.deepEqual(result(many), Array.from({ length: 10 }, (_, i) => `hi from /n${i}`));
      const started = performance.now();
      const slow = await pool.run({ ...scriptJob(`export default async (ctx) => (await ctx.fetch('${base}/slow')).text()`), timeoutMs: 500 });
      assert.equal(slow.status, 'timed_out');
      assert.ok(performance.now() - started < 1500);
    });
  });
});
