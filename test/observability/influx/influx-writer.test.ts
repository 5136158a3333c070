// The writer against real HTTP servers on loopback that answer as InfluxDB does when it is well
// (204), busy (503, 429 with Retry-After), refusing (400) or stalled (accepts, never answers):
// batches by size and time, gzip, retries with backoff, drops counted, bounded shutdown.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { InfluxWriter, retryAfterMs, writeEndpoint, type InfluxTarget } from '../../../src/observability/influx/influx-writer.js';
import { sinkCounters } from '../../../src/observability/influx/sink-metrics.js';

interface Received {
  at: number;
  url: string;
  headers: IncomingMessage['headers'];
  lines: string[];
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A loopback HTTP server; `answer` decides each response (status, headers) or leaves it hanging (null). */
async function receiver(answer: (n: number) => { status: number; headers?: Record<string, string>; body?: string } | null): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      got.push({ at: Date.now(), url: req.url ?? '', headers: req.headers, lines: text.split('\n').filter((l) => l !== '') });
      const a = answer(got.length);
      if (a === null) return; // stalled: never answers
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const quiet = { info() {}, warn() {}, error() {} };

function writer(url: string, opts: Partial<ConstructorParameters<typeof InfluxWriter<string>>[0]> = {}) {
  const registry = new Registry();
  const counters = sinkCounters(registry, 'influxdb');
  const target: InfluxTarget = { url, database: 'sundial', bucket: '', org: '', token: '' };
  const w = new InfluxWriter<string>({
    target,
    batchSize: 3,
    flushIntervalMs: 50,
    maxBuffered: 1000,
    timeoutMs: 2000,
    encode: async (items) => items,
    sizeOf: (s) => s.length,
    counters,
    log: quiet,
    backoff: { initialMs: 20, maxMs: 100 },
    ...opts,
  });
  return { w, registry, counters };
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as { labels: Record<string, string>; value: number }[] | undefined)?.find((x) =>
    Object.entries(labels).every(([k, val]) => x.labels[k] === val),
  );
  return v?.value ?? 0;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('write endpoints', () => {
  it('InfluxDB 1.x: /write with db and ns precision; credentials in the URL become Basic auth', () => {
    const e = writeEndpoint({ url: 'http://user:p%40ss@127.0.0.1:8086/', database: 'my db', bucket: '', org: '', token: '' });
    assert.equal(e.api, 'v1');
    assert.equal(e.origin, 'http://127.0.0.1:8086');
    assert.equal(e.path, '/write?db=my+db&precision=ns');
    assert.equal(e.headers.authorization, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    assert.equal(e.headers['content-encoding'], 'gzip');
  });

  it('InfluxDB 2.x/3.x: /api/v2/write with org, bucket and a token; a path prefix and extra parameters are kept', () => {
    const e = writeEndpoint({ url: 'https://influx.example:8443/proxy?rp=week', database: 'sundial', bucket: 'runs', org: 'acme', token: 's3cret' });
    assert.equal(e.api, 'v2');
    assert.equal(e.path, '/proxy/api/v2/write?rp=week&org=acme&bucket=runs&precision=ns');
    assert.equal(e.headers.authorization, 'Token s3cret');
  });

  it('reads Retry-After in seconds or as a date, within bounds', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(undefined), 0);
    assert.equal(retryAfterMs('soon'), 0);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(retryAfterMs('86400'), 300_000);
  });
});

describe('the writer', () => {
  it('sends full batches at once and the rest after the flush interval, gzipped', async () => {
    const r = await receiver(() => ({ status: 204 }));
    const { w, registry } = writer(r.url);
    const t0 = Date.now();
    for (let i = 0; i < 7; i++) w.push(`m v=${i}i ${i}`);
    await until(() => r.got.length === 3);
    assert.deepEqual(r.got.map((g) => g.lines.length), [3, 3, 1]);
    assert.deepEqual(r.got.flatMap((g) => g.lines), Array.from({ length: 7 }, (_, i) => `m v=${i}i ${i}`));
    assert.ok(r.got[2]!.at - t0 >= 40, 'the last, partial batch waited for the interval');
    assert.equal(r.got[0]!.url, '/write?db=sundial&precision=ns');
    assert.equal(r.got[0]!.headers['content-encoding'], 'gzip');
    assert.equal(await metric(registry, 'sundial_sink_points_written_total', { sink: 'influxdb' }), 7);
    await w.close(1000);
  });

  it('retries 5xx and network failures with backoff until the batch is written, once', async () => {
    const r = await receiver((n) => (n <= 2 ? { status: 503, body: '{"error":"busy"}' } : { status: 204 }));
    const { w, registry } = writer(r.url);
    for (let i = 0; i < 3; i++) w.push(`m v=${i}i`);
    await until(() => r.got.length === 3);
    await w.flush();
    assert.deepEqual(r.got.map((g) => g.lines), [r.got[0]!.lines, r.got[0]!.lines, r.got[0]!.lines]);
    assert.equal(await metric(registry, 'sundial_sink_batches_failed_total', { reason: 'http_5xx' }), 2);
    assert.equal(await metric(registry, 'sundial_sink_points_written_total', { sink: 'influxdb' }), 3);
    await w.close(1000);
  });

  it('waits at least what Retry-After asks on 429', async () => {
    const r = await receiver((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 204 }));
    const { w } = writer(r.url);
    for (let i = 0; i < 3; i++) w.push(`m v=${i}i`);
    await until(() => r.got.length === 2, 5000);
    assert.ok(r.got[1]!.at - r.got[0]!.at >= 950, `retried after ${r.got[1]!.at - r.got[0]!.at} ms`);
    await w.close(1000);
  });

  it('drops a batch the server refuses with another 4xx, logs it, and goes on', async () => {
    const r = await receiver((n) => (n === 1 ? { status: 400, body: '{"error":"unable to parse"}' } : { status: 204 }));
    const errors: unknown[] = [];
    const { w, registry } = writer(r.url, { log: { ...quiet, error: (o) => errors.push(o) } });
    for (let i = 0; i < 6; i++) w.push(`m v=${i}i`);
    await until(() => r.got.length === 2);
    await w.flush();
    assert.equal(await metric(registry, 'sundial_sink_dropped_total', { reason: 'rejected' }), 3);
    assert.equal(await metric(registry, 'sundial_sink_points_written_total', { sink: 'influxdb' }), 3);
    assert.equal(errors.length, 1);
    assert.match(JSON.stringify(errors[0]), /unable to parse/);
    await w.close(1000);
  });

  it('against a stalled server: push never waits, the buffer stays bounded, drops are counted, shutdown is bounded', async () => {
    const r = await receiver(() => null);
    const { w, registry } = writer(r.url, { maxBuffered: 100, batchSize: 10, timeoutMs: 200 });
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) w.push(`m v=${i}i`);
    const pushMs = performance.now() - t0;
    assert.ok(pushMs < 500, `10,000 pushes took ${pushMs} ms`);
    assert.ok(w.buffered <= 100);
    await until(() => r.got.length >= 2, 5000); // the first attempt timed out and was retried
    assert.ok(await metric(registry, 'sundial_sink_dropped_total', { reason: 'overflow' }) >= 9_800);
    assert.ok(await metric(registry, 'sundial_sink_batches_failed_total', { reason: 'timeout' }) >= 1);
    const c0 = Date.now();
    await w.close(300);
    assert.ok(Date.now() - c0 < 1500, `close took ${Date.now() - c0} ms`);
    assert.ok(await metric(registry, 'sundial_sink_dropped_total', { reason: 'shutdown' }) >= 100);
    w.push('late v=1i'); // after close: counted, not kept
    assert.equal(w.buffered, 0);
  });

  it('bounds the buffer by bytes too', async () => {
    const r = await receiver(() => null);
    const { w, registry } = writer(r.url, { maxBuffered: 1_000_000, maxBufferedBytes: 10_000, batchSize: 1_000_000, flushIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) w.push('x'.repeat(1000));
    assert.ok(w.buffered <= 10);
    assert.equal(await metric(registry, 'sundial_sink_dropped_total', { reason: 'overflow' }), 90);
    await w.close(100);
  });
});
