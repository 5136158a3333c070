// A stalled InfluxDB (a loopback server that accepts connections and never answers) must not slow
// the scheduler: a burst of runs still starts and finishes promptly, the sink's memory stays
// within its buffer, what it could not keep is counted in /metrics, and SIGTERM still exits in time.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, it } from 'node:test';
import { eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

const BUFFER = 2000;
const RUNS = 600;

let stall: Server;
const sockets: Socket[] = [];
let received = 0;
let server: ServerProcess;

before(async () => {
  stall = createServer((sock) => {
    sockets.push(sock);
    sock.on('data', (d) => (received += d.length)); // read and never answer
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
  server = await startServerProcess({
    ...makeDirs({ 'quick.mjs': `export default async (ctx) => { ctx.log('line one'); ctx.log('line two'); return 1; };` }),
    env: {
      SUNDIAL_INFLUX_URL: `http://127.0.0.1:${(stall.address() as AddressInfo).port}`,
      SUNDIAL_INFLUX_BUFFER_SIZE: String(BUFFER),
      SUNDIAL_INFLUX_BATCH_SIZE: '500',
      SUNDIAL_INFLUX_FLUSH_INTERVAL: '50ms',
      SUNDIAL_INFLUX_TIMEOUT: '1s',
    },
  });
});

after(async () => {
  if (server.child.exitCode === null && server.child.signalCode === null) await server.kill('SIGKILL');
  for (const s of sockets) s.destroy();
  stall.close();
});

/** Every succeeded run of the task, page by page. */
async function succeededRuns(): Promise<{ lateMs: number | null }[]> {
  const out: { lateMs: number | null }[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { items: { lateMs: number | null }[]; nextCursor: string | null } } = await server.api(
      'GET',
      `/v1/runs?task=quick&status=succeeded&limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    assert.equal(page.status, 200);
    out.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return out;
}

function metric(text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

it('runs start and finish promptly, memory stays bounded, drops are counted, and SIGTERM exits in time', async () => {
  assert.equal((await server.api('POST', '/v1/tasks', { name: 'quick', kind: 'module', spec: { file: 'quick.mjs' } })).status, 201);
  const t0 = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < RUNS; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => server.api<{ id: string }>('POST', '/v1/tasks/quick/runs', {})));
    for (const b of batch) {
      assert.equal(b.status, 201);
      ids.push(b.body.id);
    }
  }
  const done = await eventually(async () => {
    const items = await succeededRuns();
    return items.length >= RUNS ? items : null;
  }, 30_000, 200);
  const elapsed = Date.now() - t0;
  const late = done.map((r) => r.lateMs ?? 0).sort((a, b) => a - b);
  const p99 = late[Math.ceil(0.99 * late.length) - 1]!;
  // What a node does with these runs and no sink at all takes well under these bounds on the
  // 2-core machine; a sink that blocked for its 1 s timeouts would blow through them.
  assert.ok(elapsed < 20_000, `${RUNS} runs took ${elapsed} ms`);
  assert.ok(p99 < 1000, `lateness p99 ${p99} ms`);

  // The sink tried (the server got requests), kept at most its buffer, and counted the rest.
  assert.ok(received > 0, 'the stalled server received write requests');
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const buffered = metric(text, 'sundial_sink_buffered_points', '{sink="influxdb"}');
  const dropped = metric(text, 'sundial_sink_dropped_total', '{sink="influxdb",reason="overflow"}');
  const rss = metric(text, 'sundial_process_resident_memory_bytes');
  assert.ok(buffered <= BUFFER, `buffered ${buffered}`);
  // Each run makes at least 3 transitions and 2 log lines: more than the buffer and the one
  // batch in flight hold.
  assert.ok(dropped >= RUNS * 5 - BUFFER - 500, `dropped ${dropped}`);
  assert.ok(metric(text, 'sundial_sink_batches_failed_total', '{sink="influxdb",reason="timeout"}') >= 1);
  assert.equal(metric(text, 'sundial_sink_points_written_total', '{sink="influxdb"}'), 0);
  assert.ok(rss < 512 * 1024 * 1024, `rss ${rss}`);

  // Shutdown waits at most the sink's timeout for it, then exits cleanly.
  const s0 = Date.now();
  const exit = await server.kill('SIGTERM');
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - s0 < 8000, `shutdown took ${Date.now() - s0} ms`);
});
