// Issue 12, hole 6: a request with two Authorization headers is refused with 400 (before, the
// first one won, while a proxy in front might have checked the other).
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';

let h: ApiHarness;
let port: number;
before(async () => {
  h = await startApi();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  port = (h.app.server.address() as AddressInfo).port;
});
after(async () => {
  await h.close();
});

/** Sends raw request text and resolves with the whole answer. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

test('two Authorization headers are a 400 problem, whichever comes first', async () => {
  const viewer = await h.key('viewer');
  for (const [first, second] of [
    [ADMIN_TOKEN, viewer],
    [viewer, ADMIN_TOKEN],
    [ADMIN_TOKEN, ADMIN_TOKEN],
  ]) {
    const answer = await raw(`GET /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${first}\r\nauthorization: Bearer ${second}\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /application\/problem\+json/);
    assert.match(answer, /several Authorization headers/);
  }
});

test('one Authorization header still works', async () => {
  const answer = await raw(`GET /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nConnection: close\r\n\r\n`);
  assert.match(answer, /^HTTP\/1\.1 200 /);
});
