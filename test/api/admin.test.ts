// Audit rows, cluster views, stats, health routes, the OpenAPI document and schedule previews.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashApiKey } from '../../src/auth/api-key-secret.js';
import { ADMIN_TOKEN, httpTask, startApi, startRuns, type ApiHarness } from '../helpers/api-harness.js';

interface AuditRow {
  actor: string;
  ip: string | null;
  action: string;
  targetType: string;
  targetId: string;
  namespace: string;
  detail: unknown;
  at: string;
}

let h: ApiHarness;
let adminActor: string;
before(async () => {
  h = await startApi();
  adminActor = `key:${(await h.store.findApiKeyByHash(hashApiKey(ADMIN_TOKEN)))!.id}`;
});
after(async () => {
  await h.close();
});

async function auditOf(query = ''): Promise<AuditRow[]> {
  const res = await h.call({ method: 'GET', url: `/v1/audit?limit=500${query}` });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { items: AuditRow[] }).items;
}

describe('audit', () => {
  test('every change through the API writes one row with actor, ip, action, target and detail', async () => {
    const before = (await auditOf()).length;
    const task = (await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('audited', { namespace: 'ops' }) })).json() as { id: string };
    const t = `/v1/tasks/${task.id}`;
    await h.call({ method: 'PATCH', url: t, payload: { description: 'd' } });
    await h.call({ method: 'POST', url: `${t}/pause` });
    await h.call({ method: 'POST', url: `${t}/resume` });
    await h.call({ method: 'POST', url: `${t}/schedule`, payload: { schedule: { type: 'interval', every: '1h' } } });
    const at = (await h.call({ method: 'POST', url: `${t}/schedule`, payload: { at: '2026-04-01T00:00:00Z' } })).json() as { id: string };
    const manual = (await h.call({ method: 'POST', url: `${t}/runs`, payload: { idempotencyKey: 'k' } })).json() as { id: string };
    await h.call({ method: 'POST', url: `${t}/runs`, payload: { idempotencyKey: 'k' } }); // repeat: no change, no row
    await h.call({ method: 'POST', url: `/v1/runs/${at.id}/reschedule`, payload: { at: '2026-04-02T00:00:00Z' } });
    await h.call({ method: 'POST', url: `/v1/runs/${manual.id}/cancel` });
    const key = (await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'temp', role: 'viewer' } })).json() as { id: string };
    await h.call({ method: 'DELETE', url: `/v1/api-keys/${key.id}` });
    await h.call({ method: 'DELETE', url: t });
    // Refused changes leave no trace.
    await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('bad name') });

    const rows = (await auditOf()).slice(0, (await auditOf()).length - before);
    const actions = rows.map((r) => r.action).reverse();
    assert.deepEqual(actions, [
      'task.create',
      'task.update',
      'task.pause',
      'task.resume',
      'task.schedule',
      'run.create',
      'run.create',
      'run.reschedule',
      'run.cancel',
      'api_key.create',
      'api_key.revoke',
      'task.delete',
    ]);
    for (const r of rows) {
      assert.equal(r.actor, adminActor);
      assert.equal(r.ip, '127.0.0.1');
    }
    const create = rows.find((r) => r.action === 'task.create')!;
    assert.equal(create.targetType, 'task');
    assert.equal(create.targetId, task.id);
    assert.equal(create.namespace, 'ops');
    assert.deepEqual(create.detail, { name: 'audited', kind: 'http' });
    const reschedule = rows.find((r) => r.action === 'run.reschedule')!;
    assert.deepEqual(reschedule.detail, { from: '2026-04-01T00:00:00.000Z', to: '2026-04-02T00:00:00.000Z' });
  });

  test('filters by actor, action, target and time', async () => {
    const task = (await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('audit-filter') })).json() as { id: string };
    const byTarget = await auditOf(`&target=${task.id}`);
    assert.deepEqual(byTarget.map((r) => r.action), ['task.create']);
    const byAction = await auditOf('&action=task.create');
    assert.ok(byAction.length >= 1 && byAction.every((r) => r.action === 'task.create'));
    const byActor = await auditOf(`&actor=${encodeURIComponent(adminActor)}`);
    assert.ok(byActor.every((r) => r.actor === adminActor));
    const future = await auditOf('&from=2030-01-01T00:00:00Z');
    assert.deepEqual(future, []);
  });
});

describe('cluster and stats', () => {
  test('/v1/cluster/nodes shows this node on a single node', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/cluster/nodes' });
    assert.equal(res.statusCode, 200);
    const nodes = (res.json() as { items: { id: string; heartbeatAt: string }[] }).items;
    assert.deepEqual(nodes.map((n) => n.id), ['test-node']);
    assert.equal(nodes[0]!.heartbeatAt, new Date(h.clock.now()).toISOString());
  });

  test('/v1/stats counts runs by status, the backlog and tasks', async () => {
    const fresh = await startApi();
    try {
      await fresh.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('s1') });
      const s2 = (await fresh.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('s2') })).json() as { id: string };
      await fresh.call({ method: 'POST', url: `/v1/tasks/${s2.id}/pause` });
      const r1 = (await fresh.call({ method: 'POST', url: '/v1/tasks/s1/runs', payload: {} })).json() as { id: string };
      await fresh.call({ method: 'POST', url: '/v1/tasks/s1/runs', payload: {} });
      await startRuns(fresh, [r1.id]);
      const res = await fresh.call({ method: 'GET', url: '/v1/stats' });
      assert.equal(res.statusCode, 200, res.body);
      const stats = res.json() as { runs: { byStatus: Record<string, number>; backlog: number }; tasks: Record<string, number> };
      assert.deepEqual(stats.tasks, { total: 2, active: 1, paused: 1 });
      assert.equal(stats.runs.byStatus.running, 1);
      assert.equal(stats.runs.byStatus.scheduled, 1);
      assert.equal(stats.runs.byStatus.failed, 0);
      assert.equal(stats.runs.backlog, 1);
    } finally {
      await fresh.close();
    }
  });
});

describe('health', () => {
  test('/healthz is 200; /readyz follows isReady with a 503 not_ready problem', async () => {
    assert.deepEqual((await h.call({ method: 'GET', url: '/healthz', token: null })).json(), { status: 'ok' });
    assert.deepEqual((await h.call({ method: 'GET', url: '/readyz', token: null })).json(), { status: 'ready' });
    h.ready.value = false;
    try {
      const res = await h.call({ method: 'GET', url: '/readyz', token: null });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().code, 'not_ready');
      assert.equal((await h.call({ method: 'GET', url: '/healthz', token: null })).statusCode, 200);
    } finally {
      h.ready.value = true;
    }
  });

  test('/metrics serves the registry in Prometheus text format', async () => {
    const res = await h.call({ method: 'GET', url: '/metrics', token: null });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
  });
});

describe('OpenAPI', () => {
  test('/openapi.json lists every route with its methods', async () => {
    const res = await h.call({ method: 'GET', url: '/openapi.json', token: null });
    assert.equal(res.statusCode, 200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    assert.equal(doc.openapi, '3.1.0');
    const expected: [string, string][] = [
      ['post', '/v1/tasks'],
      ['get', '/v1/tasks'],
      ['get', '/v1/tasks/{idOrName}'],
      ['patch', '/v1/tasks/{idOrName}'],
      ['delete', '/v1/tasks/{idOrName}'],
      ['post', '/v1/tasks/{idOrName}/schedule'],
      ['post', '/v1/tasks/{idOrName}/runs'],
      ['post', '/v1/tasks/{idOrName}/pause'],
      ['post', '/v1/tasks/{idOrName}/resume'],
      ['get', '/v1/runs'],
      ['get', '/v1/runs/{id}'],
      ['get', '/v1/runs/{id}/logs'],
      ['get', '/v1/runs/{id}/metrics'],
      ['post', '/v1/runs/{id}/reschedule'],
      ['post', '/v1/runs/{id}/cancel'],
      ['post', '/v1/schedules/preview'],
      ['get', '/v1/events'],
      ['post', '/v1/api-keys'],
      ['get', '/v1/api-keys'],
      ['delete', '/v1/api-keys/{id}'],
      ['get', '/v1/audit'],
      ['get', '/v1/cluster/nodes'],
      ['get', '/v1/stats'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
      ['get', '/openapi.json'],
    ];
    for (const [method, path] of expected) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is not in the document`);
      assert.ok(Object.keys(op.responses).length > 0, `${method.toUpperCase()} ${path} documents no response`);
    }
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    assert.equal(listed.length, expected.length, `unexpected routes: ${listed.join(', ')}`);
  });

  test('/docs serves the browsable description', async () => {
    const res = await h.call({ method: 'GET', url: '/docs/', token: null });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /swagger/i);
  });
});

describe('POST /v1/schedules/preview', () => {
  test('answers the next fire times and the schedule in words', async () => {
    const res = await h.call({
      method: 'POST',
      url: '/v1/schedules/preview',
      payload: { schedule: { type: 'cron', expression: '30 2 * * *', timezone: 'Europe/Berlin' }, count: 3, from: '2026-03-28T00:00:00Z' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { times: string[]; description: string };
    // 29 March 2026: 02:30 does not exist in Berlin (spring forward); it fires once, right after the gap.
    assert.deepEqual(body.times, ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    assert.match(body.description, /02:30/);
  });

  test('count defaults to 10, is at most 100, and from defaults to now', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/schedules/preview', payload: { schedule: { type: 'interval', every: '30s' } } });
    const times = (res.json() as { times: string[] }).times;
    assert.equal(times.length, 10);
    assert.equal(times[0], new Date(h.clock.now() + 30_000).toISOString());
    const tooMany = await h.call({ method: 'POST', url: '/v1/schedules/preview', payload: { schedule: { type: 'interval', every: '30s' }, count: 101 } });
    assert.equal(tooMany.statusCode, 400);
  });
});
