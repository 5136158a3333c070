// Namespace quotas at the API (SUNDIAL_QUOTAS, issue 12): a namespace at its quota of tasks, of
// runs per minute or of script memory is refused with a 4xx that names the quota, and nothing is
// written; other namespaces go on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';

const QUOTAS = { '*': { tasks: 50 }, small: { tasks: 2, runsPerMinute: 3, scriptMemoryBytes: 16 * 1024 * 1024 } };

let h: ApiHarness;
before(async () => {
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_QUOTAS: JSON.stringify(QUOTAS) } });
  h = await startApi({ config });
});
after(async () => {
  await h.close();
});

const task = (name: string, namespace: string, spec: unknown = { file: 'noop.mjs' }, kind = 'module') => ({ name, namespace, kind, spec });
const count = async (path: string): Promise<number> => ((await h.call({ method: 'GET', url: path })).json() as { items: unknown[] }).items.length;

describe('namespace quotas', () => {
  it('tasks: the third task of a namespace with a quota of two is refused 403 quota_exceeded, and not created', async () => {
    for (const name of ['a', 'b']) assert.equal((await h.call({ method: 'POST', url: '/v1/tasks', payload: task(name, 'small') })).statusCode, 201);
    const refused = await h.call({ method: 'POST', url: '/v1/tasks', payload: task('c', 'small') });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.match(refused.headers['content-type'] as string, /application\/problem\+json/);
    const body = refused.json() as { code: string; quota: string; limit: number; detail: string };
    assert.deepEqual([body.code, body.quota, body.limit], ['quota_exceeded', 'tasks', 2]);
    assert.match(body.detail, /holds 2 tasks/);
    assert.equal(await count('/v1/tasks?namespace=small'), 2);
    // Another namespace has the default's quota, and room.
    assert.equal((await h.call({ method: 'POST', url: '/v1/tasks', payload: task('c', 'other') })).statusCode, 201);
    // Room again once a task is deleted.
    const a = ((await h.call({ method: 'GET', url: '/v1/tasks?namespace=small' })).json() as { items: { id: string; name: string }[] }).items.find((t) => t.name === 'a')!;
    assert.equal((await h.call({ method: 'DELETE', url: `/v1/tasks/${a.id}` })).statusCode, 204);
    assert.equal((await h.call({ method: 'POST', url: '/v1/tasks', payload: task('c', 'small') })).statusCode, 201);
  });

  it('runsPerMinute: runs the API creates beyond it answer 429 with Retry-After, nothing created; the bucket refills', async () => {
    const list = ((await h.call({ method: 'GET', url: '/v1/tasks?namespace=small' })).json() as { items: { id: string }[] }).items;
    const id = list[0]!.id;
    const before = await count(`/v1/runs?task=${id}&namespace=small&limit=100`);
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) codes.push((await h.call({ method: 'POST', url: `/v1/tasks/${id}/runs`, payload: {} })).statusCode);
    assert.deepEqual(codes, [201, 201, 201]);
    const refused = await h.call({ method: 'POST', url: `/v1/tasks/${id}/schedule`, payload: { at: '2026-03-02T12:00:00Z' } });
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(refused.headers['retry-after'], '20');
    const body = refused.json() as { code: string; quota: string; retryAfter: number };
    assert.deepEqual([body.code, body.quota, body.retryAfter], ['rate_limited', 'runsPerMinute', 20]);
    assert.equal(await count(`/v1/runs?task=${id}&namespace=small&limit=100`), before + 3);
    // Other namespaces have no such quota.
    const other = ((await h.call({ method: 'GET', url: '/v1/tasks?namespace=other' })).json() as { items: { id: string }[] }).items[0]!.id;
    for (let i = 0; i < 5; i++) assert.equal((await h.call({ method: 'POST', url: `/v1/tasks/${other}/runs`, payload: {} })).statusCode, 201);
    // A third of a minute later there is room for one more.
    h.clock.advance(20_000);
    assert.equal((await h.call({ method: 'POST', url: `/v1/tasks/${id}/runs`, payload: {} })).statusCode, 201);
    assert.equal((await h.call({ method: 'POST', url: `/v1/tasks/${id}/runs`, payload: {} })).statusCode, 429);
  });

  it('scriptMemoryBytes: a script spec asking for more is refused 400 on /spec/limits/memoryBytes, on create and on change', async () => {
    const big = { code: 'export default () => 1', limits: { memoryBytes: 32 * 1024 * 1024 } };
    const refused = await h.call({ method: 'POST', url: '/v1/tasks', payload: task('big', 'small', big, 'script') });
    assert.equal(refused.statusCode, 400, refused.body);
    const body = refused.json() as { code: string; errors: { path: string; message: string }[] };
    assert.equal(body.code, 'validation_failed');
    assert.deepEqual(body.errors.map((e) => e.path), ['/spec/limits/memoryBytes']);
    assert.match(body.errors[0]!.message, /at most 16777216, the quota of namespace "small"/);
    // Elsewhere the same spec is fine; within the quota it is fine here.
    assert.equal((await h.call({ method: 'POST', url: '/v1/tasks', payload: task('big', 'other', big, 'script') })).statusCode, 201);
    const tasks = ((await h.call({ method: 'GET', url: '/v1/tasks?namespace=small' })).json() as { items: { id: string; version: number }[] }).items;
    const patched = await h.call({ method: 'PATCH', url: `/v1/tasks/${tasks[0]!.id}`, payload: { kind: 'script', spec: big } });
    assert.equal(patched.statusCode, 400, patched.body);
    const fits = await h.call({ method: 'PATCH', url: `/v1/tasks/${tasks[0]!.id}`, payload: { kind: 'script', spec: { ...big, limits: { memoryBytes: 16 * 1024 * 1024 } } } });
    assert.equal(fits.statusCode, 200, fits.body);
  });

  it('a malformed SUNDIAL_QUOTAS stops the start with the field at fault', () => {
    const bad = (quotas: string): string => {
      try {
        resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_QUOTAS: quotas } });
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.match(bad('{'), /quotas is not JSON/);
    assert.match(bad('[1]'), /quotas must be a JSON object/);
    assert.match(bad('{"a b": {}}'), /quotas\.a b is not a namespace name/);
    assert.match(bad('{"*": {"tasks": -1}}'), /quotas\.\*\.tasks must be a whole number of at least 0/);
    assert.match(bad('{"*": {"cpu": 1}}'), /quotas\.\*\.cpu is not a quota \(known: tasks, runsPerMinute, concurrentRuns, scriptMemoryBytes\)/);
    assert.match(bad('{"*": {"scriptMemoryBytes": 10}}'), /at least 1048576/);
    assert.equal(bad('{"*": {"concurrentRuns": 5}, "team-a": {"tasks": 0}}'), 'accepted');
  });
});
