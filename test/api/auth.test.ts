// Who may do what: keys, roles, namespaces, the bootstrap admin and the auth cache.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { API_KEY_RE, generateApiKeySecret, hashApiKey } from '../../src/auth/api-key-secret.js';
import { ensureBootstrapAdmin } from '../../src/auth/bootstrap.js';
import { ManualClock } from '../../src/core/clock.js';
import { ADMIN_TOKEN, httpTask, startApi, type ApiHarness } from '../helpers/api-harness.js';
import { openTempStore } from '../helpers/temp-store.js';

let h: ApiHarness;
let viewer: string;
let operator: string;
let teamA: string;
let teamAViewer: string;
let bTaskId: string;
let bRunId: string;

before(async () => {
  h = await startApi();
  viewer = await h.key('viewer', ['*']);
  operator = await h.key('operator', ['*']);
  teamA = await h.key('operator', ['team-a']);
  teamAViewer = await h.key('viewer', ['team-a']);
  const b = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('b-task', { namespace: 'team-b' }) });
  bTaskId = (b.json() as { id: string }).id;
  bRunId = ((await h.call({ method: 'POST', url: `/v1/tasks/${bTaskId}/runs`, payload: {} })).json() as { id: string }).id;
});
after(async () => {
  await h.close();
});

describe('authentication', () => {
  test('no key is 401 with WWW-Authenticate: Bearer', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/tasks', token: null });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="sundial"');
    assert.equal(res.json().code, 'unauthenticated');
  });

  test('an unknown key, a malformed header and an overlong token are 401', async () => {
    const unknown = await h.call({ method: 'GET', url: '/v1/tasks', token: 'sdl_' + 'A'.repeat(43) });
    assert.equal(unknown.statusCode, 401);
    assert.equal(unknown.headers['www-authenticate'], 'Bearer realm="sundial", error="invalid_token"');
    const basic = await h.call({ method: 'GET', url: '/v1/tasks', token: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(basic.statusCode, 401);
    const long = await h.call({ method: 'GET', url: '/v1/tasks', token: 'x'.repeat(5000) });
    assert.equal(long.statusCode, 401);
  });

  test('health, readiness, metrics and the API description need no key', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      const res = await h.call({ method: 'GET', url, token: null });
      assert.equal(res.statusCode, 200, url);
    }
  });

  test('the 401 comes before body validation', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', token: null, payload: { nonsense: true } });
    assert.equal(res.statusCode, 401);
  });
});

describe('roles', () => {
  test('a viewer reads but cannot create, change or run tasks', async () => {
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: viewer })).statusCode, 200);
    assert.equal((await h.call({ method: 'GET', url: `/v1/runs/${bRunId}`, token: viewer })).statusCode, 200);
    const create = await h.call({ method: 'POST', url: '/v1/tasks', token: viewer, payload: httpTask('by-viewer') });
    assert.equal(create.statusCode, 403);
    assert.equal(create.json().code, 'forbidden');
    assert.match(create.json().detail, /operator role/);
    for (const [method, url] of [
      ['PATCH', `/v1/tasks/${bTaskId}`],
      ['DELETE', `/v1/tasks/${bTaskId}`],
      ['POST', `/v1/tasks/${bTaskId}/runs`],
      ['POST', `/v1/tasks/${bTaskId}/pause`],
      ['POST', `/v1/runs/${bRunId}/cancel`],
    ] as const) {
      const res = await h.call({ method, url, token: viewer, payload: {} });
      assert.equal(res.statusCode, 403, `${method} ${url}`);
    }
  });

  test('an operator manages tasks but not keys or the audit log', async () => {
    const create = await h.call({ method: 'POST', url: '/v1/tasks', token: operator, payload: httpTask('by-operator') });
    assert.equal(create.statusCode, 201);
    assert.equal((await h.call({ method: 'GET', url: '/v1/api-keys', token: operator })).statusCode, 403);
    assert.equal((await h.call({ method: 'POST', url: '/v1/api-keys', token: operator, payload: { name: 'x', role: 'admin' } })).statusCode, 403);
    assert.equal((await h.call({ method: 'GET', url: '/v1/audit', token: operator })).statusCode, 403);
    assert.equal((await h.call({ method: 'GET', url: '/v1/stats', token: operator })).statusCode, 200);
  });

  test("the cluster's nodes are for admins only (issue 12): hosts, pids and versions are no namespace's business", async () => {
    for (const token of [viewer, operator, teamA]) {
      const res = await h.call({ method: 'GET', url: '/v1/cluster/nodes', token });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().code, 'forbidden');
    }
    assert.equal((await h.call({ method: 'GET', url: '/v1/cluster/nodes' })).statusCode, 200);
  });
});

describe('namespaces', () => {
  test("a key for team-a cannot see team-b's tasks or runs: they look missing", async () => {
    for (const url of [`/v1/tasks/${bTaskId}`, '/v1/tasks/b-task?namespace=team-b', `/v1/runs/${bRunId}`, `/v1/runs/${bRunId}/logs`]) {
      const res = await h.call({ method: 'GET', url, token: teamAViewer });
      assert.equal(res.statusCode, 404, url);
    }
    const del = await h.call({ method: 'DELETE', url: `/v1/tasks/${bTaskId}`, token: teamA });
    assert.equal(del.statusCode, 404);
    const cancel = await h.call({ method: 'POST', url: `/v1/runs/${bRunId}/cancel`, token: teamA });
    assert.equal(cancel.statusCode, 404);
    const run = await h.call({ method: 'POST', url: `/v1/tasks/${bTaskId}/runs`, token: teamA, payload: {} });
    assert.equal(run.statusCode, 404);
    // Still there for someone who may see it.
    assert.equal((await h.call({ method: 'GET', url: `/v1/tasks/${bTaskId}` })).statusCode, 200);
  });

  test("listings show only the key's namespaces, whatever ?namespace= asks", async () => {
    const created = await h.call({ method: 'POST', url: '/v1/tasks', token: teamA, payload: httpTask('a-task') });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().namespace, 'team-a', "a single-namespace key's tasks go to its namespace");
    const mine = (await h.call({ method: 'GET', url: '/v1/tasks', token: teamA })).json() as { items: { namespace: string }[] };
    assert.ok(mine.items.length > 0);
    assert.ok(mine.items.every((t) => t.namespace === 'team-a'));
    const theirs = (await h.call({ method: 'GET', url: '/v1/tasks?namespace=team-b', token: teamA })).json() as { items: unknown[] };
    assert.deepEqual(theirs.items, []);
    const runs = (await h.call({ method: 'GET', url: '/v1/runs', token: teamA })).json() as { items: { namespace: string }[] };
    assert.ok(runs.items.every((r) => r.namespace === 'team-a'));
    const all = (await h.call({ method: 'GET', url: '/v1/tasks?limit=500' })).json() as { items: { namespace: string }[] };
    assert.ok(new Set(all.items.map((t) => t.namespace)).size >= 2, 'admins see every namespace');
  });

  test('creating in a namespace the key does not cover is 403', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', token: teamA, payload: httpTask('sneaky', { namespace: 'team-b' }) });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().detail, /team-b/);
  });

  test('stats count only covered namespaces', async () => {
    const stats = (await h.call({ method: 'GET', url: '/v1/stats', token: teamA })).json() as { tasks: { total: number } };
    const mine = (await h.call({ method: 'GET', url: '/v1/tasks?limit=500', token: teamA })).json() as { items: unknown[] };
    assert.equal(stats.tasks.total, mine.items.length);
  });
});

describe('API keys', () => {
  test('a new key is sdl_ + 43 base62 characters + a 6-character checksum, shown once, stored only as a hash', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'ci-bot', role: 'operator', namespaces: ['ci'] } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as { id: string; secret: string; prefix: string; namespaces: string[]; role: string };
    assert.match(body.secret, API_KEY_RE);
    assert.equal(body.secret.length, 53);
    assert.ok(body.secret.startsWith(body.prefix));
    assert.deepEqual(body.namespaces, ['ci']);
    const stored = await h.store.findApiKeyByHash(hashApiKey(body.secret));
    assert.equal(stored?.id, body.id);
    assert.equal(await h.store.findApiKeyByHash(body.secret), null, 'the secret itself is not a lookup key');
    const list = await h.call({ method: 'GET', url: '/v1/api-keys' });
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes(body.secret));
    assert.ok(!list.body.includes('hash'));
    const listed = (list.json() as { items: { id: string }[] }).items.map((k) => k.id);
    assert.ok(listed.includes(body.id));
  });

  test('admin keys cover every namespace and refuse a narrower list', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'admin-2', role: 'admin' } });
    assert.equal(res.statusCode, 201);
    assert.deepEqual(res.json().namespaces, ['*']);
    const narrow = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'admin-3', role: 'admin', namespaces: ['x'] } });
    assert.equal(narrow.statusCode, 400);
  });

  test('a revoked key stops working at once', async () => {
    const secret = await h.key('viewer');
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).statusCode, 200);
    const key = await h.store.findApiKeyByHash(hashApiKey(secret));
    const revoke = await h.call({ method: 'DELETE', url: `/v1/api-keys/${key!.id}` });
    assert.equal(revoke.statusCode, 200);
    assert.ok(revoke.json().revokedAt);
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks', token: secret })).statusCode, 401);
    const unknown = await h.call({ method: 'DELETE', url: '/v1/api-keys/0190e0b5-0000-7000-8000-000000000000' });
    assert.equal(unknown.statusCode, 404);
  });

  test('key listing pages with a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await h.call({ method: 'GET', url })).json() as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((k) => k.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    const all = await h.store.listApiKeys();
    assert.deepEqual([...seen].sort(), all.map((k) => k.id).sort());
    assert.equal((await h.call({ method: 'GET', url: '/v1/api-keys?cursor=zzz' })).statusCode, 400);
  });

  test('requests are authenticated from memory, not one store read each', async () => {
    const fresh = await startApi();
    try {
      let reads = 0;
      const original = fresh.store.findApiKeyByHash.bind(fresh.store);
      fresh.store.findApiKeyByHash = (hash) => {
        reads++;
        return original(hash);
      };
      await Promise.all(Array.from({ length: 50 }, () => fresh.call({ method: 'GET', url: '/v1/tasks' })));
      for (let i = 0; i < 50; i++) await fresh.call({ method: 'GET', url: '/healthz' });
      for (let i = 0; i < 50; i++) await fresh.call({ method: 'GET', url: '/v1/tasks' });
      assert.equal(reads, 1, 'one read for 100 requests, even 50 concurrent first ones');
      // Unknown tokens are remembered briefly too.
      const unknown = generateApiKeySecret();
      for (let i = 0; i < 20; i++) await fresh.call({ method: 'GET', url: '/v1/tasks', token: unknown });
      assert.equal(reads, 2);
      // Malformed ones (a key's shape with a wrong checksum, or too short) are never looked up.
      const typo = unknown.slice(0, -1) + (unknown.endsWith('a') ? 'b' : 'a');
      for (const token of [typo, 'sdl_nope']) assert.equal((await fresh.call({ method: 'GET', url: '/v1/tasks', token })).statusCode, 401);
      assert.equal(reads, 2);
    } finally {
      await fresh.close();
    }
  });
});

describe('ensureBootstrapAdmin', () => {
  test('adopts SUNDIAL_ADMIN_TOKEN as the admin key "bootstrap", once', async () => {
    const temp = await openTempStore();
    try {
      const clock = new ManualClock();
      assert.equal(await ensureBootstrapAdmin(temp.store, ADMIN_TOKEN, clock), null);
      assert.equal(await ensureBootstrapAdmin(temp.store, ADMIN_TOKEN, clock), null);
      const keys = await temp.store.listApiKeys();
      assert.equal(keys.length, 1);
      assert.equal(keys[0]!.name, 'bootstrap');
      assert.equal(keys[0]!.role, 'admin');
      assert.deepEqual(keys[0]!.namespaces, ['*']);
      assert.equal((await temp.store.findApiKeyByHash(hashApiKey(ADMIN_TOKEN)))?.id, keys[0]!.id);
      const audit = await temp.store.listAudit({ namespaces: '*', limit: 10 });
      assert.deepEqual(audit.items.map((a) => `${a.actor}:${a.action}`), ['system:api_key.create']);
    } finally {
      await temp.cleanup();
    }
  });

  test('without a token generates a key on an empty store only, and returns its secret', async () => {
    const temp = await openTempStore();
    try {
      const clock = new ManualClock();
      const secret = await ensureBootstrapAdmin(temp.store, '', clock);
      assert.ok(secret !== null);
      assert.match(secret, API_KEY_RE);
      assert.equal((await temp.store.findApiKeyByHash(hashApiKey(secret)))?.role, 'admin');
      assert.equal(await ensureBootstrapAdmin(temp.store, '', clock), null, 'never a second one');
      assert.equal(await temp.store.countApiKeys(), 1);
    } finally {
      await temp.cleanup();
    }
  });
});
