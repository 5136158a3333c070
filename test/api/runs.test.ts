// Run routes: manual runs (idempotent), listing and filters, logs, reschedule, cancel.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunTransition } from '../../src/core/events.js';
import { httpTask, startApi, startRuns, type ApiHarness } from '../helpers/api-harness.js';

interface RunBody {
  id: string;
  taskId: string;
  taskName: string;
  namespace: string;
  status: string;
  attempt: number;
  trigger: string;
  scheduledFor: string;
  startedAt: string | null;
  lateMs: number | null;
  durationMs: number | null;
  payload: unknown;
  idempotencyKey: string;
  reason: string | null;
}

let h: ApiHarness;
before(async () => {
  h = await startApi();
});
after(async () => {
  await h.close();
});

async function task(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask(name, extra) });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

async function trigger(name: string, body: Record<string, unknown> = {}) {
  return h.call({ method: 'POST', url: `/v1/tasks/${name}/runs`, payload: body });
}

describe('POST /v1/tasks/{idOrName}/runs', () => {
  test('creates a manual run due now, with every documented field', async () => {
    const taskId = await task('manual-1', { payload: { from: 'task' } });
    const woken = h.scheduler.woken.length;
    const res = await trigger('manual-1');
    assert.equal(res.statusCode, 201, res.body);
    const run = res.json() as RunBody;
    for (const field of [
      'id', 'taskId', 'taskName', 'status', 'attempt', 'retryOf', 'trigger', 'scheduledFor', 'queuedAt', 'startedAt', 'finishedAt',
      'lateMs', 'durationMs', 'result', 'error', 'reason', 'node', 'cpuMs', 'peakRssBytes', 'diskWriteBytes', 'idempotencyKey',
      'namespace', 'createdAt',
    ]) {
      assert.ok(field in run, `run view lacks ${field}`);
    }
    assert.equal(run.taskId, taskId);
    assert.equal(run.taskName, 'manual-1');
    assert.equal(run.trigger, 'manual');
    assert.equal(run.status, 'scheduled');
    assert.equal(run.attempt, 1);
    assert.equal(run.scheduledFor, new Date(h.clock.now()).toISOString());
    assert.deepEqual(run.payload, { from: 'task' }, 'the task payload is the default');
    assert.equal(res.headers.location, `/v1/runs/${run.id}`);
    assert.deepEqual(h.scheduler.woken.slice(woken), [h.clock.now()], 'a run due now wakes the scheduler');
  });

  test('a repeated idempotency key answers 200 with the first run; another payload is 409', async () => {
    await task('idem-1');
    const first = await trigger('idem-1', { idempotencyKey: 'order-42', payload: { n: 1, m: [1, 2] } });
    assert.equal(first.statusCode, 201);
    const again = await trigger('idem-1', { idempotencyKey: 'order-42', payload: { m: [1, 2], n: 1 } });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().id, first.json().id);
    const conflict = await trigger('idem-1', { idempotencyKey: 'order-42', payload: { n: 2 } });
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json().code, 'idempotency_conflict');
    assert.equal(conflict.json().runId, first.json().id);
    const runs = (await h.call({ method: 'GET', url: '/v1/runs?task=idem-1' })).json() as { items: RunBody[] };
    assert.equal(runs.items.length, 1, 'neither repeat created a run');
  });

  test('a key shaped like a schedule occurrence key of the task is refused', async () => {
    const id = await task('idem-3');
    const res = await trigger('idem-3', { idempotencyKey: `${id}:1795887970000` });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].path, '/idempotencyKey');
    const runs = (await h.call({ method: 'GET', url: '/v1/runs?task=idem-3' })).json() as { items: RunBody[] };
    assert.equal(runs.items.length, 0);
  });

  test('runs without a key each get their own', async () => {
    await task('idem-2');
    const a = (await trigger('idem-2')).json() as RunBody;
    const b = (await trigger('idem-2')).json() as RunBody;
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.idempotencyKey, b.idempotencyKey);
  });

  test('publishes run:transition scheduled after the commit', async () => {
    await task('manual-ev');
    const seen: RunTransition[] = [];
    const off = h.bus.on('run:transition', (t) => seen.push(t));
    const run = (await trigger('manual-ev')).json() as RunBody;
    off();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.runId, run.id);
    assert.equal(seen[0]!.to, 'scheduled');
  });
});

describe('GET /v1/runs and /v1/runs/{id}', () => {
  test('filters by task, status and time window', async () => {
    await task('list-1');
    await task('list-2');
    const r1 = (await trigger('list-1')).json() as RunBody;
    h.clock.advance(60_000);
    const r2 = (await trigger('list-1')).json() as RunBody;
    await trigger('list-2');
    await h.call({ method: 'POST', url: `/v1/runs/${r1.id}/cancel` });

    const byTask = (await h.call({ method: 'GET', url: '/v1/runs?task=list-1' })).json() as { items: RunBody[] };
    assert.deepEqual(byTask.items.map((r) => r.id).sort(), [r1.id, r2.id].sort());
    const cancelled = (await h.call({ method: 'GET', url: '/v1/runs?task=list-1&status=cancelled,failed' })).json() as { items: RunBody[] };
    assert.deepEqual(cancelled.items.map((r) => r.id), [r1.id]);
    const from = encodeURIComponent(r2.scheduledFor);
    const windowed = (await h.call({ method: 'GET', url: `/v1/runs?task=list-1&from=${from}` })).json() as { items: RunBody[] };
    assert.deepEqual(windowed.items.map((r) => r.id), [r2.id]);
    const before = (await h.call({ method: 'GET', url: `/v1/runs?task=list-1&to=${from}` })).json() as { items: RunBody[] };
    assert.deepEqual(before.items.map((r) => r.id), [r1.id]);
  });

  test('a run by id; unknown ids and non-UUIDs are 404', async () => {
    await task('get-run');
    const run = (await trigger('get-run')).json() as RunBody;
    const res = await h.call({ method: 'GET', url: `/v1/runs/${run.id}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, run.id);
    assert.equal((await h.call({ method: 'GET', url: '/v1/runs/0190e0b5-0000-7000-8000-000000000000' })).statusCode, 404);
    const bad = await h.call({ method: 'GET', url: '/v1/runs/not-a-uuid' });
    assert.equal(bad.statusCode, 404);
    assert.equal(bad.json().code, 'run_not_found');
  });

  test('a filter on an unknown task is 404', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/runs?task=no-such-task' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'task_not_found');
  });

  test('pagination walks every run exactly once', async () => {
    await task('run-pages');
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) {
      ids.push(((await trigger('run-pages')).json() as RunBody).id);
      h.clock.advance(1000);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/runs?task=run-pages&limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = (await h.call({ method: 'GET', url })).json() as { items: RunBody[]; nextCursor: string | null };
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal(new Set(seen).size, ids.length);
  });

  test('order=asc lists oldest due first, paging exactly; with status=scheduled&from=now, the next runs due', async () => {
    await task('run-order');
    const now = h.clock.now();
    const ids: string[] = [];
    // Due in 3, 1, 2 and 1 minutes (two at the same time: the id breaks the tie), and one now.
    for (const minutes of [3, 1, 2, 1]) {
      const at = new Date(now + minutes * 60_000).toISOString();
      const res = await h.call({ method: 'POST', url: '/v1/tasks/run-order/schedule', payload: { at } });
      assert.equal(res.statusCode, 201, res.body);
      ids.push((res.json() as RunBody).id);
    }
    const dueNow = ((await trigger('run-order')).json() as RunBody).id;
    const walk = async (query: string, limit: number) => {
      const seen: RunBody[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/v1/runs?task=run-order&${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await h.call({ method: 'GET', url });
        assert.equal(res.statusCode, 200, res.body);
        const page = res.json() as { items: RunBody[]; nextCursor: string | null };
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null);
      return seen.map((r) => r.id);
    };
    const tied = [ids[1]!, ids[3]!].sort();
    const asc = [dueNow, ...tied, ids[2]!, ids[0]!];
    assert.deepEqual(await walk('order=asc', 2), asc);
    assert.deepEqual(await walk('order=desc', 2), [...asc].reverse());
    assert.deepEqual(await walk('', 3), [...asc].reverse(), 'desc is the default');

    await startRuns(h, [dueNow]);
    const from = encodeURIComponent(new Date(now).toISOString());
    assert.deepEqual(await walk(`status=scheduled&from=${from}&order=asc`, 1), asc.slice(1));
    const everywhere = (await h.call({ method: 'GET', url: `/v1/runs?status=scheduled&from=${from}&order=asc&limit=500` })).json() as {
      items: RunBody[];
    };
    const dueTimes = everywhere.items.map((r) => Date.parse(r.scheduledFor));
    assert.deepEqual(dueTimes, [...dueTimes].sort((x, y) => x - y));
  });

  test('a cursor keeps its order: passed with the other one it is 400 invalid_cursor; a bad order is 400', async () => {
    await task('order-cursor');
    for (let i = 0; i < 3; i++) {
      await trigger('order-cursor');
      h.clock.advance(1000);
    }
    const ascCursor = ((await h.call({ method: 'GET', url: '/v1/runs?task=order-cursor&order=asc&limit=1' })).json() as { nextCursor: string }).nextCursor;
    const descCursor = ((await h.call({ method: 'GET', url: '/v1/runs?task=order-cursor&limit=1' })).json() as { nextCursor: string }).nextCursor;
    for (const url of [`/v1/runs?task=order-cursor&cursor=${ascCursor}`, `/v1/runs?task=order-cursor&order=asc&cursor=${descCursor}`]) {
      const res = await h.call({ method: 'GET', url });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'invalid_cursor');
      assert.match(res.json().detail, /other order/);
    }
    const bad = await h.call({ method: 'GET', url: '/v1/runs?order=newest' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json().errors, [{ path: '/query/order', message: 'must be one of "desc", "asc"' }]);
  });

  test('a running run shows lateMs = startedAt - scheduledFor', async () => {
    await task('late-1');
    const run = (await trigger('late-1')).json() as RunBody;
    h.clock.advance(250);
    await startRuns(h, [run.id]);
    const view = (await h.call({ method: 'GET', url: `/v1/runs/${run.id}` })).json() as RunBody;
    assert.equal(view.status, 'running');
    assert.equal(view.lateMs, 250);
    assert.equal(view.durationMs, null);
  });
});

describe('GET /v1/runs/{id}/logs', () => {
  test('answers JSON lines', async () => {
    await task('logs-1');
    const run = (await trigger('logs-1')).json() as RunBody;
    const t0 = h.clock.now();
    await h.store.appendRunLogs(run.id, [
      { at: t0, level: 'info', message: 'hello' },
      { at: t0 + 5, level: 'warn', message: 'careful\nnewline' },
    ]);
    const res = await h.call({ method: 'GET', url: `/v1/runs/${run.id}/logs` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8');
    const lines = res.body.trimEnd().split('\n').map((l) => JSON.parse(l) as { level: string; message: string; at: string });
    assert.deepEqual(lines.map((l) => [l.level, l.message]), [['info', 'hello'], ['warn', 'careful\nnewline']]);
    assert.equal(lines[0]!.at, new Date(t0).toISOString());
  });

  test('follow=1: stored lines, then live ones once each, then `end` when the run ends', async () => {
    await task('logs-follow');
    const run = (await trigger('logs-follow')).json() as RunBody;
    const t0 = h.clock.now();
    await h.store.appendRunLogs(run.id, [{ at: t0, level: 'info', message: 'stored' }]);
    const followed = h.call({ method: 'GET', url: `/v1/runs/${run.id}/logs?follow=1` });
    while (!h.bus.has('run:logs')) await new Promise((r) => setImmediate(r));
    const ns = 'default';
    // seq 0 again (already stored): skipped; seq 1 and 2: sent; then the run ends.
    h.bus.emit('run:logs', { runId: run.id, namespace: ns, fromSeq: 0, lines: [{ at: t0, level: 'info', message: 'stored' }] });
    h.bus.emit('run:logs', { runId: run.id, namespace: ns, fromSeq: 1, lines: [{ at: t0 + 1, level: 'warn', message: 'live 1' }, { at: t0 + 2, level: 'error', message: 'live 2' }] });
    h.bus.emit('run:logs', { runId: 'another-run', namespace: ns, fromSeq: 3, lines: [{ at: t0 + 3, level: 'info', message: 'not mine' }] });
    h.bus.emit('run:transition', {
      runId: run.id, taskId: run.taskId, taskName: 'logs-follow', namespace: ns, from: 'running', to: 'failed', at: t0 + 5,
      scheduledFor: t0, attempt: 1, startedAt: t0, finishedAt: t0 + 5, reason: null, errorCode: 'module_threw',
    });
    const res = await followed;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    const events = res.body.split('\n\n').filter((b) => b.startsWith('id:') || b.startsWith('event:'));
    assert.deepEqual(events.map((b) => b.split('\n')[0]), ['id: 0', 'id: 1', 'id: 2', 'event: end']);
    assert.match(events[1]!, /"message":"live 1"/);
    assert.equal(events[3], 'event: end\ndata: {"status":"failed"}');
    const missing = await h.call({ method: 'GET', url: `/v1/runs/01890000-0000-7000-8000-000000000000/logs?follow=1` });
    assert.equal(missing.statusCode, 404);
  });

  test('follow=1 in a cluster: lines relayed past the stored ones wait for the gap to be filled, none is skipped', async () => {
    await task('logs-relayed');
    const run = (await trigger('logs-relayed')).json() as RunBody;
    const t0 = h.clock.now();
    const ns = 'default';
    const line = (i: number) => ({ at: t0 + i, level: 'info' as const, message: `line ${i}` });
    await h.store.appendRunLogs(run.id, [line(0)]);
    // Another node runs the run. While this follower reads the stored lines (line 0), line 3 is
    // relayed; lines 1 and 2 were relayed before anyone here listened and are not stored yet.
    const store = h.store;
    const read = store.getRunLogs.bind(store);
    let relayed = false;
    store.getRunLogs = (id) => {
      const lines = read(id);
      if (!relayed && id === run.id) {
        relayed = true;
        h.bus.emit('cluster:run:logs', { runId: run.id, namespace: ns, fromSeq: 3, lines: [line(3)] });
      }
      return lines;
    };
    try {
      const followed = h.call({ method: 'GET', url: `/v1/runs/${run.id}/logs?follow=1` });
      while (!relayed) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      // The run ends on its node: its completion stores every line, then the transition is relayed.
      await h.store.appendRunLogs(run.id, [line(1), line(2), line(3), line(4)]);
      h.bus.emit('cluster:run:transition', {
        runId: run.id, taskId: run.taskId, taskName: 'logs-relayed', namespace: ns, from: 'running', to: 'succeeded', at: t0 + 5,
        scheduledFor: t0, attempt: 1, startedAt: t0, finishedAt: t0 + 5, reason: null, errorCode: null,
      });
      const res = await followed;
      const events = res.body.split('\n\n').filter((b) => b.startsWith('id:') || b.startsWith('event:'));
      assert.deepEqual(events.map((b) => b.split('\n')[0]), ['id: 0', 'id: 1', 'id: 2', 'id: 3', 'id: 4', 'event: end']);
    } finally {
      delete (store as Partial<typeof store>).getRunLogs;
    }
  });

  test('no lines is an empty body', async () => {
    await task('logs-2');
    const run = (await trigger('logs-2')).json() as RunBody;
    const res = await h.call({ method: 'GET', url: `/v1/runs/${run.id}/logs` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
  });
});

describe('POST /v1/runs/{id}/reschedule', () => {
  test('moves a scheduled run, forgets it in the heap and wakes the scheduler for the new time', async () => {
    await task('resched-1');
    const run = (await h.call({ method: 'POST', url: '/v1/tasks/resched-1/schedule', payload: { at: '2026-03-10T00:00:00Z' } })).json() as RunBody;
    const res = await h.call({ method: 'POST', url: `/v1/runs/${run.id}/reschedule`, payload: { at: '2026-03-09T12:00:00Z' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().scheduledFor, '2026-03-09T12:00:00.000Z');
    assert.equal(res.json().status, 'scheduled');
    assert.ok(h.scheduler.forgotten.includes(run.id));
    assert.equal(h.scheduler.woken.at(-1), Date.parse('2026-03-09T12:00:00Z'));
  });

  test('a finished run is 409 run_not_reschedulable', async () => {
    await task('resched-2');
    const run = (await trigger('resched-2')).json() as RunBody;
    await h.call({ method: 'POST', url: `/v1/runs/${run.id}/cancel` });
    const res = await h.call({ method: 'POST', url: `/v1/runs/${run.id}/reschedule`, payload: { at: '2026-03-09T12:00:00Z' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().code, 'run_not_reschedulable');
  });
});

describe('POST /v1/runs/{id}/cancel', () => {
  test('a pending run is cancelled at once', async () => {
    await task('cancel-1');
    const run = (await trigger('cancel-1')).json() as RunBody;
    const seen: RunTransition[] = [];
    const off = h.bus.on('run:transition', (t) => seen.push(t));
    const res = await h.call({ method: 'POST', url: `/v1/runs/${run.id}/cancel` });
    off();
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'cancelled');
    assert.ok(h.scheduler.forgotten.includes(run.id));
    assert.deepEqual(seen.map((t) => `${t.from}->${t.to}`), ['scheduled->cancelled']);
    const again = await h.call({ method: 'POST', url: `/v1/runs/${run.id}/cancel` });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'run_already_finished');
  });

  test('a running run is stopped through the scheduler', async () => {
    await task('cancel-2');
    const run = (await trigger('cancel-2')).json() as RunBody;
    await startRuns(h, [run.id]);
    const res = await h.call({ method: 'POST', url: `/v1/runs/${run.id}/cancel` });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(h.scheduler.cancelled.filter((id) => id === run.id), [run.id]);
  });
});
