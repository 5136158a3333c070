// Issue 12, hole 1: everything that decides what a shell task runs or when is admin-only, not only
// PATCH. A run's payload is the command's stdin (`["sh"]` runs it), so an operator who could run
// the task with a payload of their own could run any command. The audit row of a manual run says
// a payload was given by its SHA-256, never the payload.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';

let h: ApiHarness;
let operator: string;
let taskId: string;
let runId: string;

before(async () => {
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_SHELL_TASKS: 'on' } });
  h = await startApi({ config });
  operator = await h.key('operator', ['*']);
  const created = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'sh', kind: 'shell', spec: { command: ['sh'] } } });
  assert.equal(created.statusCode, 201, created.body);
  taskId = (created.json() as { id: string }).id;
  const run = await h.call({ method: 'POST', url: `/v1/tasks/${taskId}/schedule`, payload: { at: '2026-03-02T11:00:00Z' } });
  assert.equal(run.statusCode, 201, run.body);
  runId = (run.json() as { id: string }).id;
});
after(async () => {
  await h.close();
});

describe('shell tasks are admin-only for everything that decides what runs and when', () => {
  const cases = (): [string, string, unknown][] => [
    ['POST', `/v1/tasks/${taskId}/runs`, { payload: 'id > /tmp/pwned\n' }],
    ['POST', `/v1/tasks/${taskId}/runs`, {}],
    ['POST', `/v1/tasks/${taskId}/schedule`, { at: '2026-03-02T12:00:00Z' }],
    ['POST', `/v1/tasks/${taskId}/schedule`, { schedule: { type: 'interval', every: '1m' } }],
    ['POST', `/v1/tasks/${taskId}/pause`, undefined],
    ['POST', `/v1/tasks/${taskId}/resume`, undefined],
    ['POST', `/v1/runs/${runId}/reschedule`, { at: '2026-03-02T12:30:00Z' }],
    ['PATCH', `/v1/tasks/${taskId}`, { payload: 'id\n' }],
    ['DELETE', `/v1/tasks/${taskId}`, undefined],
  ];

  test('an operator key gets 403 forbidden and nothing changes', async () => {
    const runsBefore = (await h.call({ method: 'GET', url: `/v1/runs?task=${taskId}` })).json() as { items: unknown[] };
    for (const [method, url, payload] of cases()) {
      const res = await h.call({ method: method as 'POST', url, token: operator, ...(payload !== undefined && { payload: payload as object }) });
      assert.equal(res.statusCode, 403, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`);
      assert.equal((res.json() as { code: string }).code, 'forbidden');
    }
    const task = (await h.call({ method: 'GET', url: `/v1/tasks/${taskId}` })).json() as { status: string; version: number; payload: unknown };
    assert.equal(task.status, 'active');
    assert.equal(task.version, 1);
    assert.equal(task.payload, null);
    const runsAfter = (await h.call({ method: 'GET', url: `/v1/runs?task=${taskId}` })).json() as { items: unknown[] };
    assert.deepEqual(runsAfter.items, runsBefore.items);
  });

  test('an operator may still read shell tasks and cancel their runs (stopping runs nothing)', async () => {
    assert.equal((await h.call({ method: 'GET', url: `/v1/tasks/${taskId}`, token: operator })).statusCode, 200);
    const extra = await h.call({ method: 'POST', url: `/v1/tasks/${taskId}/schedule`, payload: { at: '2026-03-02T13:00:00Z' } });
    const cancel = await h.call({ method: 'POST', url: `/v1/runs/${(extra.json() as { id: string }).id}/cancel`, token: operator });
    assert.equal(cancel.statusCode, 200, cancel.body);
  });

  test('an admin may do all of it; the audit row of a run with a payload holds its SHA-256, not the payload', async () => {
    const payload = { script: 'echo secret-value-123' };
    const run = await h.call({ method: 'POST', url: `/v1/tasks/${taskId}/runs`, payload: { payload } });
    assert.equal(run.statusCode, 201, run.body);
    const id = (run.json() as { id: string }).id;
    const audit = (await h.call({ method: 'GET', url: `/v1/audit?target=${id}` })).json() as { items: { action: string; detail: Record<string, unknown> }[] };
    const row = audit.items.find((r) => r.action === 'run.create');
    assert.ok(row, JSON.stringify(audit.items));
    assert.equal(row.detail.payloadSha256, createHash('sha256').update(JSON.stringify(payload)).digest('hex'));
    assert.doesNotMatch(JSON.stringify(row), /secret-value-123/);
    for (const [method, url, body] of cases()) {
      if (url.endsWith('/runs') || method === 'DELETE') continue;
      const res = await h.call({ method: method as 'POST', url, ...(body !== undefined && { payload: body as object }) });
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
    }
    assert.equal((await h.call({ method: 'DELETE', url: `/v1/tasks/${taskId}` })).statusCode, 204);
  });
});
