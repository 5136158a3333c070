// HTTP runner against local servers. Every target is loopback: the allowed one on 127.0.0.1,
// and the ones that must be refused on other loopback addresses, so even a broken guard could
// only ever reach this machine.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { HttpRunner, type HttpResult } from '../../src/executor/http-runner.js';
import type { BaseLookup } from '../../src/executor/outbound-guard.js';
import { VERSION } from '../../src/version.js';
import { httpJob } from './helpers.js';
import { assertNoRouteOut } from '../helpers/netns.js';

// Run by npm test in a network namespace with no route out: a broken guard cannot leak a packet.
before(assertNoRouteOut);

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A server that records every request and answers through `route`. */
async function startServer(host: string, route: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ server: Server; base: string; seen: Seen[] } | null> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      route(req, res, body);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
  } catch {
    return null;
  }
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://${host}:${port}`, seen };
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

describe('http runner', () => {
  const clock = new ManualClock('2026-05-01T00:00:00Z');
  let main: NonNullable<Awaited<ReturnType<typeof startServer>>>;
  let other: NonNullable<Awaited<ReturnType<typeof startServer>>>;
  let forbidden: Awaited<ReturnType<typeof startServer>>;
  let runner: HttpRunner;
  let small: HttpRunner;
  const open = new Set<ServerResponse>();

  before(async () => {
    main = (await startServer('127.0.0.1', (req, res, body) => {
      const u = new URL(req.url!, 'http://x');
      const p = u.pathname;
      if (p === '/ok') return json(res, 200, { hello: 'world' }, { etag: '"v1"', 'x-unrelated': 'dropped' });
      if (p === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('plain text');
      }
      if (p === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('z'.repeat(10_000));
      }
      if (p === '/big-json') return json(res, 200, { blob: 'q'.repeat(10_000) });
      if (p === '/deep-json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('['.repeat(5000) + ']'.repeat(5000));
      }
      if (p.startsWith('/status/')) return json(res, Number(p.slice(8)), { status: Number(p.slice(8)) });
      if (p === '/echo') return json(res, 200, { method: req.method, headers: req.headers, body });
      if (p === '/hang') {
        open.add(res);
        return;
      }
      if (p.startsWith('/hop/')) {
        const n = Number(p.slice(5));
        res.writeHead(302, { location: n > 0 ? `/hop/${n - 1}` : '/ok' });
        return res.end();
      }
      if (p === '/loop') {
        res.writeHead(302, { location: '/loop' });
        return res.end();
      }
      if (p === '/see-other') {
        res.writeHead(303, { location: '/echo' });
        return res.end();
      }
      if (p === '/to') {
        res.writeHead(307, { location: u.searchParams.get('url')! });
        return res.end();
      }
      json(res, 404, { error: 'no route' });
    }))!;
    other = (await startServer('127.0.0.1', (req, res) => json(res, 200, { headers: req.headers })))!;
    // The server no run may reach: a loopback address that is not allow-listed.
    forbidden = await startServer('127.0.0.2', (_req, res) => json(res, 200, { reached: true }));
    runner = new HttpRunner({ bodyExcerptBytes: 4096, outboundAllow: ['127.0.0.1'], clock });
    small = new HttpRunner({ bodyExcerptBytes: 100, outboundAllow: ['127.0.0.1'], clock });
  });

  after(async () => {
    for (const r of open) r.destroy();
    await runner.close(0);
    await small.close(0);
    await Promise.all([main, other, forbidden].map((s) => s && new Promise((r) => s.server.close(r))));
  });

  it('GET: status, picked headers and a parsed JSON body', async () => {
    const o = await runner.run(httpJob({ url: `${main.base}/ok` }));
    assert.equal(o.status, 'succeeded');
    const r = o.result as HttpResult;
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { hello: 'world' });
    assert.equal(r.bodyTruncated, false);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.etag, '"v1"');
    assert.equal(r.headers['x-unrelated'], undefined);
    assert.equal(o.finishedAt, clock.now());
    assert.equal(o.cpuMs, null);
  });

  it('sends the idempotency key, the user agent and the run headers', async () => {
    const job = httpJob({ url: `${main.base}/echo`, headers: { 'X-Custom': 'yes', 'idempotency-key': 'user-set' } });
    const o = await runner.run(job);
    const h = (o.result as HttpResult & { body: { headers: Record<string, string> } }).body.headers;
    assert.equal(h['idempotency-key'], job.idempotencyKey, 'Sundial’s key wins over one set in the spec');
    assert.equal(h['user-agent'], `sundial/${VERSION}`);
    assert.equal(h['x-sundial-run-id'], job.runId);
    assert.equal(h['x-sundial-attempt'], '2');
    assert.equal(h['x-custom'], 'yes');
  });

  it('bodies: objects go as JSON, strings as they are', async () => {
    const a = await runner.run(httpJob({ url: `${main.base}/echo`, method: 'POST', body: { n: 1 } }));
    const ab = (a.result as HttpResult).body as { method: string; headers: Record<string, string>; body: string };
    assert.equal(ab.method, 'POST');
    assert.equal(ab.headers['content-type'], 'application/json');
    assert.equal(ab.body, '{"n":1}');
    const s = await runner.run(httpJob({ url: `${main.base}/echo`, method: 'put', body: 'raw text', headers: { 'Content-Type': 'text/plain' } }));
    const sb = (s.result as HttpResult).body as { method: string; headers: Record<string, string>; body: string };
    assert.equal(sb.method, 'PUT');
    assert.equal(sb.body, 'raw text');
    assert.equal(sb.headers['content-type'], 'text/plain');
  });

  it('HEAD: status and headers, empty body', async () => {
    const o = await runner.run(httpJob({ url: `${main.base}/ok`, method: 'HEAD' }));
    assert.equal(o.status, 'succeeded');
    const r = o.result as HttpResult;
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.equal(r.headers['content-type'], 'application/json');
  });

  it('text bodies stay text; long bodies are cut to the excerpt and not parsed', async () => {
    assert.equal(((await runner.run(httpJob({ url: `${main.base}/text` }))).result as HttpResult).body, 'plain text');
    const big = (await small.run(httpJob({ url: `${main.base}/big` }))).result as HttpResult;
    assert.equal(big.body, 'z'.repeat(100));
    assert.equal(big.bodyTruncated, true);
    const bigJson = (await small.run(httpJob({ url: `${main.base}/big-json` }))).result as HttpResult;
    assert.equal(typeof bigJson.body, 'string');
    assert.equal((bigJson.body as string).length, 100);
    assert.equal(bigJson.bodyTruncated, true);
  });

  it('a status other than 2xx fails http_status, keeping the response as the result', async () => {
    const o = await runner.run(httpJob({ url: `${main.base}/status/503` }));
    assert.equal(o.status, 'failed');
    assert.equal(o.error?.code, 'http_status');
    assert.equal((o.error?.detail as { status: number }).status, 503);
    assert.deepEqual((o.result as HttpResult).body, { status: 503 });
  });

  it('expectStatus: a number or a list decides success', async () => {
    assert.equal((await runner.run(httpJob({ url: `${main.base}/status/404`, expectStatus: 404 }))).status, 'succeeded');
    assert.equal((await runner.run(httpJob({ url: `${main.base}/status/410`, expectStatus: [200, 410] }))).status, 'succeeded');
    const o = await runner.run(httpJob({ url: `${main.base}/status/200`, expectStatus: 201 }));
    assert.equal(o.error?.code, 'http_status');
  });

  it('times out at job.timeoutMs', async () => {
    const t0 = Date.now();
    const o = await runner.run(httpJob({ url: `${main.base}/hang` }, { timeoutMs: 150 }));
    assert.equal(o.status, 'timed_out');
    assert.equal(o.error?.code, 'timeout');
    assert.ok(Date.now() - t0 < 2000);
  });

  it('cancels a run in flight by its id', async () => {
    const job = httpJob({ url: `${main.base}/hang` });
    assert.equal(runner.cancel(job.runId), false, 'nothing to cancel before it runs');
    setTimeout(() => assert.equal(runner.cancel(job.runId), true), 50);
    const o = await runner.run(job);
    assert.equal(o.status, 'cancelled');
    assert.equal(o.error?.code, 'cancelled');
    assert.equal(runner.cancel(job.runId), false, 'nothing to cancel after it ended');
  });

  it('follows up to 5 redirects; a sixth fails http_too_many_redirects', async () => {
    const o = await runner.run(httpJob({ url: `${main.base}/hop/4` }));
    assert.equal(o.status, 'succeeded');
    assert.deepEqual((o.result as HttpResult).body, { hello: 'world' });
    const loop = await runner.run(httpJob({ url: `${main.base}/loop` }));
    assert.equal(loop.error?.code, 'http_too_many_redirects');
    const asked = await runner.run(httpJob({ url: `${main.base}/hop/0`, expectStatus: 302 }));
    assert.equal((asked.result as HttpResult).status, 302, 'an expected redirect is the answer');
  });

  it('303 turns a POST into a GET without body; only a safe list of headers follows to another origin', async () => {
    const o = await runner.run(httpJob({ url: `${main.base}/see-other`, method: 'POST', body: { x: 1 } }));
    const b = (o.result as HttpResult).body as { method: string; body: string };
    assert.equal(b.method, 'GET');
    assert.equal(b.body, '');
    const taskHeaders = { Authorization: 'Bearer secret', 'X-Api-Key': 'k', 'X-Auth-Token': 't', Cookie: 'c=1', 'X-Custom': '1', Accept: 'application/json', 'Content-Type': 'text/plain' };
    const cross = await runner.run(httpJob({ url: `${main.base}/to?url=${encodeURIComponent(`${other.base}/x`)}`, method: 'PUT', body: 'b', headers: taskHeaders }));
    const h = ((cross.result as HttpResult).body as { headers: Record<string, string> }).headers;
    // Issue 12: any header not on the safe list stays with the origin the task named.
    for (const dropped of ['authorization', 'x-api-key', 'x-auth-token', 'cookie', 'x-custom']) assert.equal(h[dropped], undefined, dropped);
    assert.equal(h.accept, 'application/json');
    assert.equal(h['content-type'], 'text/plain');
    assert.equal(h['user-agent'], `sundial/${VERSION}`);
    assert.ok(h['idempotency-key'] !== undefined && h['x-sundial-run-id'] !== undefined);
    // The same origin keeps everything.
    const same = await runner.run(httpJob({ url: `${main.base}/to?url=${encodeURIComponent(`${main.base}/echo`)}`, headers: taskHeaders }));
    const s = ((same.result as HttpResult).body as { headers: Record<string, string> }).headers;
    assert.equal(s.authorization, 'Bearer secret');
    assert.equal(s['x-api-key'], 'k');
    assert.equal(s['x-custom'], '1');
  });

  it('a JSON answer nested deeper than 64 levels is kept as text, not parsed (issue 12)', async () => {
    const deep = new HttpRunner({ bodyExcerptBytes: 20_000, outboundAllow: ['127.0.0.1'], clock });
    try {
      const o = await deep.run(httpJob({ url: `${main.base}/deep-json` }));
      assert.equal(o.status, 'succeeded');
      const body = (o.result as HttpResult).body;
      assert.equal(typeof body, 'string');
      assert.equal((body as string).length, 10_000);
      assert.doesNotThrow(() => JSON.stringify(o));
    } finally {
      await deep.close(0);
    }
  });

  it('a network error fails http_error with the cause’s code', async () => {
    const closed = await startServer('127.0.0.1', () => {});
    const url = `${closed!.base}/`;
    await new Promise((r) => closed!.server.close(r));
    const o = await runner.run(httpJob({ url }));
    assert.equal(o.status, 'failed');
    assert.equal(o.error?.code, 'http_error');
    assert.equal((o.error?.detail as { code: string }).code, 'ECONNREFUSED');
  });

  it('an invalid spec fails invalid_spec without sending', async () => {
    const before = main.seen.length;
    const o = await runner.run(httpJob({ url: `${main.base}/ok`, method: 'TRACE' }));
    assert.equal(o.error?.code, 'invalid_spec');
    assert.equal(main.seen.length, before);
  });

  describe('outbound guard, end to end', () => {
    it('a redirect to a loopback address that is not allow-listed is refused, and the target sees nothing', async (t) => {
      if (forbidden === null) return t.skip('cannot bind 127.0.0.2 here');
      const target = `${forbidden.base}/`;
      const o = await runner.run(httpJob({ url: `${main.base}/to?url=${encodeURIComponent(target)}` }));
      assert.equal(o.status, 'failed');
      assert.equal(o.error?.code, 'outbound_blocked');
      assert.match(o.error!.message, /127\.0\.0\.2/);
      assert.equal(forbidden.seen.length, 0);
    });

    it('a direct request to a refused literal is refused before connecting', async (t) => {
      if (forbidden === null) return t.skip('cannot bind 127.0.0.2 here');
      const o = await runner.run(httpJob({ url: `${forbidden.base}/direct` }));
      assert.equal(o.error?.code, 'outbound_blocked');
      assert.equal((o.error?.detail as { category: string }).category, 'loopback');
      assert.equal(forbidden.seen.length, 0);
    });

    it('http://localhost with nothing allow-listed is refused at lookup, and the server sees nothing', async () => {
      const strict = new HttpRunner({ bodyExcerptBytes: 100, outboundAllow: [], clock });
      const port = new URL(main.base).port;
      const before = main.seen.length;
      const o = await strict.run(httpJob({ url: `http://localhost:${port}/ok` }));
      await strict.close(0);
      assert.equal(o.error?.code, 'outbound_blocked');
      assert.match(o.error!.message, /127\.0\.0\.1|::1/);
      assert.equal(main.seen.length, before);
    });

    it('the check runs on the address the connection resolves (a rebinding name is caught at connect)', async () => {
      const rebinding: BaseLookup = (_host, _opts, cb) => process.nextTick(cb, null, [{ address: '127.0.0.1', family: 4 }]);
      const port = new URL(main.base).port;
      const before = main.seen.length;
      const strict = new HttpRunner({ bodyExcerptBytes: 100, outboundAllow: [], clock, baseLookup: rebinding });
      const refused = await strict.run(httpJob({ url: `http://public.example.test:${port}/ok` }));
      await strict.close(0);
      assert.equal(refused.error?.code, 'outbound_blocked');
      assert.equal(main.seen.length, before);
      // Same resolver, address allow-listed: the request goes through to the very address resolved.
      const lenient = new HttpRunner({ bodyExcerptBytes: 100, outboundAllow: ['127.0.0.1'], clock, baseLookup: rebinding });
      const through = await lenient.run(httpJob({ url: `http://public.example.test:${port}/ok` }));
      await lenient.close(0);
      assert.equal(through.status, 'succeeded');
      assert.equal(main.seen.length, before + 1);
    });

    it('a redirect to a non-http scheme is refused', async () => {
      const o = await runner.run(httpJob({ url: `${main.base}/to?url=${encodeURIComponent('file:///etc/passwd')}` }));
      assert.equal(o.error?.code, 'outbound_blocked');
    });
  });
});
