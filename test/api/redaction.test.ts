// Issue 12, hole 3: stored credentials in task specs are not shown to keys that do not need them.
// Viewers never see a credential-like http header's value; shell environments are shown to
// admins only. The same holds for `task:changed` events on /v1/events.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';
import { frameData, openSse } from '../helpers/sse.js';

const SECRETS = ['Bearer s3cret-bearer', 'k3y-value', 'tok-value', 'sess=c00kie', 'pa55word', 'env-s3cret'];

let h: ApiHarness;
let base: string;
let viewer: string;
let operator: string;

before(async () => {
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_SHELL_TASKS: 'on' } });
  h = await startApi({ config, sseHeartbeatMs: 50 });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  viewer = await h.key('viewer', ['*']);
  operator = await h.key('operator', ['*']);
  const http = await h.call({
    method: 'POST',
    url: '/v1/tasks',
    payload: {
      name: 'with-creds',
      kind: 'http',
      spec: {
        url: 'https://example.com/hook',
        method: 'POST',
        headers: { Authorization: 'Bearer s3cret-bearer', 'x-api-key': 'k3y-value', 'X-Upstream-Token': 'tok-value', Cookie: 'sess=c00kie', 'x-db-password': 'pa55word', 'content-type': 'application/json' },
      },
    },
  });
  assert.equal(http.statusCode, 201, http.body);
  const shell = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'sh-env', kind: 'shell', spec: { command: ['env'], env: { API_PASS: 'env-s3cret', MODE: 'fast' } } } });
  assert.equal(shell.statusCode, 201, shell.body);
});
after(async () => {
  await h.close();
});

interface TaskBody {
  name: string;
  spec: { headers?: Record<string, string>; env?: Record<string, string> };
}

async function tasksAs(token: string): Promise<Map<string, TaskBody>> {
  const list = (await h.call({ method: 'GET', url: '/v1/tasks', token })).json() as { items: TaskBody[] };
  const one = (await h.call({ method: 'GET', url: '/v1/tasks/with-creds', token })).json() as TaskBody;
  const sh = (await h.call({ method: 'GET', url: '/v1/tasks/sh-env', token })).json() as TaskBody;
  assert.deepEqual(list.items.find((t) => t.name === 'with-creds')?.spec, one.spec, 'the list shows what the single read shows');
  return new Map([
    ['with-creds', one],
    ['sh-env', sh],
  ]);
}

describe('credentials in task specs', () => {
  test('a viewer sees credential-like header values and shell env values as [redacted], other headers as they are', async () => {
    const seen = await tasksAs(viewer);
    assert.deepEqual(seen.get('with-creds')!.spec.headers, {
      Authorization: '[redacted]',
      'x-api-key': '[redacted]',
      'X-Upstream-Token': '[redacted]',
      Cookie: '[redacted]',
      'x-db-password': '[redacted]',
      'content-type': 'application/json',
    });
    assert.deepEqual(seen.get('sh-env')!.spec.env, { API_PASS: '[redacted]', MODE: '[redacted]' });
    const all = JSON.stringify([...seen.values()]) + (await h.call({ method: 'GET', url: '/v1/tasks', token: viewer })).body;
    for (const s of SECRETS) assert.ok(!all.includes(s), `a viewer saw ${s}`);
  });

  test('an operator sees http headers (they edit those tasks) but not shell environments (admin-only tasks)', async () => {
    const seen = await tasksAs(operator);
    assert.equal(seen.get('with-creds')!.spec.headers!.Authorization, 'Bearer s3cret-bearer');
    assert.deepEqual(seen.get('sh-env')!.spec.env, { API_PASS: '[redacted]', MODE: '[redacted]' });
  });

  test('an admin sees everything, and the stored spec is unchanged', async () => {
    const seen = await tasksAs(ADMIN_TOKEN);
    assert.equal(seen.get('with-creds')!.spec.headers!['x-api-key'], 'k3y-value');
    assert.equal(seen.get('sh-env')!.spec.env!.API_PASS, 'env-s3cret');
  });

  test('task:changed events are redacted per key the same way', async () => {
    const asViewer = await openSse(`${base}/v1/events`, viewer);
    const asOperator = await openSse(`${base}/v1/events`, operator);
    const asAdmin = await openSse(`${base}/v1/events`, ADMIN_TOKEN);
    try {
      for (const s of [asViewer, asOperator, asAdmin]) await s.next((f) => f.includes(': connected') || f.includes(': heartbeat'));
      assert.equal((await h.call({ method: 'PATCH', url: '/v1/tasks/with-creds', payload: { description: 'changed' } })).statusCode, 200);
      assert.equal((await h.call({ method: 'PATCH', url: '/v1/tasks/sh-env', payload: { description: 'changed' } })).statusCode, 200);
      const spec = async (s: typeof asViewer, name: string): Promise<TaskBody['spec']> =>
        ((frameData(await s.next((f) => f.startsWith('event: task:changed') && f.includes(`"name":"${name}"`))).task as TaskBody).spec);
      assert.equal((await spec(asViewer, 'with-creds')).headers!.Authorization, '[redacted]');
      assert.equal((await spec(asViewer, 'sh-env')).env!.API_PASS, '[redacted]');
      assert.equal((await spec(asOperator, 'with-creds')).headers!.Authorization, 'Bearer s3cret-bearer');
      assert.equal((await spec(asOperator, 'sh-env')).env!.API_PASS, '[redacted]');
      assert.equal((await spec(asAdmin, 'with-creds')).headers!.Authorization, 'Bearer s3cret-bearer');
      assert.equal((await spec(asAdmin, 'sh-env')).env!.API_PASS, 'env-s3cret');
      for (const s of SECRETS) assert.ok(!asViewer.text().includes(s), `a viewer's stream carried ${s}`);
    } finally {
      for (const s of [asViewer, asOperator, asAdmin]) s.close();
    }
  });
});
