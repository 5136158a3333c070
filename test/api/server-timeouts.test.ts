// Issue 12, hole 6: clients cannot hold the server's sockets by sending slowly or not at all
// (request, header and idle deadlines), while server-sent event streams, which only receive,
// stay open past all of them as long as their heartbeat flows.
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SERVER_TIMEOUTS } from '../../src/api/server-timeouts.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';
import { openSse } from '../helpers/sse.js';

let h: ApiHarness;
let port: number;
before(async () => {
  h = await startApi({ sseHeartbeatMs: 100, serverTimeouts: { requestMs: 600, headersMs: 400, idleMs: 1500, keepAliveMs: 300, checkEveryMs: 50 } });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  port = (h.app.server.address() as AddressInfo).port;
});
after(async () => {
  await h.close();
});

/** Opens a socket, writes `text`, and resolves with what came back and after how long the server closed it. */
function hold(text: string, giveUpMs = 6000): Promise<{ answer: string; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closedAfterMs: null });
    }, giveUpMs);
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedAfterMs: Date.now() - t0 });
    });
  });
}

describe('slow clients', () => {
  test('headers that never finish: the socket is closed after the header deadline', async () => {
    const r = await hold(`GET /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n`);
    assert.ok(r.closedAfterMs !== null, 'the server kept the socket');
    assert.ok(r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`);
  });

  test('a body that never finishes: 408 after the request deadline', async () => {
    const r = await hold(
      `POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`,
    );
    assert.ok(r.closedAfterMs !== null && r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`);
    assert.match(r.answer, /^HTTP\/1\.1 408 /);
  });

  test('a connection that says nothing is closed (its first request\'s header deadline comes first)', async () => {
    const r = await hold('');
    assert.ok(r.closedAfterMs !== null && r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`);
  });
});

describe('long-lived streams', () => {
  test('an event stream outlives every deadline while its heartbeat flows', async () => {
    const stream = await openSse(`http://127.0.0.1:${port}/v1/events`, ADMIN_TOKEN);
    assert.equal(stream.res.statusCode, 200);
    let ended = false;
    void stream.ended.then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(ended, false, 'the stream was closed by a timeout');
    assert.ok((stream.text().match(/: heartbeat/g) ?? []).length >= 10);
    stream.close();
  });
});

test('the defaults bound sending, not answering, and keep idle sockets above the SSE heartbeat', () => {
  const t = DEFAULT_SERVER_TIMEOUTS;
  assert.ok(t.requestMs > 0 && t.headersMs > 0 && t.headersMs <= t.requestMs);
  assert.ok(t.idleMs >= 4 * 15_000, 'idle sockets outlast several 15 s heartbeats');
  assert.ok(t.keepAliveMs > 60_000, 'above a load balancer’s 60 s idle timeout');
});
