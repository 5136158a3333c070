// Issue 12, hole 6: http tasks aimed at loopback, private, link-local or metadata addresses are
// refused when they are created or changed (400 at /spec/url), not only when they run; the
// operator's allow-list (SUNDIAL_OUTBOUND_ALLOW) lets them through as it does at run time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, httpTask, startApi, type ApiHarness } from '../helpers/api-harness.js';

const REFUSED = [
  'http://127.0.0.1:8080/v1/api-keys',
  'http://169.254.169.254/latest/meta-data/',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://10.1.2.3/hook',
  'http://192.168.1.1/',
  'http://0.0.0.0/',
  'http://2130706433/',
  'http://localhost:9000/',
  'http://api.localhost/',
  'http://metadata.google.internal/computeMetadata/v1/',
];

interface Problem {
  code: string;
  errors?: { path: string; message: string }[];
}

describe('http task targets at creation', () => {
  let h: ApiHarness;
  before(async () => {
    h = await startApi();
  });
  after(async () => {
    await h.close();
  });

  test('private, loopback, link-local and metadata targets are a 400 at /spec/url, and nothing is stored', async () => {
    for (const [i, url] of REFUSED.entries()) {
      const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: `t-${i}`, kind: 'http', spec: { url } } });
      assert.equal(res.statusCode, 400, `${url}: ${res.statusCode} ${res.body}`);
      const p = res.json() as Problem;
      assert.equal(p.code, 'validation_failed');
      assert.ok(p.errors?.some((e) => e.path === '/spec/url' && /SUNDIAL_OUTBOUND_ALLOW|metadata/.test(e.message)), `${url}: ${res.body}`);
    }
    assert.deepEqual(((await h.call({ method: 'GET', url: '/v1/tasks' })).json() as { items: unknown[] }).items, []);
  });

  test('a PATCH that points a task there is refused too; public targets are fine', async () => {
    const created = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('public') });
    assert.equal(created.statusCode, 201);
    const ip = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'public-ip', kind: 'http', spec: { url: 'http://93.184.215.14/' } } });
    assert.equal(ip.statusCode, 201, ip.body);
    const patch = await h.call({ method: 'PATCH', url: '/v1/tasks/public', payload: { spec: { url: 'http://169.254.169.254/' } } });
    assert.equal(patch.statusCode, 400, patch.body);
    const task = (await h.call({ method: 'GET', url: '/v1/tasks/public' })).json() as { spec: { url: string } };
    assert.equal(task.spec.url, 'https://example.com/hook');
  });
});

describe('http task targets the operator allow-listed', () => {
  let h: ApiHarness;
  before(async () => {
    const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_OUTBOUND_ALLOW: '127.0.0.1,localhost,10.0.0.0/8' } });
    h = await startApi({ config });
  });
  after(async () => {
    await h.close();
  });

  test('are accepted; the rest stay refused', async () => {
    for (const url of ['http://127.0.0.1:8080/', 'http://localhost:9000/', 'http://10.1.2.3/hook']) {
      const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: `ok-${new URL(url).hostname}`, kind: 'http', spec: { url } } });
      assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
    }
    const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'meta', kind: 'http', spec: { url: 'http://169.254.169.254/' } } });
    assert.equal(res.statusCode, 400);
  });
});
