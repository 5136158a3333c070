// /v1/alert-rules and /v1/alerts through the API: rules of every kind are created (201), read,
// changed and deleted; every bad input is a 4xx problem that changes nothing; roles and namespaces
// hold (system kinds are admin-only); alerts are listed with status, since, resolvedAt and why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import { startApi, type ApiHarness } from '../helpers/api-harness.js';
import { finishRun } from '../store/alert-conformance.js';

const SECRET = 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4';

describe('/v1/alert-rules and /v1/alerts', () => {
  let h: ApiHarness;
  before(async () => {
    h = await startApi();
    const ch = await h.call({ method: 'POST', url: '/v1/channels', payload: { name: 'ops', type: 'webhook', url: 'https://hooks.example.com/x', secret: SECRET } });
    assert.equal(ch.statusCode, 201, ch.body);
    const task = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'nightly', kind: 'http', spec: { url: 'https://example.com/x' } } });
    assert.equal(task.statusCode, 201, task.body);
  });
  after(async () => h.close());

  async function ruleNames(): Promise<string[]> {
    const res = await h.call({ method: 'GET', url: '/v1/alert-rules?namespace=default' });
    assert.equal(res.statusCode, 200);
    return (res.json() as { items: { name: string }[] }).items.map((r) => r.name);
  }

  it('creates a rule of each kind (201) and shows it back', async () => {
    const rules: Record<string, unknown>[] = [
      { name: 'cf', kind: 'consecutive_failures', params: { task: 'nightly', n: 3 }, channels: ['ops'] },
      { name: 're', kind: 'retries_exhausted', params: {} },
      { name: 'ns', kind: 'no_success_for', params: { task: 'nightly', duration: '1h' } },
      { name: 'lp', kind: 'lateness_p99', params: { bound: '2s' }, for: '5m' },
      { name: 'bl', kind: 'backlog', params: { above: 100 }, for: '1m' },
      { name: 'nd', kind: 'node_down', for: '30s' },
      { name: 'sd', kind: 'sink_dropping', params: { window: '10m' } },
      { name: 'ob', kind: 'outbox_backlog', params: { olderThan: '15m' }, enabled: false },
    ];
    for (const payload of rules) {
      const res = await h.call({ method: 'POST', url: '/v1/alert-rules', payload });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers.location, `/v1/alert-rules/${payload.name as string}?namespace=default`);
    }
    const cf = (await h.call({ method: 'GET', url: '/v1/alert-rules/cf' })).json() as Record<string, unknown>;
    assert.deepEqual([cf.kind, cf.params, cf.for, cf.channels, cf.enabled, cf.namespace], ['consecutive_failures', { task: 'nightly', n: 3 }, '0s', ['ops'], true, 'default']);
    const re = (await h.call({ method: 'GET', url: '/v1/alert-rules/re' })).json() as Record<string, unknown>;
    assert.deepEqual(re.params, { within: '1h' }, 'defaults filled in');
    const lp = (await h.call({ method: 'GET', url: '/v1/alert-rules/lp' })).json() as Record<string, unknown>;
    assert.deepEqual([lp.params, lp.for], [{ bound: '2s', window: '5m' }, '5m']);
    assert.deepEqual(await ruleNames(), ['bl', 'cf', 'lp', 'nd', 'ns', 'ob', 're', 'sd']);
    const page = await h.call({ method: 'GET', url: '/v1/alert-rules?limit=3' });
    const body = page.json() as { items: unknown[]; nextCursor: string };
    assert.equal(body.items.length, 3);
    assert.ok(body.nextCursor);
  });

  it('refuses bad rules (4xx problem+json, every field named) and changes nothing', async () => {
    const before = await ruleNames();
    const bad: [Record<string, unknown>, number, string[]][] = [
      [{ name: 'x1', kind: 'consecutive_failures', params: { task: 'nightly' } }, 400, ['/params/n']],
      [{ name: 'x2', kind: 'consecutive_failures', params: { task: 'nightly', n: 0 } }, 400, ['/params/n']],
      [{ name: 'x3', kind: 'consecutive_failures', params: { task: 'nightly', n: 3 }, for: '5m' }, 400, ['/for']],
      [{ name: 'x4', kind: 'no_success_for', params: { task: 'nightly', duration: 'soon' } }, 400, ['/params/duration']],
      [{ name: 'x5', kind: 'lateness_p99', params: { bound: '1s', colour: 'red' } }, 400, ['/params/colour']],
      [{ name: 'x6', kind: 'backlog', params: { above: -1 }, for: 'forever' }, 400, ['/params/above', '/for']],
      [{ name: 'x7', kind: 'backlog', params: { above: 1 }, channels: ['nope'] }, 400, ['/channels/0']],
      [{ name: 'x8', kind: 'sink_dropping', params: { window: '2d' } }, 400, ['/params/window']],
      [{ name: 'x8b', kind: 'lateness_p99', params: { bound: '1s', window: '2h' } }, 400, ['/params/window']],
      [{ name: 'x9', kind: 'retries_exhausted', params: 'all' }, 400, []],
      [{ name: 'x10', kind: 'earthquake' }, 400, []],
      [{ name: 'bad name!', kind: 'node_down' }, 400, []],
      [{ name: 'cf', kind: 'node_down' }, 409, []],
    ];
    for (const [payload, status, paths] of bad) {
      const res = await h.call({ method: 'POST', url: '/v1/alert-rules', payload });
      assert.equal(res.statusCode, status, `${JSON.stringify(payload)}: ${res.body}`);
      assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
      const errors = (res.json() as { errors?: { path: string }[] }).errors ?? [];
      for (const path of paths) assert.ok(errors.some((e) => e.path === path), `${path} in ${res.body}`);
    }
    const patches: [string, Record<string, unknown>, number][] = [
      ['cf', { params: { task: 'nightly', n: 1000 } }, 400],
      ['cf', { kind: 'backlog' }, 400],
      ['cf', { name: 'bl' }, 409],
      ['missing', { enabled: false }, 404],
    ];
    for (const [name, payload, status] of patches) {
      const res = await h.call({ method: 'PATCH', url: `/v1/alert-rules/${name}`, payload });
      assert.equal(res.statusCode, status, `${name} ${JSON.stringify(payload)}: ${res.body}`);
    }
    assert.equal((await h.call({ method: 'GET', url: '/v1/alerts?status=burning' })).statusCode, 400);
    assert.equal((await h.call({ method: 'GET', url: '/v1/alerts?rule=missing' })).statusCode, 404);
    assert.equal((await h.call({ method: 'GET', url: '/v1/alert-rules?cursor=garbage' })).statusCode, 400);
    assert.deepEqual(await ruleNames(), before);
    const cf = (await h.call({ method: 'GET', url: '/v1/alert-rules/cf' })).json() as Record<string, unknown>;
    assert.deepEqual([cf.name, cf.kind, cf.params], ['cf', 'consecutive_failures', { task: 'nightly', n: 3 }]);
  });

  it('lets operators write and viewers read within their namespaces; system kinds are admin-only', async () => {
    const viewer = await h.key('viewer', ['default']);
    const operator = await h.key('operator', ['default']);
    const rule = { name: 'op-rule', kind: 'backlog', params: { above: 5 } };
    assert.equal((await h.call({ method: 'POST', url: '/v1/alert-rules', payload: rule, token: viewer })).statusCode, 403);
    assert.equal((await h.call({ method: 'GET', url: '/v1/alert-rules/cf', token: viewer })).statusCode, 200);
    assert.equal((await h.call({ method: 'GET', url: '/v1/alerts', token: viewer })).statusCode, 200);
    assert.equal((await h.call({ method: 'POST', url: '/v1/alert-rules', payload: rule, token: operator })).statusCode, 201);
    const sys = await h.call({ method: 'POST', url: '/v1/alert-rules', payload: { name: 'op-nodes', kind: 'node_down' }, token: operator });
    assert.equal(sys.statusCode, 400, sys.body);
    assert.ok(sys.body.includes('/kind'));
    assert.equal((await h.call({ method: 'POST', url: '/v1/alert-rules', payload: { ...rule, namespace: 'other' }, token: operator })).statusCode, 403);
    assert.equal((await h.call({ method: 'DELETE', url: '/v1/alert-rules/op-rule', token: viewer })).statusCode, 403);
    assert.equal((await h.call({ method: 'DELETE', url: '/v1/alert-rules/op-rule', token: operator })).statusCode, 200);
    // Nor delete one an admin defined (found by the authorization matrix): it stays.
    assert.equal((await h.call({ method: 'POST', url: '/v1/alert-rules', payload: { name: 'admin-nodes', kind: 'node_down' } })).statusCode, 201);
    const del = await h.call({ method: 'DELETE', url: '/v1/alert-rules/admin-nodes', token: operator });
    assert.equal(del.statusCode, 403, del.body);
    assert.equal((del.json() as { code: string }).code, 'forbidden');
    assert.equal((await h.call({ method: 'GET', url: '/v1/alert-rules/admin-nodes', token: operator })).statusCode, 200);
    assert.equal((await h.call({ method: 'DELETE', url: '/v1/alert-rules/admin-nodes' })).statusCode, 200);
    assert.equal((await h.call({ method: 'GET', url: '/v1/alert-rules/op-rule' })).statusCode, 404);
  });

  it('changes a rule (PATCH) and lists its alerts: firing, then resolved, with why', async () => {
    // A rule as GET shows it can be sent back whole (its "for" of "0s" included).
    const shown = (await h.call({ method: 'GET', url: '/v1/alert-rules/cf' })).json() as Record<string, unknown>;
    const roundTrip = await h.call({ method: 'PATCH', url: '/v1/alert-rules/cf', payload: { name: shown.name, kind: shown.kind, params: shown.params, for: shown.for, channels: shown.channels, enabled: shown.enabled } });
    assert.equal(roundTrip.statusCode, 200, roundTrip.body);
    const patched = await h.call({ method: 'PATCH', url: '/v1/alert-rules/cf', payload: { params: { task: 'nightly', n: 2 } } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual((patched.json() as { params: unknown }).params, { task: 'nightly', n: 2 });
    const task = (await h.store.getTaskByName('default', 'nightly'))!;
    const evaluator = new AlertEvaluator({ intervalMs: 15_000, holder: 'api-test', nodeLeaseMs: 30_000 }, { store: h.store, clock: h.clock, drops: null, onError: (e) => assert.fail(e) });
    const t = h.clock.now();
    await finishRun(h.store, task, t - 20_000, 'failed');
    await finishRun(h.store, task, t - 10_000, 'failed');
    await evaluator.evaluate();
    const firing = (await h.call({ method: 'GET', url: '/v1/alerts?status=firing' })).json() as { items: Record<string, unknown>[] };
    const cf = firing.items.find((a) => (a.rule as { name: string }).name === 'cf');
    assert.ok(cf, JSON.stringify(firing));
    assert.equal(cf.status, 'firing');
    assert.equal(cf.since, new Date(t).toISOString());
    assert.equal(cf.resolvedAt, null);
    assert.equal(cf.why, 'task default/nightly failed 2 times in a row (bound 2)');
    assert.deepEqual((cf.rule as Record<string, unknown>).kind, 'consecutive_failures');

    h.clock.advance(60_000);
    await finishRun(h.store, task, h.clock.now() - 1000, 'succeeded');
    await evaluator.evaluate();
    const ofRule = (await h.call({ method: 'GET', url: '/v1/alerts?rule=cf' })).json() as { items: Record<string, unknown>[] };
    assert.equal(ofRule.items.length, 1);
    assert.equal(ofRule.items[0]?.status, 'resolved');
    assert.equal(ofRule.items[0]?.resolvedAt, new Date(h.clock.now()).toISOString());
    const deliveries = (await h.call({ method: 'GET', url: '/v1/channels/ops/deliveries' })).json() as { items: { type: string }[] };
    assert.deepEqual(deliveries.items.map((d) => d.type), ['alert.resolved', 'alert.firing']);
  });
});
