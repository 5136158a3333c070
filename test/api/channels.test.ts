// /v1/channels and policies.notify through the API: validation refuses bad channels and changes
// nothing, secrets never appear in an answer or the audit log, roles and namespaces are
// enforced, deliveries are listed in pages and a test delivery is queued.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, startApi, httpTask, type ApiHarness } from '../helpers/api-harness.js';

const SECRET = 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4';

describe('/v1/channels', () => {
  let h: ApiHarness;
  before(async () => {
    const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_SMTP_URL: 'smtp://127.0.0.1:2525' } });
    h = await startApi({ config });
  });
  after(async () => h.close());

  async function channelNames(): Promise<string[]> {
    const res = await h.call({ method: 'GET', url: '/v1/channels?namespace=default' });
    assert.equal(res.statusCode, 200);
    return (res.json() as { items: { name: string }[] }).items.map((c) => c.name);
  }

  it('creates a webhook channel (201) and never answers with its secret', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/channels', payload: { name: 'ops', type: 'webhook', url: 'https://hooks.example.com/sundial', secret: SECRET } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.secretSet, true);
    assert.equal(body.secret, undefined);
    assert.equal(body.namespace, 'default');
    for (const r of [
      res,
      await h.call({ method: 'GET', url: '/v1/channels/ops' }),
      await h.call({ method: 'GET', url: '/v1/channels' }),
      await h.call({ method: 'PATCH', url: '/v1/channels/ops', payload: { url: 'https://hooks.example.com/v2' } }),
      await h.call({ method: 'GET', url: '/v1/audit?limit=500' }),
    ]) {
      assert.ok(!r.body.includes(SECRET) && !r.body.includes(SECRET.slice(6)), `no secret in ${r.body.slice(0, 200)}`);
    }
    const audit = await h.store.listAudit({ namespaces: '*', limit: 100 });
    assert.ok(!JSON.stringify(audit).includes(SECRET.slice(6)));
    assert.ok(audit.items.some((a) => a.action === 'channel.create'));
  });

  it('refuses channels it could not deliver to (4xx) and changes nothing', async () => {
    const before = await channelNames();
    const bad: [Record<string, unknown>, number, string][] = [
      [{ name: 'w1', type: 'webhook', url: 'https://hooks.example.com/x' }, 400, '/secret'],
      [{ name: 'w2', type: 'webhook', url: 'https://hooks.example.com/x', secret: 'hunter2' }, 400, '/secret'],
      [{ name: 'w3', type: 'webhook', url: 'ftp://hooks.example.com/x', secret: SECRET }, 400, '/url'],
      [{ name: 'w4', type: 'webhook', url: 'http://10.1.2.3/hook', secret: SECRET }, 400, '/url'],
      [{ name: 'w5', type: 'slack', url: 'http://169.254.169.254/latest' }, 400, '/url'],
      [{ name: 'w6', type: 'slack', url: 'http://[::1]:8080/x' }, 400, '/url'],
      [{ name: 'w6b', type: 'slack', url: 'http://localhost:8080/x' }, 400, '/url'],
      [{ name: 'w6c', type: 'webhook', url: 'http://2130706433/x', secret: SECRET }, 400, '/url'],
      [{ name: 'w7', type: 'slack' }, 400, '/url'],
      [{ name: 'w8', type: 'email', to: 'not-an-address' }, 400, '/to'],
      [{ name: 'w9', type: 'email', to: 'ops@example.com', secret: SECRET }, 400, '/secret'],
      [{ name: 'bad name!', type: 'slack', url: 'https://hooks.slack.com/services/x' }, 400, ''],
      [{ name: 'w10', type: 'sms', url: 'https://x.example.com' }, 400, ''],
      [{ name: 'ops', type: 'slack', url: 'https://hooks.slack.com/services/x' }, 409, ''],
    ];
    for (const [payload, status, path] of bad) {
      const res = await h.call({ method: 'POST', url: '/v1/channels', payload });
      assert.equal(res.statusCode, status, `${JSON.stringify(payload)}: ${res.body}`);
      assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
      if (path !== '') assert.ok((res.json() as { errors?: { path: string }[] }).errors?.some((e) => e.path === path), res.body);
    }
    assert.deepEqual(await channelNames(), before);
  });

  it('needs an SMTP server for e-mail channels', async () => {
    const plain = await startApi();
    try {
      const res = await plain.call({ method: 'POST', url: '/v1/channels', payload: { name: 'mail', type: 'email', to: 'ops@example.com' } });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /SUNDIAL_SMTP_URL/);
    } finally {
      await plain.close();
    }
    const ok = await h.call({ method: 'POST', url: '/v1/channels', payload: { name: 'mail', type: 'email', to: 'ops@example.com, oncall@example.com' } });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal((ok.json() as { to: string }).to, 'ops@example.com, oncall@example.com');
  });

  it('lets operators write, viewers read, within their namespaces', async () => {
    const viewer = await h.key('viewer', ['default']);
    const operator = await h.key('operator', ['team-a']);
    const slack = { name: 'team-slack', type: 'slack', url: 'https://hooks.slack.com/services/T/B/x' };
    assert.equal((await h.call({ method: 'POST', url: '/v1/channels', payload: slack, token: viewer })).statusCode, 403);
    assert.equal((await h.call({ method: 'GET', url: '/v1/channels/ops', token: viewer })).statusCode, 200);
    assert.equal((await h.call({ method: 'POST', url: '/v1/channels', payload: { ...slack, namespace: 'default' }, token: operator })).statusCode, 403);
    assert.equal((await h.call({ method: 'POST', url: '/v1/channels', payload: slack, token: operator })).statusCode, 201);
    assert.equal((await h.call({ method: 'GET', url: '/v1/channels/ops', token: operator })).statusCode, 404, 'another namespace is not visible');
    assert.equal((await h.call({ method: 'DELETE', url: '/v1/channels/ops', token: viewer })).statusCode, 403);
    // A Slack URL is a credential: viewers see its origin only; operators, who edit it, all of it.
    await h.call({ method: 'POST', url: '/v1/channels', payload: { name: 'slack-x', type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/s3cr3t' } });
    const seen = await h.call({ method: 'GET', url: '/v1/channels?namespace=default', token: viewer });
    assert.ok(!seen.body.includes('s3cr3t'), seen.body);
    assert.ok(seen.body.includes('https://hooks.slack.com/[redacted]'));
    const asAdmin = await h.call({ method: 'GET', url: '/v1/channels/slack-x' });
    assert.equal((asAdmin.json() as { url: string }).url, 'https://hooks.slack.com/services/T0/B0/s3cr3t');
    await h.call({ method: 'DELETE', url: '/v1/channels/slack-x' });
  });

  it('changes and deletes channels; a webhook keeps its secret unless one is given', async () => {
    await h.call({ method: 'POST', url: '/v1/channels', payload: { name: 'tmp', type: 'slack', url: 'https://hooks.slack.com/services/a' } });
    const cleared = await h.call({ method: 'PATCH', url: '/v1/channels/ops', payload: { secret: null } });
    assert.equal(cleared.statusCode, 400, 'a webhook cannot lose its secret');
    const toWebhook = await h.call({ method: 'PATCH', url: '/v1/channels/tmp', payload: { type: 'webhook' } });
    assert.equal(toWebhook.statusCode, 400, 'a webhook needs a secret');
    const renamed = await h.call({ method: 'PATCH', url: '/v1/channels/tmp', payload: { name: 'tmp2', type: 'webhook', secret: SECRET } });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal((renamed.json() as { secretSet: boolean }).secretSet, true);
    assert.equal((await h.call({ method: 'PATCH', url: '/v1/channels/tmp2', payload: { name: 'ops' } })).statusCode, 409);
    assert.equal((await h.call({ method: 'PATCH', url: '/v1/channels/nope', payload: { name: 'x' } })).statusCode, 404);
    assert.equal((await h.call({ method: 'DELETE', url: '/v1/channels/tmp2' })).statusCode, 200);
    const gone = await h.call({ method: 'GET', url: '/v1/channels/tmp2' });
    assert.equal(gone.statusCode, 404);
    assert.equal((gone.json() as { code: string }).code, 'channel_not_found');
  });

  it('checks policies.notify: unknown channels and events are refused and change nothing', async () => {
    const unknown = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('n1', { policies: { notify: [{ on: ['failed'], channel: 'nope' }] } }) });
    assert.equal(unknown.statusCode, 400, unknown.body);
    assert.ok((unknown.json() as { errors: { path: string }[] }).errors.some((e) => e.path === '/policies/notify/0/channel'));
    const badEvent = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('n1', { policies: { notify: [{ on: ['exploded'], channel: 'ops' }] } }) });
    assert.equal(badEvent.statusCode, 400);
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks/n1' })).statusCode, 404, 'no task was created');

    const created = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('n1', { policies: { notify: [{ on: ['failed', 'recovered'], channel: 'ops' }] } }) });
    assert.equal(created.statusCode, 201, created.body);
    const view = created.json() as { version: number; policies: { notify: unknown } };
    assert.deepEqual(view.policies.notify, [{ on: ['failed', 'recovered'], channel: 'ops' }]);
    const patch = await h.call({ method: 'PATCH', url: '/v1/tasks/n1', payload: { policies: { notify: [{ on: ['failed'], channel: 'missing' }] } } });
    assert.equal(patch.statusCode, 400);
    const after = (await h.call({ method: 'GET', url: '/v1/tasks/n1' })).json() as { version: number; policies: { notify: unknown } };
    assert.equal(after.version, view.version);
    assert.deepEqual(after.policies.notify, view.policies.notify);
    const plain = (await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('n2') })).json() as { policies: { notify: unknown } };
    assert.deepEqual(plain.policies.notify, []);
    const stored = await h.store.getTaskByName('default', 'n2');
    assert.equal(stored?.policies.notify, undefined, 'a task without rules stores none (the scheduler tests only this)');
  });

  it('queues test deliveries and lists deliveries newest first, in pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.call({ method: 'POST', url: '/v1/channels/ops/test' });
      assert.equal(res.statusCode, 202, res.body);
      const d = res.json() as { id: string; type: string; status: string; attempts: unknown[] };
      assert.equal(d.type, 'run.test');
      assert.equal(d.status, 'pending');
      assert.deepEqual(d.attempts, []);
      ids.push(d.id);
      h.clock.advance(1);
    }
    const p1 = (await h.call({ method: 'GET', url: '/v1/channels/ops/deliveries?limit=2' })).json() as { items: { id: string }[]; nextCursor: string };
    assert.equal(p1.items.length, 2);
    const p2 = (await h.call({ method: 'GET', url: `/v1/channels/ops/deliveries?limit=2&cursor=${p1.nextCursor}` })).json() as { items: { id: string }[]; nextCursor: null };
    assert.equal(p2.nextCursor, null);
    assert.deepEqual([...p1.items, ...p2.items].map((d) => d.id), [...ids].reverse());
    assert.equal((await h.call({ method: 'GET', url: '/v1/channels/ops/deliveries?cursor=bogus' })).statusCode, 400);
    assert.equal((await h.call({ method: 'GET', url: '/v1/channels/nope/deliveries' })).statusCode, 404);
    assert.equal((await h.call({ method: 'POST', url: '/v1/channels/nope/test' })).statusCode, 404);
  });
});
