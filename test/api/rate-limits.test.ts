// Issue 12, item 8: requests per key and, for requests without a valid key, per client address,
// each a minute; 429 rate_limited with Retry-After; health, readiness and metrics exempt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateApiKeySecret } from '../../src/auth/api-key-secret.js';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';

async function limitedApi(env: Record<string, string>): Promise<ApiHarness> {
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', ...env } });
  return startApi({ config });
}

test('the defaults are generous per key and strict per address', () => {
  const config = resolveConfig({ env: {} });
  assert.equal(config.rateLimit, 6000);
  assert.equal(config.rateLimitAnon, 60);
});

test('a key past its limit gets 429 rate_limited with Retry-After; other keys and the probes do not', async () => {
  const api = await limitedApi({ SUNDIAL_RATE_LIMIT: '5', SUNDIAL_RATE_LIMIT_ANON: '1000' });
  try {
    // Minting the key is one request of the admin key.
    const viewer = await api.key('viewer');
    for (let i = 0; i < 5; i++) assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: viewer })).statusCode, 200, `request ${i + 1}`);
    const res = await api.call({ method: 'GET', url: '/v1/tasks', token: viewer });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(res.json().code, 'rate_limited');
    assert.match(res.json().detail, /SUNDIAL_RATE_LIMIT/);
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers['retry-after']}`);
    // The admin key has used one request of its own five.
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks' })).statusCode, 200);
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      for (let i = 0; i < 10; i++) assert.equal((await api.call({ method: 'GET', url, token: viewer })).statusCode, 200, url);
    }
  } finally {
    await api.close();
  }
});

test('an address that spends its failures gets 429 before any lookup, even with a valid key; other addresses do not', async () => {
  const api = await limitedApi({ SUNDIAL_RATE_LIMIT_ANON: '3' });
  try {
    const viewer = await api.key('viewer');
    let reads = 0;
    const find = api.store.findApiKeyByHash.bind(api.store);
    api.store.findApiKeyByHash = (hash) => {
      reads++;
      return find(hash);
    };
    const bad = '203.0.113.9';
    // A missing key, a malformed one and an unknown one each count.
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: null, remoteAddress: bad })).statusCode, 401);
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: 'sdl_short', remoteAddress: bad })).statusCode, 401);
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: generateApiKeySecret(), remoteAddress: bad })).statusCode, 401);
    const readsBefore = reads;
    const limited = await api.call({ method: 'GET', url: '/v1/tasks', token: generateApiKeySecret(), remoteAddress: bad });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, 'rate_limited');
    assert.match(limited.json().detail, /SUNDIAL_RATE_LIMIT_ANON/);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal(reads, readsBefore, 'no lookup once the address is limited');
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: viewer, remoteAddress: bad })).statusCode, 429);
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: viewer, remoteAddress: '198.51.100.1' })).statusCode, 200);
    // Successful requests never count against their address.
    for (let i = 0; i < 10; i++) assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: viewer, remoteAddress: '198.51.100.2' })).statusCode, 200);
    assert.equal((await api.call({ method: 'GET', url: '/healthz', token: null, remoteAddress: bad })).statusCode, 200);
  } finally {
    await api.close();
  }
});

test('behind a trusted proxy the client address comes from X-Forwarded-For', async () => {
  const api = await limitedApi({ SUNDIAL_RATE_LIMIT_ANON: '2', SUNDIAL_TRUST_PROXY: '127.0.0.1' });
  try {
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    for (let i = 0; i < 2; i++) await api.call({ method: 'GET', url: '/v1/tasks', token: null, headers: from('192.0.2.50') });
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: null, headers: from('192.0.2.50') })).statusCode, 429);
    // Another client behind the same proxy is its own address.
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: null, headers: from('192.0.2.51') })).statusCode, 401);
    assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', headers: from('192.0.2.52') })).statusCode, 200);
  } finally {
    await api.close();
  }
});

test('0 turns a limit off', async () => {
  const api = await limitedApi({ SUNDIAL_RATE_LIMIT: '0', SUNDIAL_RATE_LIMIT_ANON: '0' });
  try {
    for (let i = 0; i < 100; i++) assert.equal((await api.call({ method: 'GET', url: '/v1/tasks', token: null })).statusCode, 401);
  } finally {
    await api.close();
  }
});
