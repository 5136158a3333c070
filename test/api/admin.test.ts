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

describe('GET /v1/me', () => {
  test('says who the calling key is, its role and namespaces, for every role', async () => {
    const admin = await h.call({ method: 'GET', url: '/v1/me' });
    assert.equal(admin.statusCode, 200, admin.body);
    assert.deepEqual(admin.json(), { actor: adminActor, role: 'admin', namespaces: ['*'] });
    const viewer = await h.call({ method: 'GET', url: '/v1/me', token: await h.key('viewer', ['reports', 'billing']) });
    assert.equal(viewer.statusCode, 200, viewer.body);
    const me = viewer.json() as { actor: string; role: string; namespaces: string[] };
    assert.equal(me.role, 'viewer');
    assert.deepEqual(me.namespaces, ['reports', 'billing']);
    assert.match(me.actor, /^key:[0-9a-f-]{36}$/);
    assert.equal((await h.call({ method: 'GET', url: '/v1/me', token: null })).statusCode, 401);
  });
});

describe('cluster and stats', () => {
  test('/v1/cluster/nodes shows this node on a single node', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/cluster/nodes' });
    assert.equal(res.statusCode, 200);
    const nodes = (res.json() as { items: { id: string; lastHeartbeatAt: string; status: string; runsInFlight: number }[] }).items;
    assert.deepEqual(nodes.map((n) => n.id), ['test-node']);
    assert.equal(nodes[0]!.lastHeartbeatAt, new Date(h.clock.now()).toISOString());
    assert.equal(nodes[0]!.status, 'up');
    assert.equal(nodes[0]!.runsInFlight, 0);
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

describe('GET /v1/stats/runs', () => {
  interface Minute {
    at: string;
    succeeded: number;
    failed: number;
    timed_out: number;
    cancelled: number;
    skipped: number;
    started: number;
    lateP50Ms: number | null;
    lateP99Ms: number | null;
  }
  interface RunStats {
    from: string;
    to: string;
    bucketMs: number;
    buckets: Minute[];
  }
  const empty = { succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, skipped: 0, started: 0, lateP50Ms: null, lateP99Ms: null };

  let s: ApiHarness;
  before(async () => {
    s = await startApi();
    for (const namespace of ['ops', 'web']) {
      const res = await s.call({ method: 'POST', url: '/v1/tasks', payload: httpTask(`${namespace}-job`, { namespace }) });
      assert.equal(res.statusCode, 201, res.body);
    }
    const trigger = async (namespace: string) =>
      ((await s.call({ method: 'POST', url: `/v1/tasks/${namespace}-job/runs?namespace=${namespace}`, payload: {} })).json() as { id: string }).id;
    const complete = async (run: { id: string; leaseEpoch: number }, status: 'succeeded' | 'failed') =>
      s.store.completeRuns([{ runId: run.id, leaseEpoch: run.leaseEpoch, status, finishedAt: s.clock.now() + 10 }]);
    // 10:00: one run, started 40 ms late, succeeded.
    const r1 = await trigger('ops');
    s.clock.advance(40);
    await complete((await startRuns(s, [r1]))[0]!, 'succeeded');
    // 10:01: one started 1.5 s late and failed (ops), one started on time and still running (web).
    s.clock.set('2026-03-02T10:01:30Z');
    const r2 = await trigger('ops');
    s.clock.advance(1500);
    const r3 = await trigger('web');
    const [c2] = await startRuns(s, [r2, r3]);
    await complete(c2!, 'failed');
    // 10:02: one cancelled before it started, and one pending (counted nowhere).
    s.clock.set('2026-03-02T10:02:10Z');
    await s.call({ method: 'POST', url: `/v1/runs/${await trigger('ops')}/cancel` });
    s.clock.set('2026-03-02T10:02:30Z');
    await s.call({ method: 'POST', url: '/v1/tasks/ops-job/schedule?namespace=ops', payload: { at: '2026-03-02T10:02:40Z' } });
  });
  after(async () => {
    await s.close();
  });

  async function stats(query: string, token?: string): Promise<RunStats> {
    const res = await s.call({ method: 'GET', url: `/v1/stats/runs${query}`, ...(token !== undefined && { token }) });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as RunStats;
  }

  test('every minute up to the current one, oldest first: counts by status, started runs and lateness percentiles', async () => {
    const body = await stats('?minutes=5');
    assert.equal(body.from, '2026-03-02T09:58:00.000Z');
    assert.equal(body.to, '2026-03-02T10:03:00.000Z');
    assert.equal(body.bucketMs, 60_000);
    assert.deepEqual(body.buckets, [
      { at: '2026-03-02T09:58:00.000Z', ...empty },
      { at: '2026-03-02T09:59:00.000Z', ...empty },
      { at: '2026-03-02T10:00:00.000Z', ...empty, succeeded: 1, started: 1, lateP50Ms: 40, lateP99Ms: 40 },
      { at: '2026-03-02T10:01:00.000Z', ...empty, failed: 1, started: 2, lateP50Ms: 0, lateP99Ms: 1500 },
      { at: '2026-03-02T10:02:00.000Z', ...empty, cancelled: 1 },
    ]);
  });

  test('minutes defaults to 60 and is 1..1440', async () => {
    const body = await stats('');
    assert.equal(body.buckets.length, 60);
    assert.equal(body.from, '2026-03-02T09:03:00.000Z');
    assert.equal(body.buckets[59]!.at, '2026-03-02T10:02:00.000Z');
    assert.equal((await stats('?minutes=1440')).buckets.length, 1440);
    for (const [minutes, message] of [
      ['0', 'must be >= 1'],
      ['1441', 'must be <= 1440'],
      ['an-hour', 'must be integer'],
    ]) {
      const res = await s.call({ method: 'GET', url: `/v1/stats/runs?minutes=${minutes}` });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json().errors, [{ path: '/query/minutes', message }]);
    }
  });

  test("counts only the key's namespaces, like /v1/stats", async () => {
    const web = await s.key('viewer', ['web']);
    const minute = async (query: string, token?: string) => (await stats(`?minutes=5${query}`, token)).buckets.find((b) => b.at.startsWith('2026-03-02T10:01'))!;
    assert.deepEqual(await minute('', web), { at: '2026-03-02T10:01:00.000Z', ...empty, started: 1, lateP50Ms: 0, lateP99Ms: 0 });
    // A namespace the key does not cover looks empty, exactly like one without runs.
    assert.deepEqual(await minute('&namespace=ops', web), { at: '2026-03-02T10:01:00.000Z', ...empty });
    assert.deepEqual(await minute('&namespace=ops'), { at: '2026-03-02T10:01:00.000Z', ...empty, failed: 1, started: 1, lateP50Ms: 1500, lateP99Ms: 1500 });
    assert.equal((await s.call({ method: 'GET', url: '/v1/stats/runs', token: null })).statusCode, 401);
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
      assert.equal(res.headers['retry-after'], '2');
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
      ['get', '/v1/me'],
      ['post', '/v1/api-keys'],
      ['get', '/v1/api-keys'],
      ['post', '/v1/api-keys/{id}/rotate'],
      ['delete', '/v1/api-keys/{id}'],
      ['get', '/v1/audit'],
      ['get', '/v1/audit/verify'],
      ['get', '/v1/cluster/nodes'],
      ['get', '/v1/stats'],
      ['get', '/v1/stats/runs'],
      ['post', '/v1/channels'],
      ['get', '/v1/channels'],
      ['get', '/v1/channels/{name}'],
      ['patch', '/v1/channels/{name}'],
      ['delete', '/v1/channels/{name}'],
      ['get', '/v1/channels/{name}/deliveries'],
      ['post', '/v1/channels/{name}/test'],
      ['post', '/v1/alert-rules'],
      ['get', '/v1/alert-rules'],
      ['get', '/v1/alert-rules/{name}'],
      ['patch', '/v1/alert-rules/{name}'],
      ['delete', '/v1/alert-rules/{name}'],
      ['get', '/v1/alerts'],
      ['put', '/v1/secrets/{name}'],
      ['get', '/v1/secrets'],
      ['get', '/v1/secrets/{name}'],
      ['delete', '/v1/secrets/{name}'],
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
