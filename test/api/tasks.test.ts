// Task routes end to end over a real SQLite store: CRUD, name/namespace resolution, If-Match,
// schedule/pause/resume, deletion, pagination.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunTransition } from '../../src/core/events.js';
import { httpTask, startApi, startRuns, type ApiHarness } from '../helpers/api-harness.js';

interface TaskBody {
  id: string;
  name: string;
  namespace: string;
  version: number;
  status: string;
  nextRunAt: string | null;
  schedule: Record<string, unknown> | null;
  scheduleDescription: string | null;
  policies: Record<string, unknown>;
  description: string | null;
  payload: unknown;
}
interface RunBody {
  id: string;
  status: string;
  trigger: string;
  scheduledFor: string;
  reason: string | null;
}

let h: ApiHarness;
before(async () => {
  h = await startApi();
});
after(async () => {
  await h.close();
});

async function create(body: Record<string, unknown>): Promise<TaskBody> {
  const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as TaskBody;
}

describe('POST /v1/tasks', () => {
  test('creates a task with defaults, a first pending run, an ETag and a Location', async () => {
    const woken = h.scheduler.woken.length;
    const res = await h.call({
      method: 'POST',
      url: '/v1/tasks',
      payload: httpTask('create-1', { description: 'pings', schedule: { type: 'interval', every: '5m' }, payload: { a: 1 } }),
    });
    assert.equal(res.statusCode, 201, res.body);
    const t = res.json() as TaskBody;
    assert.equal(res.headers.etag, '"1"');
    assert.equal(res.headers.location, `/v1/tasks/${t.id}`);
    assert.equal(t.namespace, 'default');
    assert.equal(t.status, 'active');
    assert.equal(t.version, 1);
    assert.equal(t.description, 'pings');
    assert.deepEqual(t.payload, { a: 1 });
    // Anchored at creation: the first occurrence is one interval from now.
    assert.equal(t.nextRunAt, '2026-03-02T10:05:00.000Z');
    assert.match(t.scheduleDescription ?? '', /every 5m/);
    assert.equal((t.policies as { timeout: string }).timeout, '5m');
    const runs = await h.call({ method: 'GET', url: `/v1/runs?task=${t.id}` });
    const items = (runs.json() as { items: RunBody[] }).items;
    assert.equal(items.length, 1);
    assert.equal(items[0]!.trigger, 'schedule');
    assert.equal(items[0]!.scheduledFor, '2026-03-02T10:05:00.000Z');
    assert.deepEqual(h.scheduler.woken.slice(woken), [Date.parse('2026-03-02T10:05:00Z')]);
  });

  test('accepts policies and a cron schedule in a time zone', async () => {
    const t = await create(
      httpTask('create-2', {
        schedule: { type: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Berlin' },
        policies: { retry: { maxAttempts: 3, backoff: { type: 'fixed', initial: '10s' } }, timeout: '30s', overlap: 'allow_all', priority: 5 },
      }),
    );
    // 09:00 in Berlin (CET, UTC+1) on Monday 2 March 2026 has passed at 10:00Z; next is Tuesday.
    assert.equal(t.nextRunAt, '2026-03-03T08:00:00.000Z');
    const p = t.policies as { retry: { maxAttempts: number; backoff: { type: string; initial: string } }; timeout: string; priority: number };
    assert.equal(p.retry.maxAttempts, 3);
    assert.equal(p.retry.backoff.type, 'fixed');
    assert.equal(p.retry.backoff.initial, '10s');
    assert.equal(p.timeout, '30s');
    assert.equal(p.priority, 5);
  });

  test('a task without a schedule has no pending run', async () => {
    const t = await create(httpTask('create-3'));
    assert.equal(t.nextRunAt, null);
    assert.equal(t.schedule, null);
    const runs = await h.call({ method: 'GET', url: `/v1/runs?task=${t.id}` });
    assert.equal((runs.json() as { items: unknown[] }).items.length, 0);
  });

  test('a duplicate name in one namespace is 409, in another namespace fine', async () => {
    await create(httpTask('dup'));
    const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('dup') });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().code, 'task_name_taken');
    await create(httpTask('dup', { namespace: 'other' }));
  });

  test('emits task:changed and run:transition after the commit', async () => {
    const changes: string[] = [];
    const transitions: RunTransition[] = [];
    const off1 = h.bus.on('task:changed', (e) => changes.push(`${e.action}:${e.task.name}`));
    const off2 = h.bus.on('run:transition', (t) => transitions.push(t));
    await create(httpTask('events-1', { schedule: { type: 'once', at: '2026-03-02T12:00:00Z' } }));
    off1();
    off2();
    assert.deepEqual(changes, ['created:events-1']);
    assert.equal(transitions.length, 1);
    assert.equal(transitions[0]!.from, null);
    assert.equal(transitions[0]!.to, 'scheduled');
    assert.equal(transitions[0]!.scheduledFor, Date.parse('2026-03-02T12:00:00Z'));
  });
});

describe('GET /v1/tasks/{idOrName}', () => {
  test('finds a task by id, by name, and by name in ?namespace=', async () => {
    const a = await create(httpTask('get-1'));
    const b = await create(httpTask('get-1', { namespace: 'team-b' }));
    const byId = await h.call({ method: 'GET', url: `/v1/tasks/${a.id}` });
    assert.equal(byId.statusCode, 200);
    assert.equal(byId.headers.etag, '"1"');
    assert.equal(byId.json().id, a.id);
    const byName = await h.call({ method: 'GET', url: '/v1/tasks/get-1' });
    assert.equal(byName.json().id, a.id);
    const inNs = await h.call({ method: 'GET', url: '/v1/tasks/get-1?namespace=team-b' });
    assert.equal(inNs.json().id, b.id);
    // An id with the wrong ?namespace= is not that task.
    const mismatch = await h.call({ method: 'GET', url: `/v1/tasks/${a.id}?namespace=team-b` });
    assert.equal(mismatch.statusCode, 404);
  });

  test('an unknown task is a 404 problem', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/tasks/nope' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'task_not_found');
    const byId = await h.call({ method: 'GET', url: '/v1/tasks/0190e0b5-0000-7000-8000-000000000000' });
    assert.equal(byId.statusCode, 404);
  });
});

describe('PATCH /v1/tasks/{idOrName}', () => {
  test('changes only the given fields and bumps the version', async () => {
    const t = await create(httpTask('patch-1', { description: 'old', payload: { x: 1 } }));
    const res = await h.call({ method: 'PATCH', url: `/v1/tasks/${t.id}`, payload: { description: 'new', policies: { priority: 7 } } });
    assert.equal(res.statusCode, 200, res.body);
    const u = res.json() as TaskBody;
    assert.equal(u.description, 'new');
    assert.deepEqual(u.payload, { x: 1 });
    assert.equal((u.policies as { priority: number }).priority, 7);
    assert.equal((u.policies as { timeout: string }).timeout, '5m');
    assert.equal(u.version, 2);
    assert.equal(res.headers.etag, '"2"');
  });

  test('If-Match with the current version applies; a stale one is 412 and changes nothing', async () => {
    const t = await create(httpTask('patch-2'));
    const ok = await h.call({ method: 'PATCH', url: `/v1/tasks/${t.id}`, headers: { 'if-match': '"1"' }, payload: { description: 'v2' } });
    assert.equal(ok.statusCode, 200, ok.body);
    const stale = await h.call({ method: 'PATCH', url: `/v1/tasks/${t.id}`, headers: { 'if-match': '"1"' }, payload: { description: 'lost' } });
    assert.equal(stale.statusCode, 412);
    assert.equal(stale.json().code, 'version_mismatch');
    assert.equal(stale.headers['content-type'], 'application/problem+json; charset=utf-8');
    const now = await h.call({ method: 'GET', url: `/v1/tasks/${t.id}` });
    assert.equal(now.json().description, 'v2');
    assert.equal(now.json().version, 2);
  });

  test('renames, and the old name no longer resolves', async () => {
    const t = await create(httpTask('patch-3'));
    const res = await h.call({ method: 'PATCH', url: '/v1/tasks/patch-3', payload: { name: 'patch-3-renamed' } });
    assert.equal(res.statusCode, 200);
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks/patch-3' })).statusCode, 404);
    assert.equal((await h.call({ method: 'GET', url: '/v1/tasks/patch-3-renamed' })).json().id, t.id);
  });

  test('a new schedule replaces the pending occurrence; null removes it', async () => {
    const t = await create(httpTask('patch-4', { schedule: { type: 'once', at: '2026-03-03T00:00:00Z' } }));
    const res = await h.call({ method: 'PATCH', url: `/v1/tasks/${t.id}`, payload: { schedule: { type: 'once', at: '2026-03-04T00:00:00Z' } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().nextRunAt, '2026-03-04T00:00:00.000Z');
    const runs = (await h.call({ method: 'GET', url: `/v1/runs?task=${t.id}` })).json() as { items: RunBody[] };
    const byStatus = runs.items.map((r) => `${r.status}:${r.scheduledFor}:${r.reason ?? ''}`).sort();
    assert.deepEqual(byStatus, ['cancelled:2026-03-03T00:00:00.000Z:rescheduled', 'scheduled:2026-03-04T00:00:00.000Z:']);
    const cleared = await h.call({ method: 'PATCH', url: `/v1/tasks/${t.id}`, payload: { schedule: null } });
    assert.equal(cleared.json().schedule, null);
    assert.equal(cleared.json().nextRunAt, null);
  });

  test('changing the kind needs a spec; an empty patch changes nothing', async () => {
    const t = await create(httpTask('patch-5'));
    const res = await h.call({ method: 'PATCH', url: `/v1/tasks/${t.id}`, payload: { kind: 'module' } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().errors.map((e: { path: string }) => e.path), ['/spec']);
    const empty = await h.call({ method: 'PATCH', url: `/v1/tasks/${t.id}`, payload: {} });
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.json().version, 1);
  });
});

describe('POST /v1/tasks/{idOrName}/schedule', () => {
  test('{ at } adds one run with trigger api and answers the run', async () => {
    await create(httpTask('sched-1'));
    const res = await h.call({ method: 'POST', url: '/v1/tasks/sched-1/schedule', payload: { at: '2026-03-05T08:30:00+01:00' } });
    assert.equal(res.statusCode, 201, res.body);
    const run = res.json() as RunBody;
    assert.equal(run.trigger, 'api');
    assert.equal(run.status, 'scheduled');
    assert.equal(run.scheduledFor, '2026-03-05T07:30:00.000Z');
    assert.equal(h.scheduler.woken.at(-1), Date.parse('2026-03-05T07:30:00Z'));
  });

  test('{ schedule } sets the recurrence and answers the task', async () => {
    await create(httpTask('sched-2'));
    const res = await h.call({ method: 'POST', url: '/v1/tasks/sched-2/schedule', payload: { schedule: { type: 'cron', expression: '*/15 * * * *' } } });
    assert.equal(res.statusCode, 201, res.body);
    const t = res.json() as TaskBody;
    assert.equal(t.schedule?.type, 'cron');
    // The first occurrence is at or after now, and 10:00:00 is one.
    assert.equal(t.nextRunAt, '2026-03-02T10:00:00.000Z');
  });

  test('a once schedule that fired can be given a new time; resuming it never refires it', async () => {
    const t = await create(httpTask('sched-once', { schedule: { type: 'once', at: '2026-03-02T10:00:00Z' } }));
    const [pending] = (await h.store.listRuns({ namespaces: '*', taskId: t.id, limit: 10 })).items;
    await startRuns(h, [pending!.id]);
    const fired = await h.store.getTask(t.id);
    assert.equal(fired?.firedCount, 1);
    assert.equal(fired?.nextRunAt, null);
    // Pause and resume keep the count: the one occurrence is spent.
    await h.call({ method: 'POST', url: '/v1/tasks/sched-once/pause' });
    const resumed = await h.call({ method: 'POST', url: '/v1/tasks/sched-once/resume' });
    assert.equal((resumed.json() as TaskBody).nextRunAt, null);
    // A new schedule starts a new count.
    const res = await h.call({ method: 'POST', url: '/v1/tasks/sched-once/schedule', payload: { schedule: { type: 'once', at: '2026-03-03T10:00:00Z' } } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal((res.json() as TaskBody).nextRunAt, '2026-03-03T10:00:00.000Z');
    assert.equal((await h.store.getTask(t.id))?.firedCount, 0);
  });

  test('both or neither of at and schedule is 400; an at without a zone says so', async () => {
    await create(httpTask('sched-3'));
    const both = await h.call({ method: 'POST', url: '/v1/tasks/sched-3/schedule', payload: { at: '2026-03-05T08:30:00Z', schedule: { type: 'once', at: '2026-03-05T08:30:00Z' } } });
    assert.equal(both.statusCode, 400);
    const neither = await h.call({ method: 'POST', url: '/v1/tasks/sched-3/schedule', payload: {} });
    assert.equal(neither.statusCode, 400);
    const noZone = await h.call({ method: 'POST', url: '/v1/tasks/sched-3/schedule', payload: { at: '2026-03-05T08:30:00' } });
    assert.equal(noZone.statusCode, 400);
    assert.equal(noZone.json().errors[0].path, '/at');
    assert.match(noZone.json().errors[0].message, /time zone/);
  });
});

describe('pause and resume', () => {
  test('pause cancels the pending occurrence (reason paused); resume plans from now', async () => {
    const t = await create(httpTask('pause-1', { schedule: { type: 'interval', every: '1h' } }));
    const paused = await h.call({ method: 'POST', url: `/v1/tasks/${t.id}/pause` });
    assert.equal(paused.statusCode, 200, paused.body);
    assert.equal(paused.json().status, 'paused');
    assert.equal(paused.json().nextRunAt, null);
    let runs = (await h.call({ method: 'GET', url: `/v1/runs?task=${t.id}` })).json() as { items: RunBody[] };
    assert.deepEqual(runs.items.map((r) => `${r.status}:${r.reason}`), ['cancelled:paused']);
    // Pausing again is a no-op, not an error.
    const again = await h.call({ method: 'POST', url: `/v1/tasks/${t.id}/pause` });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().version, paused.json().version);

    h.clock.advance(90 * 60_000);
    const resumed = await h.call({ method: 'POST', url: `/v1/tasks/${t.id}/resume` });
    assert.equal(resumed.statusCode, 200, resumed.body);
    assert.equal(resumed.json().status, 'active');
    assert.ok(resumed.json().nextRunAt > new Date(h.clock.now()).toISOString());
    runs = (await h.call({ method: 'GET', url: `/v1/runs?task=${t.id}&status=scheduled` })).json() as { items: RunBody[] };
    assert.equal(runs.items.length, 1);
    h.clock.set('2026-03-02T10:00:00Z');
  });
});

describe('DELETE /v1/tasks/{idOrName}', () => {
  test('deletes, cancels unstarted runs, stops running ones', async () => {
    const t = await create(httpTask('del-1', { schedule: { type: 'once', at: '2026-03-02T10:00:00Z' } }));
    const manual = (await h.call({ method: 'POST', url: `/v1/tasks/${t.id}/runs`, payload: {} })).json() as RunBody;
    // The manual run runs (as the dispatcher would); the schedule occurrence stays unstarted.
    await startRuns(h, [manual.id]);
    const pending = ((await h.call({ method: 'GET', url: `/v1/runs?task=${t.id}&status=scheduled` })).json() as { items: RunBody[] }).items;
    assert.equal(pending.length, 1);

    const res = await h.call({ method: 'DELETE', url: `/v1/tasks/${t.id}` });
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.equal((await h.call({ method: 'GET', url: `/v1/tasks/${t.id}` })).statusCode, 404);
    assert.ok(h.scheduler.cancelled.includes(manual.id));
    assert.ok(h.scheduler.forgotten.includes(pending[0]!.id));
    const after = await h.store.getRun(pending[0]!.id);
    assert.equal(after?.status, 'cancelled');
    assert.equal(after?.reason, 'deleted');
  });

  test('deleting an unknown task is 404', async () => {
    const res = await h.call({ method: 'DELETE', url: '/v1/tasks/never-was' });
    assert.equal(res.statusCode, 404);
  });
});

describe('GET /v1/tasks', () => {
  test('pagination walks every task exactly once', async () => {
    const ns = 'paging';
    const names = Array.from({ length: 23 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    for (const name of names) await create(httpTask(name, { namespace: ns }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/tasks?namespace=${ns}&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await h.call({ method: 'GET', url });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as { items: TaskBody[]; nextCursor: string | null };
      assert.ok(page.items.length <= 5);
      seen.push(...page.items.map((t) => t.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    assert.equal(pages, 5);
    assert.deepEqual([...seen].sort(), names);
    assert.equal(new Set(seen).size, seen.length);
  });

  test('filters by status and q', async () => {
    const ns = 'filters';
    await create(httpTask('alpha-report', { namespace: ns }));
    const b = await create(httpTask('beta-sync', { namespace: ns }));
    await h.call({ method: 'POST', url: `/v1/tasks/${b.id}/pause` });
    const paused = (await h.call({ method: 'GET', url: `/v1/tasks?namespace=${ns}&status=paused` })).json() as { items: TaskBody[] };
    assert.deepEqual(paused.items.map((t) => t.name), ['beta-sync']);
    const q = (await h.call({ method: 'GET', url: `/v1/tasks?namespace=${ns}&q=REPORT` })).json() as { items: TaskBody[] };
    assert.deepEqual(q.items.map((t) => t.name), ['alpha-report']);
  });

  test('a cursor that was not made by the listing is 400 invalid_cursor', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/tasks?cursor=garbage' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'invalid_cursor');
  });
});

describe('GET /v1/tasks: sort, schedule, recentRuns', () => {
  interface Listed extends TaskBody {
    lastRunAt: string | null;
    recentRuns?: { id: string; status: string; scheduledFor: string; finishedAt: string | null; durationMs: number | null }[];
  }

  /** Every page of a listing (`query` without limit and cursor), following nextCursor. */
  async function walk(query: string, limit: number): Promise<Listed[]> {
    const seen: Listed[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/tasks?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await h.call({ method: 'GET', url });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as { items: Listed[]; nextCursor: string | null };
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return seen;
  }

  /** Runs a manual run of `taskId` to `status`, started `lateMs` after it was due and ending `durationMs` later. */
  async function finish(taskId: string, status: 'succeeded' | 'failed', lateMs = 0, durationMs = 100): Promise<string> {
    const run = (await h.call({ method: 'POST', url: `/v1/tasks/${taskId}/runs`, payload: {} })).json() as RunBody;
    h.clock.advance(lateMs);
    const [started] = await startRuns(h, [run.id]);
    const finishedAt = h.clock.now() + durationMs;
    assert.deepEqual((await h.store.completeRuns([{ runId: run.id, leaseEpoch: started!.leaseEpoch, status, finishedAt }])).stale, []);
    h.clock.advance(1000);
    return run.id;
  }

  test('sort orders every page; nulls last both ways; each task exactly once', async () => {
    const ns = 'sorting';
    const made = [
      await create(httpTask('m-every-10m', { namespace: ns, schedule: { type: 'interval', every: '10m' } })),
      await create(httpTask('a-manual', { namespace: ns })),
      await create(httpTask('z-every-5m', { namespace: ns, schedule: { type: 'interval', every: '5m' } })),
      await create(httpTask('b-every-1h', { namespace: ns, schedule: { type: 'interval', every: '1h' } })),
    ];
    const [m, a, z, b] = made.map((t) => t.name);
    const names = async (sort: string) => (await walk(`namespace=${ns}&sort=${sort}`, 1)).map((t) => t.name);
    assert.deepEqual(await names('createdAt'), [m, a, z, b]);
    assert.deepEqual(await names('-createdAt'), [b, z, a, m]);
    assert.deepEqual(await names('name'), [a, b, m, z]);
    assert.deepEqual(await names('-name'), [z, m, b, a]);
    assert.deepEqual(await names('nextRunAt'), [z, m, b, a]);
    assert.deepEqual(await names('-nextRunAt'), [b, m, z, a]);
    await finish(made[3]!.id, 'succeeded');
    await finish(made[0]!.id, 'succeeded');
    // The two that never ran come last both ways; between them the id decides, in the sort's direction.
    assert.deepEqual(await names('lastRunAt'), [b, m, a, z]);
    assert.deepEqual(await names('-lastRunAt'), [m, b, z, a]);
  });

  test('a cursor made for one sort is 400 invalid_cursor with another', async () => {
    const ns = 'sort-cursors';
    for (const name of ['c1', 'c2', 'c3']) await create(httpTask(name, { namespace: ns }));
    const first = (await h.call({ method: 'GET', url: `/v1/tasks?namespace=${ns}&sort=name&limit=1` })).json() as { nextCursor: string };
    const res = await h.call({ method: 'GET', url: `/v1/tasks?namespace=${ns}&sort=-name&limit=1&cursor=${first.nextCursor}` });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'invalid_cursor');
    assert.match(res.json().detail, /sort=name, not sort=-name/);
    const byDefault = (await h.call({ method: 'GET', url: `/v1/tasks?namespace=${ns}&limit=1` })).json() as { nextCursor: string };
    assert.equal((await h.call({ method: 'GET', url: `/v1/tasks?namespace=${ns}&sort=lastRunAt&cursor=${byDefault.nextCursor}` })).statusCode, 400);
    assert.equal((await h.call({ method: 'GET', url: `/v1/tasks?namespace=${ns}&sort=createdAt&cursor=${byDefault.nextCursor}` })).statusCode, 200);
  });

  test('schedule filters by schedule type; none is no schedule', async () => {
    const ns = 'by-schedule';
    await create(httpTask('s-once', { namespace: ns, schedule: { type: 'once', at: '2026-04-01T00:00:00Z' } }));
    await create(httpTask('s-every', { namespace: ns, schedule: { type: 'interval', every: '1h' } }));
    await create(httpTask('s-cron', { namespace: ns, schedule: { type: 'cron', expression: '0 9 * * *' } }));
    await create(httpTask('s-none', { namespace: ns }));
    const names = async (schedule: string) => (await walk(`namespace=${ns}&schedule=${schedule}`, 10)).map((t) => t.name);
    assert.deepEqual(await names('once'), ['s-once']);
    assert.deepEqual(await names('interval'), ['s-every']);
    assert.deepEqual(await names('cron'), ['s-cron']);
    assert.deepEqual(await names('none'), ['s-none']);
  });

  test('recentRuns=N adds the last N finished runs, newest first; absent otherwise and on GET by id', async () => {
    const ns = 'sparkline';
    const busy = await create(httpTask('busy', { namespace: ns }));
    await create(httpTask('idle', { namespace: ns }));
    const first = await finish(busy.id, 'succeeded', 5, 100);
    const second = await finish(busy.id, 'failed', 20, 250);
    const third = await finish(busy.id, 'succeeded', 0, 50);
    await h.call({ method: 'POST', url: `/v1/tasks/${busy.id}/runs`, payload: {} }); // pending: not in the list

    const items = await walk(`namespace=${ns}&recentRuns=2`, 10);
    const recent = items.find((t) => t.name === 'busy')!.recentRuns!;
    assert.deepEqual(recent.map((r) => [r.id, r.status, r.durationMs]), [
      [third, 'succeeded', 50],
      [second, 'failed', 250],
    ]);
    const run = (await h.call({ method: 'GET', url: `/v1/runs/${second}` })).json() as { scheduledFor: string; finishedAt: string };
    assert.deepEqual(recent[1], { id: second, status: 'failed', scheduledFor: run.scheduledFor, finishedAt: run.finishedAt, durationMs: 250 });
    assert.deepEqual(items.find((t) => t.name === 'idle')!.recentRuns, []);
    const all = (await walk(`namespace=${ns}&recentRuns=50`, 10)).find((t) => t.name === 'busy')!.recentRuns!;
    assert.deepEqual(all.map((r) => r.id), [third, second, first]);

    for (const query of ['', '&recentRuns=0']) {
      for (const t of await walk(`namespace=${ns}${query}`, 10)) assert.ok(!('recentRuns' in t), `recentRuns with "${query}"`);
    }
    assert.equal((await h.call({ method: 'GET', url: `/v1/tasks/${busy.id}?recentRuns=2` })).statusCode, 400, 'GET by id takes no recentRuns');
    assert.ok(!('recentRuns' in ((await h.call({ method: 'GET', url: `/v1/tasks/${busy.id}` })).json() as Listed)));
  });

  test('bad sort, schedule and recentRuns values are 400 validation_failed naming the field', async () => {
    const cases: [string, string, RegExp][] = [
      ['sort=newest', '/query/sort', /must be one of "createdAt", "-createdAt", "name", "-name", "nextRunAt", "-nextRunAt", "lastRunAt", "-lastRunAt"/],
      ['schedule=daily', '/query/schedule', /must be one of "once", "interval", "cron", "none"/],
      ['recentRuns=51', '/query/recentRuns', /must be <= 50/],
      ['recentRuns=-1', '/query/recentRuns', /must be >= 0/],
      ['recentRuns=two', '/query/recentRuns', /must be integer/],
    ];
    for (const [query, path, message] of cases) {
      const res = await h.call({ method: 'GET', url: `/v1/tasks?${query}` });
      assert.equal(res.statusCode, 400, query);
      const body = res.json() as { code: string; detail: string; errors: { path: string; message: string }[] };
      assert.equal(body.code, 'validation_failed');
      assert.equal(body.errors[0]!.path, path, query);
      assert.match(body.errors[0]!.message, message, query);
    }
  });
});
