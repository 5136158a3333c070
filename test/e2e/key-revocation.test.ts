// Issue 12, item 7: two `sundial serve` processes on one PostgreSQL database. A key revoked (or
// rotated with no grace) on one node stops working on the other for plain requests, not only for
// open streams, and the other node's open stream of that key ends; a node's cache holds a key for
// at most a second, so even without the signal the key would stop within about a second. Expiry,
// failed sign-ins and last use work across nodes through the shared database.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Cluster, ClusterNode, eventually, SseStream } from './cluster-harness.js';

let cluster: Cluster;
let a: ClusterNode;
let b: ClusterNode;

before(async () => {
  // The tests poll with keys that are refused; those count against 127.0.0.1's failure budget.
  cluster = await Cluster.create({ prefix: 'keys', env: { SUNDIAL_RATE_LIMIT_ANON: '10000' } });
  [a, b] = (await cluster.startAll([{ id: 'k1' }, { id: 'k2' }])) as [ClusterNode, ClusterNode];
});
after(async () => {
  await cluster?.close();
});

async function mint(body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const res = await a.api<{ id: string; secret: string }>('POST', '/v1/api-keys', { name: 'roaming', role: 'viewer', ...body });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

describe('keys across two nodes', () => {
  it('a key revoked on one node is refused by the other for requests and streams', async () => {
    const { id, secret } = await mint();
    // Warm the other node's cache with the key, and open a stream there.
    assert.equal((await b.api('GET', '/v1/me', undefined, secret)).status, 200);
    const stream = await SseStream.open(b.url, '/v1/events', secret);
    assert.equal((await a.api('DELETE', `/v1/api-keys/${id}`)).status, 200);
    assert.equal((await a.api('GET', '/v1/me', undefined, secret)).status, 401, 'at once where it was revoked');
    // The signal empties b's cache; its 1 s cache bound is the fallback. Polled, not timed.
    await eventually(async () => (await b.api('GET', '/v1/me', undefined, secret)).status === 401, 5000, 20);
    await stream.waitFor((e) => e.event === 'revoked', 5000);
    await stream.ended;
  });

  it('a rotation without grace stops the old key on the other node; the successor works there', async () => {
    const { id, secret } = await mint();
    assert.equal((await b.api('GET', '/v1/me', undefined, secret)).status, 200);
    const rotated = await a.api<{ secret: string }>('POST', `/v1/api-keys/${id}/rotate`, { gracePeriod: '0s' });
    assert.equal(rotated.status, 201, rotated.text);
    const refused = await eventually(async () => {
      const res = await b.api<{ code: string }>('GET', '/v1/me', undefined, secret);
      return res.status === 401 ? res : null;
    }, 5000, 20);
    assert.equal(refused.body.code, 'key_expired');
    assert.equal((await b.api('GET', '/v1/me', undefined, rotated.body.secret)).status, 200);
  });

  it('failed sign-ins on one node are in the audit log read on the other; a malformed key is refused', async () => {
    // From an address of its own (127.0.0.3): its first failure is written at once.
    const res = await fromAddress('127.0.0.3', b.url + '/v1/me', 'sdl_' + 'A'.repeat(49));
    assert.equal(res.status, 401);
    assert.match(res.body, /not well-formed/);
    const rows = await eventually(async () => {
      const list = await a.api<{ items: { ip: string; detail: { count: number; reasons: string[]; prefixes: string[] } }[] }>('GET', '/v1/audit?action=auth.failed&limit=100');
      const mine = list.body.items.filter((r) => r.ip === '127.0.0.3');
      return mine.length > 0 ? mine : null;
    }, 5000, 50);
    assert.deepEqual(rows[0]!.detail, { count: 1, reasons: ['malformed'], prefixes: ['sdl_AAAAAAAA'] });
    assert.ok(!JSON.stringify(rows).includes('A'.repeat(49)), 'never the token');
  });

  it('last use is recorded by the node that served it and shown by the other', async () => {
    const { id, secret } = await mint();
    assert.equal((await b.api('GET', '/v1/me', undefined, secret)).status, 200);
    const key = await eventually(async () => {
      const list = await a.api<{ items: { id: string; lastUsedAt: string | null; lastUsedFrom: string | null }[] }>('GET', '/v1/api-keys?limit=500');
      const k = list.body.items.find((x) => x.id === id);
      return k?.lastUsedAt ? k : null;
    }, 5000, 50);
    assert.ok(key.lastUsedFrom === '127.0.0.1' || key.lastUsedFrom === '::1' || key.lastUsedFrom === '::ffff:127.0.0.1', String(key.lastUsedFrom));
  });
});

/** GET `url` with `token` from the local address `localAddress` (any 127.x works on Linux). */
function fromAddress(localAddress: string, url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
