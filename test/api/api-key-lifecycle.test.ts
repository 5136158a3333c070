// Issue 12: API keys that expire, rotate and carry scopes; their last use; failed sign-ins in the
// audit log; malformed keys refused without a lookup.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateApiKeySecret, hashApiKey } from '../../src/auth/api-key-secret.js';
import { httpTask, startApi, type ApiHarness } from '../helpers/api-harness.js';


let h: ApiHarness;

before(async () => {
  h = await startApi();
});
after(async () => {
  await h.close();
});

/** Mints a key through the API; returns its id and secret. */
async function mint(body: Record<string, unknown>): Promise<{ id: string; secret: string; body: Record<string, unknown> }> {
  const res = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'k', role: 'operator', ...body } });
  assert.equal(res.statusCode, 201, res.body);
  const json = res.json() as { id: string; secret: string };
  return { id: json.id, secret: json.secret, body: json };
}

/**
 * Uses and failed sign-ins are written off the request path (never awaited by the request); this
 * records the promises of `method` so a test can wait for those writes before reading.
 */
function track<K extends 'recordApiKeyUse' | 'appendAudit'>(api: ApiHarness, method: K): { settled: () => Promise<void>; calls: () => number } {
  const pending: Promise<unknown>[] = [];
  const store = api.store as unknown as Record<K, (...args: unknown[]) => Promise<unknown>>;
  const original = store[method].bind(api.store);
  store[method] = (...args: unknown[]) => {
    const p = original(...args);
    pending.push(p);
    return p;
  };
  return { settled: async () => void (await Promise.all(pending)), calls: () => pending.length };
}

async function auditOf(action: string): Promise<{ ip: string | null; targetId: string; detail: Record<string, unknown> }[]> {
  return (await h.store.listAudit({ namespaces: '*', action, limit: 100 })).items as never;
}

describe('expiry', () => {
  test('expiresIn sets expiresAt; the key works until then and answers 401 key_expired after', async () => {
    const { secret, body } = await mint({ expiresIn: '1h' });
    assert.equal(body.expiresAt, new Date(h.clock.now() + 3_600_000).toISOString());
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).statusCode, 200);
    h.clock.advance(3_600_000);
    const res = await h.call({ method: 'GET', url: '/v1/tasks', token: secret });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'key_expired');
    assert.equal(res.json().type, 'https://sundial.dev/problems/key_expired');
    assert.match(String(res.headers['www-authenticate']), /invalid_token/);
  });

  test('expiresAt is taken as given; past, contradictory and nonsense expiries are 400 and mint nothing', async () => {
    const at = new Date(h.clock.now() + 86_400_000).toISOString();
    assert.equal((await mint({ expiresAt: at })).body.expiresAt, at);
    const before = (await h.store.listApiKeys()).length;
    for (const payload of [
      { expiresAt: new Date(h.clock.now() - 1000).toISOString() },
      { expiresIn: '1h', expiresAt: at },
      { expiresIn: 'soon' },
      { expiresIn: '0s' },
      { expiresIn: '100000d' },
    ]) {
      const res = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'bad', role: 'viewer', ...payload } });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().code, 'validation_failed');
    }
    assert.equal((await h.store.listApiKeys()).length, before);
  });

  test('a key without expiry never expires (existing keys keep working)', async () => {
    const { secret, body } = await mint({});
    assert.equal(body.expiresAt, null);
    h.clock.advance(10 * 365 * 86_400_000);
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).statusCode, 200);
  });

  test("an expired key's open stream ends", async () => {
    const api = await startApi({ streamRecheckMs: 20 });
    try {
      const res = await api.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 's', role: 'viewer', expiresIn: '1m' } });
      const secret = (res.json() as { secret: string }).secret;
      await api.app.listen({ port: 0, host: '127.0.0.1' });
      const address = api.app.server.address() as { port: number };
      const stream = await fetch(`http://127.0.0.1:${address.port}/v1/events`, { headers: { authorization: `Bearer ${secret}` } });
      assert.equal(stream.status, 200);
      api.clock.advance(60_000);
      // The registry re-reads the keys every 20 ms here; the stream must end by itself.
      const text = await stream.text();
      assert.match(text, /event: revoked\ndata: \{"code":"key_expired"/);
    } finally {
      await api.close();
    }
  });
});

describe('last use', () => {
  test('lastUsedAt and lastUsedFrom are recorded, at most once a minute per key, and shown', async () => {
    const api = await startApi();
    try {
      const res = await api.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'u', role: 'viewer' } });
      const { id, secret } = res.json() as { id: string; secret: string };
      const uses = track(api, 'recordApiKeyUse');
      for (let i = 0; i < 30; i++) assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: secret, remoteAddress: '192.0.2.10' })).statusCode, 200);
      assert.equal(uses.calls(), 1, 'one write for 30 requests within a minute');
      api.clock.advance(61_000);
      await api.call({ method: 'GET', url: '/v1/tasks', token: secret, remoteAddress: '192.0.2.10' });
      assert.equal(uses.calls(), 2);
      await uses.settled();
      const view = ((await api.call({ method: 'GET', url: '/v1/api-keys?limit=500' })).json() as { items: Record<string, unknown>[] }).items.find((k) => k.id === id)!;
      assert.equal(view.lastUsedAt, new Date(api.clock.now()).toISOString());
      assert.equal(view.lastUsedFrom, '192.0.2.10');
    } finally {
      await api.close();
    }
  });

  test('a use from an address the key has not used before writes api_key.new_address, once', async () => {
    const { id, secret } = await mint({});
    const uses = track(h, 'recordApiKeyUse');
    await h.call({ method: 'GET', url: '/v1/tasks', token: secret, remoteAddress: '192.0.2.20' });
    await uses.settled();
    assert.equal((await auditOf('api_key.new_address')).filter((a) => a.targetId === id).length, 0, 'the first address is no news');
    for (let i = 0; i < 3; i++) await h.call({ method: 'GET', url: '/v1/tasks', token: secret, remoteAddress: '198.51.100.7' });
    await h.call({ method: 'GET', url: '/v1/tasks', token: secret, remoteAddress: '192.0.2.20' });
    await uses.settled();
    const rows = (await auditOf('api_key.new_address')).filter((a) => a.targetId === id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.ip, '198.51.100.7');
    assert.equal(rows[0]!.detail.ip, '198.51.100.7');
  });
});

describe('failed sign-ins', () => {
  test('are audited with the address and the key prefix, never the token, one row per address per minute with a count', async () => {
    const api = await startApi();
    try {
      const writes = track(api, 'appendAudit');
      const wrong = generateApiKeySecret();
      for (let i = 0; i < 5; i++) assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: wrong, remoteAddress: '203.0.113.5' })).statusCode, 401);
      const list = async () => (await api.store.listAudit({ namespaces: '*', action: 'auth.failed', limit: 100 })).items;
      await writes.settled();
      let rows = await list();
      assert.equal(rows.length, 1, 'the first failure is written at once, the others counted');
      assert.equal(rows[0]!.ip, '203.0.113.5');
      assert.deepEqual(rows[0]!.detail, { count: 1, reasons: ['unknown'], prefixes: [wrong.slice(0, 12)] });
      assert.ok(!JSON.stringify(rows).includes(wrong), 'the token is never written');
      api.clock.advance(60_000);
      // The app writes finished windows on a timer; closing writes them too.
      await api.app.close();
      await writes.settled();
      assert.equal(writes.calls(), 2, 'two rows for five failures');
      rows = await list();
      assert.equal(rows.length, 2);
      assert.deepEqual(rows[0]!.detail, { count: 4, reasons: ['unknown'], prefixes: [wrong.slice(0, 12)] });
      assert.equal(rows[0]!.targetId, wrong.slice(0, 12));
    } finally {
      await api.close().catch(() => undefined);
    }
  });

  test('a token that is not key-shaped is audited without a prefix', async () => {
    const api = await startApi();
    try {
      const writes = track(api, 'appendAudit');
      await api.call({ method: 'GET', url: '/v1/tasks', token: 'x'.repeat(40), remoteAddress: '203.0.113.6' });
      await writes.settled();
      const rows = (await api.store.listAudit({ namespaces: '*', action: 'auth.failed', limit: 10 })).items;
      assert.deepEqual(rows[0]!.detail, { count: 1, reasons: ['unknown'], prefixes: [] });
      assert.ok(!JSON.stringify(rows).includes('x'.repeat(40)));
    } finally {
      await api.close();
    }
  });
});

describe('malformed keys', () => {
  test('a key-shaped token with a wrong checksum is 401 without a lookup; a legacy-format key still works', async () => {
    const api = await startApi();
    try {
      const real = await api.key('viewer');
      let reads = 0;
      const find = api.store.findApiKeyByHash.bind(api.store);
      api.store.findApiKeyByHash = (hash) => {
        reads++;
        return find(hash);
      };
      const typo = real.slice(0, 10) + (real[10] === 'a' ? 'b' : 'a') + real.slice(11);
      const res = await api.call({ method: 'GET', url: '/v1/tasks', token: typo });
      assert.equal(res.statusCode, 401);
      assert.match(res.json().detail, /not well-formed/);
      assert.equal(reads, 0);
      // A key of the format before checksums, stored as the old code stored it, is accepted.
      const legacy = 'sdl_' + Buffer.alloc(32, 7).toString('base64url');
      await api.store.createApiKey(
        { id: '0190aaaa-0000-7000-8000-0000000000aa', name: 'old', role: 'viewer', namespaces: ['*'], prefix: legacy.slice(0, 12), hash: hashApiKey(legacy), createdAt: api.clock.now(), createdBy: 'system', lastUsedAt: null, revokedAt: null },
        { namespace: '*', at: api.clock.now(), actor: 'system', ip: null, action: 'api_key.create', targetType: 'api_key', targetId: 'x', detail: {} },
      );
      assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: legacy })).statusCode, 200);
    } finally {
      await api.close();
    }
  });
});

describe('rotation', () => {
  test('a successor with the same role, namespaces and scopes; the old key works through the grace period, then is expired', async () => {
    const { id, secret } = await mint({ role: 'operator', namespaces: ['team-r'], scopes: ['runs:write'], expiresIn: '30d' });
    const res = await h.call({ method: 'POST', url: `/v1/api-keys/${id}/rotate`, payload: { gracePeriod: '2h' } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as { id: string; secret: string; role: string; namespaces: string[]; scopes: string[]; expiresAt: string; previous: { id: string; expiresAt: string; replacedBy: string } };
    assert.notEqual(body.id, id);
    assert.equal(body.role, 'operator');
    assert.deepEqual(body.namespaces, ['team-r']);
    assert.deepEqual(body.scopes, ['runs:write']);
    assert.equal(body.expiresAt, new Date(h.clock.now() + 30 * 86_400_000).toISOString(), 'the same lifetime, from now');
    assert.equal(body.previous.id, id);
    assert.equal(body.previous.replacedBy, body.id);
    assert.equal(body.previous.expiresAt, new Date(h.clock.now() + 7_200_000).toISOString());
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).statusCode, 200, 'old key in its grace period');
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: body.secret })).statusCode, 200);
    h.clock.advance(7_200_000);
    const old = await h.call({ method: 'GET', url: '/v1/tasks', token: secret });
    assert.equal(old.statusCode, 401);
    assert.equal(old.json().code, 'key_expired');
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: body.secret })).statusCode, 200);
    const rows = (await auditOf('api_key.rotate')).filter((a) => a.targetId === id);
    assert.equal(rows.length, 1);
  });

  test('a rotated, revoked or unknown key cannot be rotated; a bad grace period is 400', async () => {
    const { id } = await mint({});
    assert.equal((await h.call({ method: 'POST', url: `/v1/api-keys/${id}/rotate`, payload: { gracePeriod: 'forever' } })).statusCode, 400);
    assert.equal((await h.call({ method: 'POST', url: `/v1/api-keys/${id}/rotate`, payload: { gracePeriod: '31d' } })).statusCode, 400);
    assert.equal((await h.call({ method: 'POST', url: `/v1/api-keys/${id}/rotate`, payload: {} })).statusCode, 201);
    const again = await h.call({ method: 'POST', url: `/v1/api-keys/${id}/rotate`, payload: {} });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'api_key_not_active');
    const { id: revoked } = await mint({});
    await h.call({ method: 'DELETE', url: `/v1/api-keys/${revoked}` });
    assert.equal((await h.call({ method: 'POST', url: `/v1/api-keys/${revoked}/rotate`, payload: {} })).statusCode, 409);
    assert.equal((await h.call({ method: 'POST', url: '/v1/api-keys/0190e0b5-0000-7000-8000-000000000000/rotate', payload: {} })).statusCode, 404);
  });

  test('a grace period of 0s stops the old key at once', async () => {
    const { id, secret } = await mint({});
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).statusCode, 200);
    assert.equal((await h.call({ method: 'POST', url: `/v1/api-keys/${id}/rotate`, payload: { gracePeriod: '0s' } })).statusCode, 201);
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).json().code, 'key_expired');
  });
});

describe('scopes', () => {
  test('a key scoped to http tasks may write http tasks, not script tasks; reads stay open', async () => {
    const { secret } = await mint({ scopes: ['tasks:write:http'], namespaces: ['*'] });
    const http = await h.call({ method: 'POST', url: '/v1/tasks', token: secret, payload: httpTask('scoped-http') });
    assert.equal(http.statusCode, 201, http.body);
    const script = await h.call({ method: 'POST', url: '/v1/tasks', token: secret, payload: { name: 'scoped-script', kind: 'script', spec: { code: 'return 1' } } });
    assert.equal(script.statusCode, 403);
    assert.match(script.json().detail, /tasks:write:script/);
    // Running the http task is a task write of its kind: allowed.
    const taskId = (http.json() as { id: string }).id;
    const run = await h.call({ method: 'POST', url: `/v1/tasks/${taskId}/runs`, token: secret, payload: {} });
    assert.equal(run.statusCode, 201);
    // Cancelling a run needs runs:write, which this key lacks.
    const cancel = await h.call({ method: 'POST', url: `/v1/runs/${(run.json() as { id: string }).id}/cancel`, token: secret });
    assert.equal(cancel.statusCode, 403);
    // Turning the task into a script task is a write of that kind too.
    const patch = await h.call({ method: 'PATCH', url: `/v1/tasks/${taskId}`, token: secret, payload: { kind: 'script', spec: { code: 'return 1' } } });
    assert.equal(patch.statusCode, 403);
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).statusCode, 200);
    assert.equal((await h.call({ method: 'POST', url: '/v1/schedules/preview', token: secret, payload: { schedule: { type: 'interval', every: '5m' }, count: 2 } })).statusCode, 200);
  });

  test('runs:write allows cancelling; a script task of another key cannot be touched by an http-scoped key', async () => {
    const { secret: both } = await mint({ scopes: ['tasks:write:http', 'runs:write'], namespaces: ['*'] });
    const task = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'admins-script', kind: 'script', spec: { code: 'return 1' } } });
    assert.equal(task.statusCode, 201, task.body);
    const taskId = (task.json() as { id: string }).id;
    assert.equal((await h.call({ method: 'POST', url: `/v1/tasks/${taskId}/pause`, token: both })).statusCode, 403);
    assert.equal((await h.call({ method: 'DELETE', url: `/v1/tasks/${taskId}`, token: both })).statusCode, 403);
    const run = await h.call({ method: 'POST', url: `/v1/tasks/${taskId}/runs`, payload: {} });
    assert.equal((await h.call({ method: 'POST', url: `/v1/runs/${(run.json() as { id: string }).id}/cancel`, token: both })).statusCode, 200);
  });

  test('scoped admin keys: keys:write is needed to manage keys, channels:write for channels', async () => {
    const { secret } = await mint({ role: 'admin', scopes: ['tasks:write'] });
    const res = await h.call({ method: 'POST', url: '/v1/api-keys', token: secret, payload: { name: 'x', role: 'viewer' } });
    assert.equal(res.statusCode, 403);
    assert.equal((await h.call({ method: 'GET', url: '/v1/api-keys', token: secret })).statusCode, 200, 'reads are not narrowed');
    assert.equal((await h.call({ method: 'GET', url: '/v1/audit', token: secret })).statusCode, 200);
  });

  test('unknown or repeated scopes are 400', async () => {
    for (const scopes of [['tasks:write:cobol'], ['runs:write', 'runs:write'], ['admin']]) {
      const res = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'bad', role: 'viewer', scopes } });
      assert.equal(res.statusCode, 400, JSON.stringify(scopes));
    }
  });

  test('a key without scopes is not narrowed (backward compatible)', async () => {
    const { secret, body } = await mint({ namespaces: ['*'] });
    assert.equal(body.scopes, null);
    assert.equal((await h.call({ method: 'POST', url: '/v1/tasks', token: secret, payload: { name: 'unscoped-script', kind: 'script', spec: { code: 'return 1' } } })).statusCode, 201);
  });
});


