// The Store contract as tests. Every implementation (SQLite now, PostgreSQL later) runs this suite
// through the Store interface only: `open()` must hand back an empty, migrated store.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { newId } from '../../src/core/ids.js';
import type { Run, RunStatus, Task } from '../../src/core/types.js';
import { LATENESS_BOUNDS_MS } from '../../src/core/lateness.js';
import {
  TASK_SORTS,
  type ClaimedRun,
  type NewRun,
  type PlanOccurrence,
  type RunCompletion,
  type Store,
  type TaskFilter,
  type TaskSort,
} from '../../src/store/store.js';
import { T0, audit, intervalPlanner, newRun, newTask, noPlan } from './store-fixtures.js';

/** What a conformance run needs: a fresh, migrated, empty store and a way to dispose of it. */
export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const NODE = 'node-a';
const LEASE = 30_000;

/** Asserts that `p` rejects with a SundialError (or anything carrying) this `code`. */
async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected ${code}, got ${String(err)}`);
    return true;
  });
}

/** A lateness histogram in bucket order (stores may list buckets in any order). */
function sortLateness<T extends { bucket: number }>(buckets: T[]): T[] {
  return [...buckets].sort((x, y) => x.bucket - y.bucket);
}

/** Defines the Store conformance suite for one implementation. */
export function runStoreConformance(label: string, open: OpenStore): void {
  describe(`Store conformance: ${label}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    async function createTask(over: Parameters<typeof newTask>[0] = {}, firstRun?: (t: Task) => NewRun): Promise<Task> {
      const input = newTask(over);
      const asTask = { ...input, firedCount: 0, lastRunAt: null, lastRunStatus: null, version: 1 } satisfies Task;
      const run = firstRun?.(asTask) ?? null;
      return store.createTask({ ...input, nextRunAt: run?.scheduledFor ?? input.nextRunAt }, run, audit('task.create', input.id));
    }

    async function addRun(task: Task, over: Partial<NewRun> = {}): Promise<Run> {
      const { run, created } = await store.createRun(newRun(task, over), null);
      assert.equal(created, true);
      return run;
    }

    async function claim(opts: { now?: number; horizon?: number; limit?: number; node?: string; plan?: PlanOccurrence } = {}) {
      const now = opts.now ?? T0;
      return store.claimDueRuns({
        node: opts.node ?? NODE,
        now,
        horizon: opts.horizon ?? now,
        limit: opts.limit ?? 100,
        leaseUntil: now + LEASE,
        plan: opts.plan ?? noPlan,
      });
    }

    /** Claims `run` alone: other runs the claim picked up are released back to pending. */
    async function claimOne(run: Run, now = T0): Promise<ClaimedRun> {
      const at = Math.max(now, run.scheduledFor);
      const claimed = await claim({ now: at });
      const mine = claimed.find((c) => c.run.id === run.id);
      assert.ok(mine, `run ${run.id} was not claimed`);
      const others = claimed.filter((c) => c !== mine).map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch }));
      await store.releaseRuns(NODE, others, at);
      return mine;
    }

    async function startOne(run: Run, now = T0): Promise<ClaimedRun> {
      const c = await claimOne(run, now);
      const { stale } = await store.markRunning([{ runId: c.run.id, leaseEpoch: c.run.leaseEpoch, startedAt: now }]);
      assert.deepEqual(stale, []);
      return c;
    }

    async function status(id: string): Promise<RunStatus | undefined> {
      return (await store.getRun(id))?.status;
    }

    /** Runs one run of each task to an end: started at `startedAt` (default T0), ended as given. */
    async function finishRuns(
      ends: { task: Task; status?: RunCompletion['status']; startedAt?: number; finishedAt: number; scheduledFor?: number }[],
    ): Promise<Run[]> {
      const runs = await Promise.all(ends.map((e) => addRun(e.task, { scheduledFor: e.scheduledFor ?? T0 })));
      const claimed = await claim({ now: Math.max(T0, ...runs.map((r) => r.scheduledFor)), limit: 1000 });
      const byId = new Map(claimed.map((c) => [c.run.id, c.run]));
      const epoch = (id: string) => byId.get(id)!.leaseEpoch;
      await store.markRunning(runs.map((r, i) => ({ runId: r.id, leaseEpoch: epoch(r.id), startedAt: ends[i]!.startedAt ?? T0 })));
      const completions = runs.map((r, i) => ({
        runId: r.id,
        leaseEpoch: epoch(r.id),
        status: ends[i]!.status ?? 'succeeded',
        finishedAt: ends[i]!.finishedAt,
      }));
      assert.deepEqual((await store.completeRuns(completions)).stale, []);
      return runs;
    }

    /** Every page of a task listing, following the cursors; the ids in the order they came. */
    async function walkTasks(f: Omit<TaskFilter, 'limit' | 'cursor'>, limit: number): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listTasks({ ...f, limit, ...(cursor !== undefined && { cursor }) });
        assert.ok(page.items.length <= limit);
        seen.push(...page.items.map((t) => t.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return seen;
    }

    // ------------------------------------------------------------------------------------------
    describe('tasks', () => {
      it('creates a task with its first occurrence and an audit row', async () => {
        const input = newTask({ description: 'Nightly report', payload: { a: 1 }, schedule: { type: 'interval', every: '5m' } });
        const first = newRun({ ...input }, { trigger: 'schedule', scheduledFor: T0 + 300_000 });
        const task = await store.createTask({ ...input, nextRunAt: first.scheduledFor }, first, audit('task.create', input.id));
        assert.equal(task.id, input.id);
        assert.equal(task.version, 1);
        assert.equal(task.firedCount, 0);
        assert.equal(task.lastRunAt, null);
        assert.equal(task.lastRunStatus, null);
        assert.equal(task.nextRunAt, T0 + 300_000);
        assert.deepEqual(task.spec, input.spec);
        assert.deepEqual(task.schedule, input.schedule);
        assert.deepEqual(task.policies, input.policies);
        assert.deepEqual(task.payload, { a: 1 });
        assert.equal(task.createdBy, 'key:test');
        assert.equal(task.updatedBy, 'key:test');

        assert.deepEqual(await store.getTask(task.id), task);
        assert.deepEqual(await store.getTaskByName('default', task.name), task);
        assert.equal(await store.getTaskByName('other', task.name), null);
        assert.equal(await store.getTask(newId()), null);

        const run = await store.getRun(first.id);
        assert.equal(run?.status, 'scheduled');
        assert.equal(run?.trigger, 'schedule');
        assert.equal(run?.idempotencyKey, `${task.id}:${T0 + 300_000}`);

        const log = await store.listAudit({ namespaces: '*', limit: 10 });
        assert.deepEqual(
          log.items.map((a) => [a.action, a.targetId, a.actor, a.ip]),
          [['task.create', task.id, 'key:test', '127.0.0.1']],
        );
      });

      it('refuses a taken name in the same namespace and writes nothing for it', async () => {
        const first = await createTask({ name: 'report' });
        const dup = newTask({ name: 'report' });
        const dupRun = newRun(dup, { trigger: 'schedule' });
        await rejectsWith(store.createTask(dup, dupRun, audit('task.create', dup.id)), 'task_name_taken');
        assert.equal(await store.getTask(dup.id), null);
        assert.equal(await store.getRun(dupRun.id), null);
        assert.equal((await store.listAudit({ namespaces: '*', limit: 10 })).items.length, 1);
        // The same name in another namespace is a different task.
        const other = await createTask({ name: 'report', namespace: 'team-b' });
        assert.notEqual(other.id, first.id);
      });

      it('stores absent payloads and descriptions as null', async () => {
        const task = await createTask({ payload: undefined, description: null });
        assert.equal(task.payload, null);
        assert.equal((await store.getTask(task.id))?.payload, null);
      });

      it('updates the definition, bumps the version and keeps the scheduler counters', async () => {
        const task = await createTask({ description: 'old' });
        const updated = await store.updateTask(
          { ...task, description: 'new', status: 'paused', firedCount: 99, updatedAt: T0 + 1, updatedBy: 'key:other' },
          { expectedVersion: 1, audit: audit('task.update', task.id) },
        );
        assert.equal(updated.version, 2);
        assert.equal(updated.description, 'new');
        assert.equal(updated.status, 'paused');
        assert.equal(updated.updatedAt, T0 + 1);
        assert.equal(updated.updatedBy, 'key:other');
        assert.equal(updated.createdBy, 'key:test');
        assert.equal(updated.firedCount, 0, 'firedCount belongs to the scheduler');
        assert.deepEqual(await store.getTask(task.id), updated);
        const log = await store.listAudit({ namespaces: '*', action: 'task.update', limit: 10 });
        assert.equal(log.items.length, 1);
      });

      it('refuses a stale expected version, a missing task and a taken name', async () => {
        const task = await createTask();
        const other = await createTask();
        await rejectsWith(
          store.updateTask({ ...task, description: 'x' }, { expectedVersion: 7, audit: audit('task.update', task.id) }),
          'version_mismatch',
        );
        assert.equal((await store.getTask(task.id))?.version, 1);
        const ghost = { ...task, id: newId() };
        await rejectsWith(store.updateTask(ghost, { audit: audit('task.update', ghost.id) }), 'task_not_found');
        await rejectsWith(
          store.updateTask({ ...task, name: other.name }, { audit: audit('task.update', task.id) }),
          'task_name_taken',
        );
        assert.equal((await store.getTask(task.id))?.name, task.name);
        assert.equal((await store.listAudit({ namespaces: '*', action: 'task.update', limit: 10 })).items.length, 0);
      });

      it('replaces the pending occurrence and leaves other runs alone', async () => {
        const task = await createTask({}, (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 + 60_000 }));
        const pending = (await store.listRuns({ namespaces: '*', taskId: task.id, limit: 10 })).items[0]!;
        const manual = await addRun(task, { scheduledFor: T0 + 5_000 });
        const next = newRun(task, { trigger: 'schedule', scheduledFor: T0 + 120_000 });
        const updated = await store.updateTask(
          { ...task, schedule: { type: 'interval', every: '2m' } },
          { replacePending: { reason: 'rescheduled', nextRun: next, now: T0 + 1 }, audit: audit('task.update', task.id) },
        );
        assert.equal(updated.nextRunAt, T0 + 120_000);
        const old = await store.getRun(pending.id);
        assert.equal(old?.status, 'cancelled');
        assert.equal(old?.reason, 'rescheduled');
        assert.equal(old?.finishedAt, T0 + 1);
        assert.equal(await status(next.id), 'scheduled');
        assert.equal(await status(manual.id), 'scheduled');
      });

      it('pause then resume on the same occurrence keeps it pending once (the unique key holds)', async () => {
        const first = (t: Task) => newRun(t, { trigger: 'schedule', scheduledFor: T0 + 60_000 });
        const task = await createTask({}, first);
        const pending = (await store.listRuns({ namespaces: '*', taskId: task.id, limit: 10 })).items[0]!;
        const paused = await store.updateTask(
          { ...task, status: 'paused' },
          { replacePending: { reason: 'paused', nextRun: null, now: T0 + 1 }, audit: audit('task.pause', task.id) },
        );
        assert.equal(paused.nextRunAt, null);
        assert.equal(await status(pending.id), 'cancelled');
        // Resume plans the very same occurrence again.
        const again = newRun(task, { trigger: 'schedule', scheduledFor: T0 + 60_000 });
        const resumed = await store.updateTask(
          { ...paused, status: 'active' },
          { replacePending: { reason: 'resumed', nextRun: again, now: T0 + 2 }, audit: audit('task.resume', task.id) },
        );
        assert.equal(resumed.nextRunAt, T0 + 60_000);
        const runs = (await store.listRuns({ namespaces: '*', taskId: task.id, limit: 10 })).items;
        assert.equal(runs.length, 1, 'one row per occurrence');
        assert.equal(runs[0]!.status, 'scheduled');
        const claimed = await claim({ now: T0 + 60_000, plan: intervalPlanner(60_000) });
        assert.deepEqual(
          claimed.map((c) => c.run.occurrenceAt),
          [T0 + 60_000],
        );
      });

      it('deletes a task: unstarted runs cancelled, running ones reported, history kept', async () => {
        const task = await createTask({}, (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 + 60_000 }));
        const queued = await addRun(task);
        const running = await addRun(task);
        const done = await addRun(task);
        await claimOne(queued);
        await startOne(running);
        const d = await startOne(done);
        await store.completeRuns([{ runId: done.id, leaseEpoch: d.run.leaseEpoch, status: 'succeeded', finishedAt: T0 + 1 }]);

        const out = await store.deleteTask(task.id, T0 + 10, audit('task.delete', task.id));
        assert.equal(out.task.id, task.id);
        assert.equal(out.cancelled.length, 2);
        assert.ok(out.cancelled.every((r) => r.status === 'cancelled' && r.reason === 'deleted' && r.finishedAt === T0 + 10));
        assert.ok(out.cancelled.some((r) => r.id === queued.id));
        assert.deepEqual(
          out.running.map((r) => [r.id, r.status]),
          [[running.id, 'running']],
        );
        assert.equal(await store.getTask(task.id), null);
        assert.equal(await status(done.id), 'succeeded');
        assert.deepEqual(await store.listCancelRequests(NODE), [running.id]);
        await rejectsWith(store.deleteTask(task.id, T0 + 11, audit('task.delete', task.id)), 'task_not_found');
        assert.equal((await store.listAudit({ namespaces: '*', action: 'task.delete', limit: 10 })).items.length, 1);
      });

      it('pages through tasks in creation order with opaque cursors', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) ids.push((await createTask({ name: `t${i}` })).id);
        const seen: string[] = [];
        let cursor: string | undefined;
        const sizes: number[] = [];
        do {
          const page = await store.listTasks({ namespaces: '*', limit: 3, cursor });
          sizes.push(page.items.length);
          seen.push(...page.items.map((t) => t.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        assert.deepEqual(sizes, [3, 3, 1]);
        assert.deepEqual(seen, ids);
        const exact = await store.listTasks({ namespaces: '*', limit: 7 });
        assert.equal(exact.items.length, 7);
        assert.equal(exact.nextCursor, null);
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 3, cursor: 'not-a-cursor!' }), 'invalid_cursor');
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 3, cursor: 'eyJ4IjoxfQ' }), 'invalid_cursor');
      });

      it('scopes task lists by namespace and filters by status, kind and text', async () => {
        await createTask({ namespace: 'a', name: 'Daily-Report', kind: 'http' });
        await createTask({ namespace: 'a', name: 'cleanup', description: 'Removes OLD reports', kind: 'module', spec: { file: 'x.js' } });
        await createTask({ namespace: 'b', name: 'report-b', status: 'paused' });
        const names = async (f: Partial<Parameters<Store['listTasks']>[0]>) =>
          (await store.listTasks({ namespaces: '*', limit: 50, ...f })).items.map((t) => t.name).sort();
        assert.deepEqual(await names({ namespaces: ['a'] }), ['Daily-Report', 'cleanup']);
        assert.deepEqual(await names({ namespaces: ['a', 'b'] }), ['Daily-Report', 'cleanup', 'report-b']);
        assert.deepEqual(await names({ namespaces: [] }), []);
        assert.deepEqual(await names({ namespaces: ['zzz'] }), []);
        assert.deepEqual(await names({ status: 'paused' }), ['report-b']);
        assert.deepEqual(await names({ kind: 'module' }), ['cleanup']);
        assert.deepEqual(await names({ q: 'REPORT' }), ['Daily-Report', 'cleanup', 'report-b']);
        assert.deepEqual(await names({ q: 'old rep' }), ['cleanup']);
        assert.deepEqual(await names({ q: 'report', namespaces: ['b'] }), ['report-b']);
        assert.deepEqual(await names({ q: '%' }), []);
        assert.deepEqual(await store.countTasks('*'), { active: 2, paused: 1 });
        assert.deepEqual(await store.countTasks(['a']), { active: 2 });
        assert.deepEqual(await store.countTasks(['b', 'zzz']), { paused: 1 });
        assert.deepEqual(await store.countTasks([]), {});
      });

      it('sorts tasks by creation, name, next and last run, paging each order exactly (NULLs last both ways)', async () => {
        // Ties on every key (a name in two namespaces, equal times), NULLs, and upper case (byte order: 'B' < 'a').
        const specs: [string, string, number | null][] = [
          ['x', 'b', T0 + 3000],
          ['y', 'b', null],
          ['x', 'a', T0 + 1000],
          ['x', 'B', T0 + 3000],
          ['y', 'c', T0 + 1000],
          ['x', 'd', null],
          ['y', 'a', T0 + 2000],
        ];
        const tasks: Task[] = [];
        for (const [namespace, name, nextRunAt] of specs) tasks.push(await createTask({ namespace, name, nextRunAt }));
        // Last runs: two tied, one apart, the rest never ran.
        await finishRuns([
          { task: tasks[0]!, finishedAt: T0 + 500 },
          { task: tasks[2]!, finishedAt: T0 + 900 },
          { task: tasks[3]!, finishedAt: T0 + 500 },
          { task: tasks[6]!, finishedAt: T0 + 100 },
        ]);
        const current = await Promise.all(tasks.map(async (t) => (await store.getTask(t.id))!));
        const key: Record<string, (t: Task) => string | number | null> = {
          createdAt: () => null,
          name: (t) => t.name,
          nextRunAt: (t) => t.nextRunAt,
          lastRunAt: (t) => t.lastRunAt,
        };
        const expected = (sort: TaskSort): string[] => {
          const desc = sort.startsWith('-');
          const of = key[sort.replace('-', '')]!;
          const byId = (a: Task, b: Task) => (a.id < b.id ? -1 : 1) * (desc ? -1 : 1);
          return [...current]
            .sort((a, b) => {
              const [va, vb] = [of(a), of(b)];
              if (va === vb) return byId(a, b);
              if (va === null) return 1;
              if (vb === null) return -1;
              return (va < vb ? -1 : 1) * (desc ? -1 : 1);
            })
            .map((t) => t.id);
        };
        for (const sort of TASK_SORTS) {
          for (const limit of [1, 2, 3, 50]) {
            assert.deepEqual(await walkTasks({ namespaces: '*', sort }, limit), expected(sort), `sort=${sort} limit=${limit}`);
          }
        }
        // The name index serves an unfiltered listing; filters and namespace lists sort otherwise: same order.
        const inX = (ids: string[]) => ids.filter((id) => current.find((t) => t.id === id)!.namespace === 'x');
        for (const sort of ['name', '-name'] as const) {
          assert.deepEqual(await walkTasks({ namespaces: ['x'], sort }, 2), inX(expected(sort)));
          assert.deepEqual(await walkTasks({ namespaces: ['x', 'y'], sort }, 2), expected(sort));
          assert.deepEqual(await walkTasks({ namespaces: '*', status: 'active', sort }, 2), expected(sort));
        }
        assert.deepEqual(await walkTasks({ namespaces: ['x'], sort: '-nextRunAt' }, 1), inX(expected('-nextRunAt')));
      });

      it('refuses a cursor made for another sort', async () => {
        for (let i = 0; i < 3; i++) await createTask({ nextRunAt: T0 + i });
        const cursorOf = async (sort?: TaskSort) => (await store.listTasks({ namespaces: '*', limit: 1, ...(sort && { sort }) })).nextCursor!;
        const byName = await cursorOf('name');
        const byDefault = await cursorOf();
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 1, sort: 'nextRunAt', cursor: byName }), 'invalid_cursor');
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 1, sort: '-name', cursor: byName }), 'invalid_cursor');
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 1, sort: '-createdAt', cursor: byDefault }), 'invalid_cursor');
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 1, cursor: await cursorOf('-createdAt') }), 'invalid_cursor');
        // The default sort named or not is one order; a run cursor is no task cursor.
        assert.equal((await store.listTasks({ namespaces: '*', limit: 1, sort: 'createdAt', cursor: byDefault })).items.length, 1);
        const forged = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 1, sort: 'name', cursor: forged(['r', T0, newId()]) }), 'invalid_cursor');
        // A key of the wrong type for its sort (a time for a name, a name for a time).
        await rejectsWith(store.listTasks({ namespaces: '*', limit: 1, sort: 'name', cursor: forged(['ts', 'name', 5, newId()]) }), 'invalid_cursor');
        await rejectsWith(
          store.listTasks({ namespaces: '*', limit: 1, sort: 'lastRunAt', cursor: forged(['ts', 'lastRunAt', 'x', newId()]) }),
          'invalid_cursor',
        );
      });

      it('filters tasks by schedule type', async () => {
        await createTask({ name: 'once', schedule: { type: 'once', at: '2026-02-01T00:00:00Z' } });
        await createTask({ name: 'every', schedule: { type: 'interval', every: '5m' } });
        await createTask({ name: 'cron', schedule: { type: 'cron', expression: '0 * * * *', timezone: 'UTC' } });
        await createTask({ name: 'manual', schedule: null });
        const names = async (schedule: TaskFilter['schedule']) =>
          (await store.listTasks({ namespaces: '*', limit: 50, ...(schedule && { schedule }) })).items.map((t) => t.name);
        assert.deepEqual(await names('once'), ['once']);
        assert.deepEqual(await names('interval'), ['every']);
        assert.deepEqual(await names('cron'), ['cron']);
        assert.deepEqual(await names('none'), ['manual']);
        assert.equal((await names(undefined)).length, 4);
      });

      it('lists the recent finished runs of given tasks, newest due first', async () => {
        const a = await createTask();
        const b = await createTask();
        const quiet = await createTask();
        // `a`: five finished runs due at T0-5000…T0-1000 (two at the same time), a pending and a running one.
        const ended = await finishRuns([
          { task: a, scheduledFor: T0 - 5000, finishedAt: T0 + 10 },
          { task: a, scheduledFor: T0 - 4000, status: 'failed', startedAt: T0 + 1, finishedAt: T0 + 51 },
          { task: a, scheduledFor: T0 - 2000, status: 'timed_out', finishedAt: T0 + 30 },
          { task: a, scheduledFor: T0 - 2000, finishedAt: T0 + 20 },
          { task: b, scheduledFor: T0 - 3000, finishedAt: T0 + 5 },
        ]);
        const skipped = (await store.createRun(newRun(a, { status: 'skipped', reason: 'misfire', scheduledFor: T0 - 1000 }), null)).run;
        const running = await addRun(a, { scheduledFor: T0 });
        await startOne(running, T0 + 100);
        await addRun(a, { scheduledFor: T0 + 60_000 });
        const tied = [ended[2]!, ended[3]!].sort((x, y) => (x.id < y.id ? 1 : -1)).map((r) => r.id);

        const recent = await store.listRecentRuns([a.id, b.id, quiet.id, newId()], 4);
        assert.deepEqual(
          recent.get(a.id)!.map((r) => r.id),
          [skipped.id, ...tied, ended[1]!.id],
        );
        const failed = (await store.listRecentRuns([a.id], 10)).get(a.id)!.find((r) => r.id === ended[1]!.id)!;
        assert.deepEqual(failed, { id: ended[1]!.id, status: 'failed', scheduledFor: T0 - 4000, startedAt: T0 + 1, finishedAt: T0 + 51 });
        assert.equal((await store.listRecentRuns([a.id], 10)).get(a.id)!.length, 5);
        assert.deepEqual(recent.get(b.id)!.map((r) => r.id), [ended[4]!.id]);
        assert.deepEqual(recent.get(quiet.id), []);
        assert.equal(recent.size, 4);
        assert.deepEqual([...(await store.listRecentRuns([], 5)).keys()], []);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe('runs (API side)', () => {
      it('createRun is idempotent on (task, idempotency key, attempt)', async () => {
        const task = await createTask();
        const input = newRun(task, { idempotencyKey: 'order-42', payload: { order: 42 }, trigger: 'api' });
        const first = await store.createRun(input, audit('run.create', input.id));
        assert.equal(first.created, true);
        assert.equal(first.run.id, input.id);
        assert.deepEqual(first.run.payload, { order: 42 });
        assert.equal(first.run.leaseEpoch, 0);
        assert.equal(first.run.logsTruncated, false);
        assert.deepEqual(first.run, await store.getRun(input.id), 'the returned run is the stored run');
        const skipped = newRun(task, { status: 'skipped', reason: 'misfire', payload: { at: undefined, n: 1 } });
        assert.deepEqual((await store.createRun(skipped, null)).run, await store.getRun(skipped.id));

        const again = await store.createRun({ ...input, id: newId(), payload: { order: 43 } }, audit('run.create', 'x'));
        assert.equal(again.created, false);
        assert.equal(again.run.id, input.id);
        assert.deepEqual(again.run.payload, { order: 42 });
        assert.equal((await store.listAudit({ namespaces: '*', action: 'run.create', limit: 10 })).items.length, 1);

        const otherTask = await createTask();
        const elsewhere = await store.createRun(newRun(otherTask, { idempotencyKey: 'order-42' }), null);
        assert.equal(elsewhere.created, true, 'keys are per task');
        assert.equal(await store.getRun(newId()), null);
      });

      it('lists runs newest first with filters, scopes and cursors', async () => {
        const a = await createTask({ namespace: 'a' });
        const b = await createTask({ namespace: 'b' });
        const runs: Run[] = [];
        for (let i = 0; i < 5; i++) runs.push(await addRun(a, { scheduledFor: T0 + i * 1000 }));
        // Two runs due at the same time: the id breaks the tie.
        runs.push(await addRun(a, { scheduledFor: T0 + 4000 }));
        const other = await addRun(b, { scheduledFor: T0 + 2500 });
        await claimOne(runs[0]!);

        const all = await store.listRuns({ namespaces: '*', limit: 100 });
        const expected = [...runs, other].sort((x, y) => y.scheduledFor - x.scheduledFor || (y.id < x.id ? -1 : 1));
        assert.deepEqual(
          all.items.map((r) => r.id),
          expected.map((r) => r.id),
        );

        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listRuns({ namespaces: '*', limit: 2, cursor });
          seen.push(...page.items.map((r) => r.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        assert.deepEqual(seen, expected.map((r) => r.id));

        const ids = async (f: Partial<Parameters<Store['listRuns']>[0]>) =>
          (await store.listRuns({ namespaces: '*', limit: 100, ...f })).items.map((r) => r.id);
        assert.deepEqual(await ids({ namespaces: ['b'] }), [other.id]);
        assert.deepEqual(await ids({ namespaces: [] }), []);
        assert.equal((await ids({ taskId: a.id })).length, 6);
        assert.deepEqual(await ids({ status: ['queued'] }), [runs[0]!.id]);
        assert.equal((await ids({ status: ['queued', 'scheduled'] })).length, 7);
        assert.deepEqual(
          (await ids({ from: T0 + 1000, to: T0 + 3000 })).sort(),
          [runs[1]!.id, runs[2]!.id, other.id].sort(),
        );
        await rejectsWith(store.listRuns({ namespaces: '*', limit: 2, cursor: '%%%' }), 'invalid_cursor');
        const taskCursor = (await store.listTasks({ namespaces: '*', limit: 1 })).nextCursor!;
        await rejectsWith(store.listRuns({ namespaces: '*', limit: 2, cursor: taskCursor }), 'invalid_cursor');
      });

      it('lists runs oldest due first with order asc, paging exactly; cursors keep their order', async () => {
        const a = await createTask({ namespace: 'a' });
        const b = await createTask({ namespace: 'b' });
        const runs: Run[] = [];
        for (const at of [T0 + 3000, T0 + 1000, T0 + 2000, T0 + 1000, T0 + 1000]) runs.push(await addRun(a, { scheduledFor: at }));
        const other = await addRun(b, { scheduledFor: T0 + 1500 });
        const all = [...runs, other];
        const asc = [...all].sort((x, y) => x.scheduledFor - y.scheduledFor || (x.id < y.id ? -1 : 1)).map((r) => r.id);
        const walk = async (f: Partial<Parameters<Store['listRuns']>[0]>, limit: number) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.listRuns({ namespaces: '*', limit, ...f, ...(cursor !== undefined && { cursor }) });
            seen.push(...page.items.map((r) => r.id));
            cursor = page.nextCursor ?? undefined;
          } while (cursor !== undefined);
          return seen;
        };
        for (const limit of [1, 2, 4, 100]) {
          assert.deepEqual(await walk({ order: 'asc' }, limit), asc, `limit ${limit}`);
          assert.deepEqual(await walk({ order: 'desc' }, limit), [...asc].reverse(), `limit ${limit}`);
        }
        // Only pending runs (the runs_due index) from a time on: the next runs due.
        await claimOne(runs[1]!, T0 + 1000);
        const pendingFrom = asc.filter((id) => id !== runs[1]!.id && all.find((r) => r.id === id)!.scheduledFor >= T0 + 1000);
        assert.deepEqual(await walk({ order: 'asc', status: ['scheduled'], from: T0 + 1000 }, 2), pendingFrom);
        assert.deepEqual(
          await walk({ order: 'asc', status: ['scheduled'], namespaces: ['a'] }, 1),
          pendingFrom.filter((id) => id !== other.id),
        );
        assert.deepEqual(await walk({ order: 'asc', status: ['scheduled'], taskId: b.id }, 1), [other.id]);
        assert.deepEqual(await walk({ order: 'desc', status: ['scheduled'] }, 2), [...pendingFrom].reverse());

        const ascCursor = (await store.listRuns({ namespaces: '*', limit: 1, order: 'asc' })).nextCursor!;
        const descCursor = (await store.listRuns({ namespaces: '*', limit: 1 })).nextCursor!;
        await rejectsWith(store.listRuns({ namespaces: '*', limit: 1, cursor: ascCursor }), 'invalid_cursor');
        await rejectsWith(store.listRuns({ namespaces: '*', limit: 1, order: 'desc', cursor: ascCursor }), 'invalid_cursor');
        await rejectsWith(store.listRuns({ namespaces: '*', limit: 1, order: 'asc', cursor: descCursor }), 'invalid_cursor');
      });

      it('keeps run logs in order: live appends, then the completion', async () => {
        const task = await createTask();
        const run = await addRun(task);
        const c = await startOne(run);
        await store.appendRunLogs(run.id, [
          { at: T0 + 1, level: 'info', message: 'starting' },
          { at: T0 + 2, level: 'debug', message: 'step 1' },
        ]);
        await store.appendRunLogs(run.id, []);
        await store.completeRuns([
          {
            runId: run.id,
            leaseEpoch: c.run.leaseEpoch,
            status: 'succeeded',
            finishedAt: T0 + 4,
            logs: [{ at: T0 + 3, level: 'warn', message: 'almost done ✓' }],
            logsTruncated: true,
          },
        ]);
        assert.deepEqual(await store.getRunLogs(run.id), [
          { at: T0 + 1, level: 'info', message: 'starting' },
          { at: T0 + 2, level: 'debug', message: 'step 1' },
          { at: T0 + 3, level: 'warn', message: 'almost done ✓' },
        ]);
        assert.equal((await store.getRun(run.id))?.logsTruncated, true);
        assert.deepEqual(await store.getRunLogs(newId()), []);
      });

      it('keeps resource samples of a run in time order, apart from other runs', async () => {
        const task = await createTask();
        const a = await addRun(task);
        const b = await addRun(task);
        await store.appendRunSamples([
          { runId: a.id, at: T0 + 2000, cpuMs: 20.5, rssBytes: 2_000_000, diskWriteBytes: 4096 },
          { runId: b.id, at: T0 + 1000, cpuMs: 1, rssBytes: 1, diskWriteBytes: 0 },
          { runId: a.id, at: T0 + 1000, cpuMs: 10, rssBytes: 1_000_000, diskWriteBytes: 0 },
        ]);
        await store.appendRunSamples([]);
        assert.deepEqual(await store.getRunSamples(a.id), [
          { at: T0 + 1000, cpuMs: 10, rssBytes: 1_000_000, diskWriteBytes: 0 },
          { at: T0 + 2000, cpuMs: 20.5, rssBytes: 2_000_000, diskWriteBytes: 4096 },
        ]);
        assert.equal((await store.getRunSamples(b.id)).length, 1);
        assert.deepEqual(await store.getRunSamples(newId()), []);
      });

      it('reschedules scheduled and queued runs, fencing out the old claim', async () => {
        const task = await createTask({}, (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 }));
        const pending = (await store.listRuns({ namespaces: '*', taskId: task.id, limit: 10 })).items[0]!;
        const moved = await store.rescheduleRun(pending.id, T0 + 90_000, T0, audit('run.reschedule', pending.id));
        assert.equal(moved.status, 'scheduled');
        assert.equal(moved.scheduledFor, T0 + 90_000);
        assert.ok(moved.leaseEpoch > pending.leaseEpoch);
        assert.equal((await store.getTask(task.id))?.nextRunAt, T0 + 90_000, 'the pending occurrence moved');

        const manual = await addRun(task);
        const c = await claimOne(manual);
        const back = await store.rescheduleRun(manual.id, T0 + 5_000, T0, audit('run.reschedule', manual.id));
        assert.equal(back.status, 'scheduled');
        assert.equal(back.node, null);
        assert.equal(back.leaseUntil, null);
        assert.ok(back.leaseEpoch > c.run.leaseEpoch);
        const { stale } = await store.markRunning([{ runId: manual.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 }]);
        assert.deepEqual(stale, [manual.id]);
        assert.equal(await status(manual.id), 'scheduled');
        assert.equal((await claim({ now: T0 + 4_999 })).length, 0);
        const reclaimed = await claim({ now: T0 + 5_000 });
        assert.deepEqual(
          reclaimed.map((x) => x.run.id),
          [manual.id],
        );
        const start = { runId: manual.id, leaseEpoch: reclaimed[0]!.run.leaseEpoch, startedAt: T0 + 5_000 };
        assert.deepEqual((await store.markRunning([start])).stale, []);
        await rejectsWith(store.rescheduleRun(manual.id, T0, T0, audit('run.reschedule', manual.id)), 'run_not_reschedulable');
        await rejectsWith(store.rescheduleRun(newId(), T0, T0, audit('run.reschedule', 'x')), 'run_not_found');
        assert.equal((await store.listAudit({ namespaces: '*', action: 'run.reschedule', limit: 10 })).items.length, 2);
      });

      it('cancels in every state: pending, queued, running (request), finished (refused)', async () => {
        const task = await createTask();
        const pending = await addRun(task, { scheduledFor: T0 + 60_000 });
        const out1 = await store.requestCancel(pending.id, T0, audit('run.cancel', pending.id));
        assert.equal(out1.previousStatus, 'scheduled');
        assert.equal(out1.run.status, 'cancelled');
        assert.equal(out1.run.reason, 'cancelled');
        assert.equal(out1.run.finishedAt, T0);

        const queued = await addRun(task);
        const c = await claimOne(queued);
        const out2 = await store.requestCancel(queued.id, T0 + 1, audit('run.cancel', queued.id));
        assert.equal(out2.previousStatus, 'queued');
        assert.equal(out2.run.status, 'cancelled');
        const { stale } = await store.markRunning([{ runId: queued.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 + 2 }]);
        assert.deepEqual(stale, [queued.id], 'a cancelled run cannot be started by its old claim');

        const running = await addRun(task);
        const r = await startOne(running);
        assert.deepEqual(await store.listCancelRequests(NODE), []);
        const out3 = await store.requestCancel(running.id, T0 + 3, audit('run.cancel', running.id));
        assert.equal(out3.previousStatus, 'running');
        assert.equal(out3.run.status, 'running');
        assert.deepEqual(await store.listCancelRequests(NODE), [running.id]);
        assert.deepEqual(await store.listCancelRequests('node-b'), []);
        // The holder stops it and writes the outcome.
        const done = await store.completeRuns([
          { runId: running.id, leaseEpoch: r.run.leaseEpoch, status: 'cancelled', reason: 'cancelled', finishedAt: T0 + 4 },
        ]);
        assert.deepEqual(done.stale, []);
        assert.deepEqual(await store.listCancelRequests(NODE), []);

        await rejectsWith(store.requestCancel(running.id, T0 + 5, audit('run.cancel', running.id)), 'run_already_finished');
        await rejectsWith(store.requestCancel(pending.id, T0 + 5, audit('run.cancel', pending.id)), 'run_already_finished');
        await rejectsWith(store.requestCancel(newId(), T0 + 5, audit('run.cancel', 'x')), 'run_not_found');
        assert.equal((await store.listAudit({ namespaces: '*', action: 'run.cancel', limit: 10 })).items.length, 3);
      });
    });

    // ------------------------------------------------------------------------------------------
    describe('claims (scheduler side)', () => {
      it('claims only due runs, under a lease, with the epoch bumped, once', async () => {
        const task = await createTask();
        const due = await addRun(task, { scheduledFor: T0 - 10, payload: { big: 'x'.repeat(3000), n: [1, 2.5, null] } });
        const soon = await addRun(task, { scheduledFor: T0 + 500 });
        const later = await addRun(task, { scheduledFor: T0 + 5_000 });
        const claimed = await claim({ now: T0, horizon: T0 + 1_000 });
        assert.deepEqual(
          claimed.map((c) => c.run.id),
          [due.id, soon.id],
        );
        for (const c of claimed) {
          assert.equal(c.run.status, 'queued');
          assert.equal(c.run.node, NODE);
          assert.equal(c.run.queuedAt, T0);
          assert.equal(c.run.leaseUntil, T0 + LEASE);
          assert.equal(c.run.leaseEpoch, 1);
          assert.equal(c.task.id, task.id);
          assert.deepEqual(await store.getRun(c.run.id), c.run, 'the returned run is the stored run');
        }
        assert.equal((await claim({ now: T0, horizon: T0 + 1_000, node: 'node-b' })).length, 0, 'never twice');
        assert.equal(await status(later.id), 'scheduled');
      });

      it('starts the due runs startDue chooses in the claim itself (one write), the rest queued', async () => {
        const task = await createTask();
        const overdue = await addRun(task, { scheduledFor: T0 - 10 });
        const due = await addRun(task, { scheduledFor: T0 });
        const soon = await addRun(task, { scheduledFor: T0 + 500 });
        const offered: string[][] = [];
        const claimed = await store.claimDueRuns({
          node: NODE,
          now: T0,
          horizon: T0 + 1_000,
          limit: 10,
          leaseUntil: T0 + LEASE,
          plan: noPlan,
          // Chooses the first run offered: the choice is the caller's, the store only writes it.
          startDue: (candidates) => {
            offered.push(candidates.map((c) => c.run.id));
            return new Set(candidates.slice(0, 1));
          },
        });
        assert.deepEqual(offered.at(-1), [overdue.id, due.id], 'only runs due by now are offered, in due order');
        assert.deepEqual(
          claimed.map((c) => [c.run.id, c.run.status]),
          [
            [overdue.id, 'running'],
            [due.id, 'queued'],
            [soon.id, 'queued'],
          ],
        );
        const started = claimed[0]!.run;
        assert.equal(started.startedAt, T0);
        assert.equal(started.queuedAt, T0);
        assert.equal(started.leaseEpoch, 1);
        assert.equal(started.node, NODE);
        for (const c of claimed) assert.deepEqual(await store.getRun(c.run.id), c.run, 'the returned run is the stored run');
        // It ends like any started run, at the claim's epoch.
        const { stale } = await store.completeRuns([{ runId: overdue.id, leaseEpoch: 1, status: 'succeeded', startedAt: T0, finishedAt: T0 + 5 }]);
        assert.deepEqual(stale, []);
        assert.equal(await status(overdue.id), 'succeeded');
        // Handed back unexecuted (a claim that came back too late), it is pending again.
        const again = await store.claimDueRuns({ node: NODE, now: T0, horizon: T0, limit: 10, leaseUntil: T0 + LEASE, plan: noPlan, startDue: (c) => new Set(c) });
        assert.deepEqual(again, []);
        await store.releaseRuns(NODE, [{ runId: due.id, leaseEpoch: 1 }], T0);
        const retaken = await store.claimDueRuns({ node: NODE, now: T0, horizon: T0, limit: 10, leaseUntil: T0 + LEASE, plan: noPlan, startDue: (c) => new Set(c) });
        assert.deepEqual(retaken.map((c) => [c.run.id, c.run.status, c.run.leaseEpoch]), [[due.id, 'running', 3]]);
      });

      it('never offers startDue a run the claim skipped (misfire) and writes the skip', async () => {
        const task = await createTask();
        const missed = await addRun(task, { trigger: 'schedule', scheduledFor: T0 - 60_000 });
        const skipAll: PlanOccurrence = (t) => ({ claimed: { skip: 'misfire' }, inserts: [], firedCount: t.firedCount + 1, nextRunAt: null });
        const offered: string[] = [];
        const claimed = await store.claimDueRuns({
          node: NODE,
          now: T0,
          horizon: T0,
          limit: 10,
          leaseUntil: T0 + LEASE,
          plan: skipAll,
          startDue: (c) => {
            offered.push(...c.map((x) => x.run.id));
            return new Set(c);
          },
        });
        assert.deepEqual(offered, []);
        assert.deepEqual(claimed.map((c) => [c.run.id, c.run.status]), [[missed.id, 'skipped']]);
        assert.equal(await status(missed.id), 'skipped');
      });

      it('claims in due order, then priority (higher first), up to the limit', async () => {
        const task = await createTask();
        const low = await addRun(task, { scheduledFor: T0, priority: 0 });
        const high = await addRun(task, { scheduledFor: T0, priority: 10 });
        const early = await addRun(task, { scheduledFor: T0 - 1, priority: -5 });
        const mid = await addRun(task, { scheduledFor: T0, priority: 5 });
        const first = await claim({ limit: 3 });
        assert.deepEqual(
          first.map((c) => c.run.id),
          [early.id, high.id, mid.id],
        );
        assert.deepEqual(
          (await claim({ limit: 3 })).map((c) => c.run.id),
          [low.id],
        );
      });

      it('a full claim with spread also takes the oldest due runs of every namespace not in it', async () => {
        // A flood in one namespace, due first; two other namespaces with runs due a little later.
        const flood = await createTask({ namespace: 'flood' });
        for (let i = 0; i < 10; i++) await addRun(flood, { scheduledFor: T0 - 100 + i });
        const steady = await createTask({ namespace: 'steady' });
        const s1 = await addRun(steady, { scheduledFor: T0 - 5 });
        const s2 = await addRun(steady, { scheduledFor: T0 - 4 });
        const s3 = await addRun(steady, { scheduledFor: T0 - 3 });
        const quiet = await createTask({ namespace: 'quiet' });
        const q1 = await addRun(quiet, { scheduledFor: T0 - 2 });
        const notYet = await addRun(quiet, { scheduledFor: T0 + 60_000 });
        const opts = { node: NODE, now: T0, horizon: T0, leaseUntil: T0 + LEASE, plan: noPlan };
        // Not full: no spread, due order alone.
        const small = await store.claimDueRuns({ ...opts, limit: 100, spread: 4, node: 'probe' });
        assert.equal(small.length, 14);
        await store.releaseRuns('probe', small.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch })), T0);

        // Full: four of the flood, and at least one of each other namespace (two each of four).
        const claimed = await store.claimDueRuns({ ...opts, limit: 4, spread: 4 });
        const ids = claimed.map((c) => c.run.id);
        assert.equal(claimed.filter((c) => c.run.namespace === 'flood').length, 4);
        assert.deepEqual(ids.filter((id) => [s1.id, s2.id, s3.id, q1.id].includes(id)), [s1.id, s2.id, q1.id], 'the oldest due of each, in due order');
        assert.ok(!ids.includes(notYet.id), 'nothing not yet due');
        assert.deepEqual([...ids].sort((a, b) => (a < b ? -1 : 1)).length, new Set(ids).size);
        for (const c of claimed) {
          assert.equal(c.run.status, 'queued');
          assert.deepEqual(await store.getRun(c.run.id), c.run, 'the returned run is the stored run');
        }
        // In due order as a whole, as every claim answers.
        const dues = claimed.map((c) => c.run.scheduledFor);
        assert.deepEqual(dues, [...dues].sort((a, b) => a - b));
        // Never twice: a second claim takes what is left.
        const rest = await store.claimDueRuns({ ...opts, limit: 100, spread: 4, node: 'node-b' });
        assert.equal(rest.length, 14 - claimed.length);
        assert.ok(rest.every((c) => !ids.includes(c.run.id)));
      });

      it('leaves schedule runs of paused tasks pending but claims their manual runs', async () => {
        const task = await createTask({}, (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 }));
        const paused = await store.updateTask({ ...task, status: 'paused' }, { audit: audit('task.pause', task.id) });
        const manual = await addRun(task, { trigger: 'manual' });
        const retry = await addRun(task, { trigger: 'retry', attempt: 2 });
        const claimed = await claim({ plan: intervalPlanner(60_000) });
        assert.deepEqual(claimed.map((c) => c.run.id).sort(), [manual.id, retry.id].sort());
        await store.updateTask({ ...paused, status: 'active' }, { audit: audit('task.resume', task.id) });
        const resumed = await claim({ plan: intervalPlanner(60_000) });
        assert.deepEqual(
          resumed.map((c) => [c.run.trigger, c.run.status]),
          [['schedule', 'queued']],
        );
      });

      it('plans each claimed occurrence in the claim: next inserted, counters moved', async () => {
        const task = await createTask({ schedule: { type: 'interval', every: '1m' } }, (t) =>
          newRun(t, { trigger: 'schedule', scheduledFor: T0 }),
        );
        const plan = intervalPlanner(60_000);
        const claimed = await claim({ now: T0 + 5, plan });
        assert.equal(claimed.length, 1);
        assert.equal(plan.calls.length, 1);
        assert.equal(plan.calls[0]!.task.id, task.id);
        assert.equal(plan.calls[0]!.now, T0 + 5);
        assert.equal(claimed[0]!.task.firedCount, 1);
        const stored = await store.getTask(task.id);
        assert.equal(stored?.firedCount, 1);
        assert.equal(stored?.nextRunAt, T0 + 60_000);
        assert.equal(stored?.version, task.version, 'claims do not change the definition version');
        const pending = await store.listRuns({ namespaces: '*', taskId: task.id, status: ['scheduled'], limit: 10 });
        assert.deepEqual(
          pending.items.map((r) => [r.occurrenceAt, r.trigger]),
          [[T0 + 60_000, 'schedule']],
        );
      });

      it('plans several occurrences of one task in one claim from the moving counters', async () => {
        const task = await createTask();
        for (const at of [T0 - 120_000, T0 - 60_000, T0]) await addRun(task, { trigger: 'schedule', scheduledFor: at });
        const plan = intervalPlanner(60_000);
        const claimed = await claim({ plan });
        assert.equal(claimed.length, 3);
        assert.deepEqual(
          plan.calls.map((c) => c.task.firedCount),
          [0, 1, 2],
        );
        assert.equal((await store.getTask(task.id))?.firedCount, 3);
        // The first two plans inserted occurrences that already existed: absorbed, not doubled.
        const runs = (await store.listRuns({ namespaces: '*', taskId: task.id, limit: 50 })).items;
        const keys = runs.map((r) => `${r.idempotencyKey}#${r.attempt}`);
        assert.equal(new Set(keys).size, keys.length);
        assert.equal(runs.length, 4);
      });

      it('absorbs a repeated insert of the same occurrence (the unique key)', async () => {
        const task = await createTask();
        await addRun(task, { trigger: 'schedule', scheduledFor: T0 });
        const next = newRun(task, { trigger: 'schedule', scheduledFor: T0 + 60_000 });
        const twice: PlanOccurrence = (t) => ({
          claimed: 'run',
          inserts: [next, { ...next, id: newId() }],
          firedCount: t.firedCount + 1,
          nextRunAt: next.scheduledFor,
        });
        await claim({ plan: twice });
        const pending = await store.listRuns({ namespaces: '*', taskId: task.id, status: ['scheduled'], limit: 10 });
        assert.deepEqual(
          pending.items.map((r) => r.id),
          [next.id],
        );
      });

      it('records a planned skip as a final skipped run and returns it', async () => {
        const task = await createTask();
        const missed = await addRun(task, { trigger: 'schedule', scheduledFor: T0 - 3_600_000 });
        const plan = intervalPlanner(60_000, { skip: () => 'misfire' });
        const claimed = await claim({ plan });
        assert.equal(claimed.length, 1);
        assert.equal(claimed[0]!.run.status, 'skipped');
        assert.equal(claimed[0]!.run.reason, 'misfire');
        const stored = await store.getRun(missed.id);
        assert.equal(stored?.status, 'skipped');
        assert.equal(stored?.reason, 'misfire');
        assert.equal(stored?.finishedAt, T0);
      });

      it('writes skipped rows a plan inserts as final', async () => {
        const task = await createTask();
        await addRun(task, { trigger: 'schedule', scheduledFor: T0 });
        const skipped = newRun(task, { trigger: 'schedule', scheduledFor: T0 - 60_000, status: 'skipped', reason: 'misfire' });
        const plan: PlanOccurrence = (t) => ({ claimed: 'run', inserts: [skipped], firedCount: t.firedCount + 1, nextRunAt: null });
        await claim({ plan });
        const row = await store.getRun(skipped.id);
        assert.equal(row?.status, 'skipped');
        assert.equal(row?.reason, 'misfire');
        assert.equal(row?.finishedAt, skipped.createdAt);
        assert.equal((await store.getTask(task.id))?.nextRunAt, null);
      });

      it('cancels due runs of deleted tasks instead of returning them', async () => {
        const task = await createTask();
        await store.deleteTask(task.id, T0, audit('task.delete', task.id));
        // A run that reached the store after its task was deleted (a race the claim must absorb).
        const late = await addRun(task);
        assert.deepEqual(await claim(), []);
        const row = await store.getRun(late.id);
        assert.equal(row?.status, 'cancelled');
        assert.equal(row?.reason, 'deleted');
      });

      it('fences every write by the lease epoch', async () => {
        const task = await createTask();
        const run = await addRun(task);
        const c = await claimOne(run);
        const old = c.run.leaseEpoch - 1;
        assert.deepEqual((await store.markRunning([{ runId: run.id, leaseEpoch: old, startedAt: T0 }])).stale, [run.id]);
        assert.equal(await status(run.id), 'queued');
        assert.deepEqual(
          (await store.completeRuns([{ runId: run.id, leaseEpoch: old, status: 'succeeded', finishedAt: T0 }])).stale,
          [run.id],
        );
        assert.equal(await status(run.id), 'queued');
        await store.releaseRuns(NODE, [{ runId: run.id, leaseEpoch: old }], T0);
        assert.equal(await status(run.id), 'queued', 'a stale release changes nothing');
        await store.releaseRuns('node-b', [{ runId: run.id, leaseEpoch: c.run.leaseEpoch }], T0);
        assert.equal(await status(run.id), 'queued', 'only the holder releases');

        const ok = await store.markRunning([
          { runId: run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 + 1 },
          { runId: newId(), leaseEpoch: 1, startedAt: T0 + 1 },
        ]);
        assert.equal(ok.stale.length, 1);
        assert.notEqual(ok.stale[0], run.id);
        const started = await store.getRun(run.id);
        assert.equal(started?.status, 'running');
        assert.equal(started?.startedAt, T0 + 1);
        assert.deepEqual((await store.markRunning([{ runId: run.id, leaseEpoch: c.run.leaseEpoch, startedAt: T0 + 2 }])).stale, [
          run.id,
        ]);
        assert.deepEqual(await store.markRunning([]), { stale: [], busy: [] });
        assert.deepEqual(await store.completeRuns([]), { stale: [] });
      });

      it('completes runs with outcome, metrics, task summary and the retry in one write', async () => {
        const task = await createTask();
        const ok = await addRun(task);
        const bad = await addRun(task);
        const a = await startOne(ok);
        const b = await startOne(bad);
        const retry = newRun(task, { trigger: 'retry', attempt: 2, retryOf: bad.id, idempotencyKey: bad.idempotencyKey, scheduledFor: T0 + 2_000 });
        const res = await store.completeRuns([
          {
            runId: ok.id,
            leaseEpoch: a.run.leaseEpoch,
            status: 'succeeded',
            startedAt: T0,
            finishedAt: T0 + 100,
            result: { rows: 3 },
            cpuMs: 12.5,
            peakRssBytes: 1_000_000,
            diskWriteBytes: 4096,
          },
          {
            runId: bad.id,
            leaseEpoch: b.run.leaseEpoch,
            status: 'failed',
            finishedAt: T0 + 200,
            error: { code: 'http_status', message: 'HTTP 500', detail: { status: 500 } },
            retry,
          },
        ]);
        assert.deepEqual(res.stale, []);
        const okRow = await store.getRun(ok.id);
        assert.equal(okRow?.status, 'succeeded');
        assert.deepEqual(okRow?.result, { rows: 3 });
        assert.equal(okRow?.error, null);
        assert.equal(okRow?.finishedAt, T0 + 100);
        assert.equal(okRow?.cpuMs, 12.5);
        assert.equal(okRow?.peakRssBytes, 1_000_000);
        assert.equal(okRow?.diskWriteBytes, 4096);
        assert.equal(okRow?.node, NODE, 'the run remembers the node that ran it');
        const badRow = await store.getRun(bad.id);
        assert.equal(badRow?.status, 'failed');
        assert.equal(badRow?.result, null);
        assert.deepEqual(badRow?.error, { code: 'http_status', message: 'HTTP 500', detail: { status: 500 } });
        assert.equal(badRow?.startedAt, T0, 'startedAt kept from markRunning');
        const retryRow = await store.getRun(retry.id);
        assert.equal(retryRow?.status, 'scheduled');
        assert.equal(retryRow?.attempt, 2);
        assert.equal(retryRow?.retryOf, bad.id);
        assert.equal(retryRow?.trigger, 'retry');
        const t = await store.getTask(task.id);
        assert.equal(t?.lastRunAt, T0 + 200);
        assert.equal(t?.lastRunStatus, 'failed');
        // A repeated completion is stale: the run already ended.
        assert.deepEqual(
          (await store.completeRuns([{ runId: ok.id, leaseEpoch: a.run.leaseEpoch, status: 'failed', finishedAt: T0 + 300 }])).stale,
          [ok.id],
        );
        assert.equal((await store.getTask(task.id))?.lastRunStatus, 'failed');
      });

      it('completes a run whose task was deleted meanwhile', async () => {
        const task = await createTask();
        const run = await addRun(task);
        const c = await startOne(run);
        const out = await store.deleteTask(task.id, T0 + 1, audit('task.delete', task.id));
        assert.deepEqual(
          out.running.map((r) => r.id),
          [run.id],
        );
        const res = await store.completeRuns([{ runId: run.id, leaseEpoch: c.run.leaseEpoch, status: 'cancelled', finishedAt: T0 + 2 }]);
        assert.deepEqual(res.stale, []);
        assert.equal(await status(run.id), 'cancelled');
      });

      it('skips or cancels a queued run through completeRuns without a start', async () => {
        const task = await createTask();
        const run = await addRun(task);
        const c = await claimOne(run);
        const res = await store.completeRuns([
          { runId: run.id, leaseEpoch: c.run.leaseEpoch, status: 'skipped', reason: 'overlap', finishedAt: T0 + 1 },
        ]);
        assert.deepEqual(res.stale, []);
        const row = await store.getRun(run.id);
        assert.equal(row?.status, 'skipped');
        assert.equal(row?.reason, 'overlap');
        assert.equal(row?.startedAt, null);
      });

      it('releases runs back to pending and lets them be claimed again', async () => {
        const task = await createTask();
        const queued = await addRun(task);
        const running = await addRun(task);
        const q = await claimOne(queued);
        const r = await startOne(running);
        await store.releaseRuns(
          NODE,
          [
            { runId: queued.id, leaseEpoch: q.run.leaseEpoch },
            { runId: running.id, leaseEpoch: r.run.leaseEpoch },
          ],
          T0 + 1,
        );
        for (const id of [queued.id, running.id]) {
          const row = await store.getRun(id);
          assert.equal(row?.status, 'scheduled');
          assert.equal(row?.node, null);
          assert.equal(row?.leaseUntil, null);
          assert.equal(row?.startedAt, null);
        }
        await store.releaseRuns(NODE, [], T0);
        const again = await claim({ node: 'node-b', now: T0 + 2 });
        assert.deepEqual(again.map((c) => c.run.id).sort(), [queued.id, running.id].sort());
        assert.ok(again.every((c) => c.run.node === 'node-b'));
        assert.deepEqual(
          (await store.markRunning([{ runId: queued.id, leaseEpoch: q.run.leaseEpoch, startedAt: T0 + 3 }])).stale,
          [queued.id],
        );
      });

      it('ends a released run that someone asked to cancel instead of handing it back', async () => {
        const task = await createTask();
        const run = await addRun(task);
        const c = await startOne(run);
        await store.requestCancel(run.id, T0 + 1, audit('run.cancel', run.id));
        await store.releaseRuns(NODE, [{ runId: run.id, leaseEpoch: c.run.leaseEpoch }], T0 + 2);
        const row = await store.getRun(run.id);
        assert.equal(row?.status, 'cancelled');
        assert.equal(row?.finishedAt, T0 + 2);
        assert.deepEqual(await claim({ now: T0 + 3 }), []);
      });

      it('extends the leases a node holds, and only those', async () => {
        const task = await createTask();
        const mine = await addRun(task);
        const started = await addRun(task);
        const theirs = await addRun(task);
        await claimOne(mine);
        await startOne(started);
        const t = await claim({ node: 'node-b' });
        assert.deepEqual(
          t.map((c) => c.run.id),
          [theirs.id],
        );
        const held = async (r: Run) => {
          const now = (await store.getRun(r.id))!;
          return { runId: now.id, leaseEpoch: now.leaseEpoch };
        };
        const leases = [await held(mine), await held(started), await held(theirs)];
        // Named but another node's: not extended.
        assert.equal(await store.extendLeases(NODE, leases, T0 + 99_000), 2);
        assert.equal((await store.getRun(mine.id))?.leaseUntil, T0 + 99_000);
        assert.equal((await store.getRun(started.id))?.leaseUntil, T0 + 99_000);
        assert.equal((await store.getRun(theirs.id))?.leaseUntil, T0 + LEASE);
        assert.equal(await store.extendLeases('node-z', leases, T0 + 99_000), 0);
        // A stale epoch (the run was taken over, or the holder lost track of it) is not renewed.
        assert.equal(await store.extendLeases(NODE, [{ runId: mine.id, leaseEpoch: leases[0]!.leaseEpoch - 1 }], T0 + 120_000), 0);
        // Runs the node holds but does not name lapse: only named ones are renewed.
        assert.equal(await store.extendLeases(NODE, [leases[0]!], T0 + 130_000), 1);
        assert.equal((await store.getRun(started.id))?.leaseUntil, T0 + 99_000);
        assert.equal(await store.extendLeases(NODE, [], T0 + 140_000), 0);
      });

      it('takes over orphaned runs whose lease expired and fences out the dead holder', async () => {
        const task = await createTask();
        const queued = await addRun(task);
        const running = await addRun(task);
        const fresh = await addRun(task);
        const q = await claimOne(queued);
        const r = await startOne(running);
        const later = T0 + 10_000;
        await claim({ now: later, node: 'node-c' }); // `fresh`, leased until later + LEASE

        assert.deepEqual(await store.claimOrphanedRuns({ node: 'node-b', now: T0 + LEASE - 1, leaseUntil: T0 + 2 * LEASE, limit: 10 }), []);
        const orphans = await store.claimOrphanedRuns({ node: 'node-b', now: T0 + LEASE + 1, leaseUntil: T0 + 2 * LEASE, limit: 10 });
        assert.deepEqual(orphans.map((o) => o.run.id).sort(), [queued.id, running.id].sort());
        for (const o of orphans) {
          assert.equal(o.run.node, 'node-b');
          assert.equal(o.run.leaseUntil, T0 + 2 * LEASE);
          assert.equal(o.task.id, task.id);
        }
        assert.equal(orphans.find((o) => o.run.id === queued.id)?.run.status, 'queued', 'status unchanged');
        assert.equal(orphans.find((o) => o.run.id === running.id)?.run.status, 'running');
        assert.equal(await status(fresh.id), 'queued');
        const res = await store.completeRuns([
          { runId: queued.id, leaseEpoch: q.run.leaseEpoch, status: 'succeeded', finishedAt: T0 },
          { runId: running.id, leaseEpoch: r.run.leaseEpoch, status: 'succeeded', finishedAt: T0 },
        ]);
        assert.deepEqual(res.stale.sort(), [queued.id, running.id].sort());
        const newEpoch = orphans.find((o) => o.run.id === running.id)!.run.leaseEpoch;
        assert.ok(newEpoch > r.run.leaseEpoch);
        const lost = await store.completeRuns([
          {
            runId: running.id,
            leaseEpoch: newEpoch,
            status: 'failed',
            reason: 'lost',
            error: { code: 'lost', message: 'node died' },
            finishedAt: T0 + LEASE + 2,
          },
        ]);
        assert.deepEqual(lost.stale, []);
        assert.equal((await store.getRun(running.id))?.reason, 'lost');
      });

      it('respects the orphan limit and cancels orphans of deleted tasks', async () => {
        const task = await createTask();
        const runs = [await addRun(task), await addRun(task), await addRun(task)];
        for (const run of runs) await startOne(run);
        await store.deleteTask(task.id, T0, audit('task.delete', task.id));
        const orphans = await store.claimOrphanedRuns({ node: 'node-b', now: T0 + LEASE + 1, leaseUntil: T0 + 2 * LEASE, limit: 2 });
        assert.deepEqual(orphans, []);
        const statuses = await Promise.all(runs.map((r) => store.getRun(r.id)));
        assert.equal(statuses.filter((r) => r?.status === 'cancelled' && r.reason === 'deleted').length, 2);
        assert.equal(statuses.filter((r) => r?.status === 'running').length, 1);
      });

      it('counts runs per status and the due backlog, per namespace scope', async () => {
        const a = await createTask({ namespace: 'a' });
        const b = await createTask({ namespace: 'b' });
        const a1 = await addRun(a, { scheduledFor: T0 - 5 });
        await addRun(a, { scheduledFor: T0 + 60_000 });
        await addRun(a, { scheduledFor: T0 - 1 });
        const b1 = await addRun(b, { scheduledFor: T0 - 2 });
        // The two earliest become queued; the T0 - 1 one stays pending but due, the last is not due.
        const claimed = await claim({ now: T0 - 1, limit: 2 });
        assert.deepEqual(
          claimed.map((c) => c.run.id),
          [a1.id, b1.id],
        );
        const all = await store.countRuns('*', T0);
        assert.deepEqual(all.byStatus, { scheduled: 2, queued: 2 });
        assert.equal(all.backlog, 3);
        const onlyA = await store.countRuns(['a'], T0);
        assert.equal((onlyA.byStatus.scheduled ?? 0) + (onlyA.byStatus.queued ?? 0), 3);
        assert.equal(onlyA.backlog, 2);
        assert.deepEqual(await store.countRuns([], T0), { byStatus: {}, backlog: 0 });
      });

      it('counts runs per minute of their due time: by status, and started ones by lateness bucket', async () => {
        const M = 60_000;
        const a = await createTask({ namespace: 'a' });
        const b = await createTask({ namespace: 'b' });
        const bucketOf = (late: number) => {
          const i = LATENESS_BOUNDS_MS.findIndex((bound) => late <= bound);
          return i === -1 ? LATENESS_BOUNDS_MS.length : i;
        };
        // Minute 0: three started (late 0, 40 and 45 ms), one skipped unstarted. Minute 2: one
        // very late (20 min), one still running. Outside the window: one before, one at its end.
        await finishRuns([
          { task: a, scheduledFor: T0, startedAt: T0, finishedAt: T0 + 5 },
          { task: a, scheduledFor: T0 + 10, status: 'failed', startedAt: T0 + 50, finishedAt: T0 + 60 },
          { task: b, scheduledFor: T0 + 59_999, status: 'timed_out', startedAt: T0 + 60_044, finishedAt: T0 + 70_000 },
          { task: a, scheduledFor: T0 + 2 * M, status: 'cancelled', startedAt: T0 + 2 * M + 20 * M, finishedAt: T0 + 23 * M },
          { task: a, scheduledFor: T0 - 1, finishedAt: T0 },
          { task: a, scheduledFor: T0 + 3 * M, finishedAt: T0 + 3 * M },
        ]);
        await store.createRun(newRun(a, { status: 'skipped', reason: 'overlap', scheduledFor: T0 + 30_000 }), null);
        const running = await addRun(b, { scheduledFor: T0 + 2 * M + 1 });
        await startOne(running, T0 + 2 * M + 3);
        await addRun(a, { scheduledFor: T0 + M }); // pending: counted nowhere

        const minutes = await store.countRunsPerMinute('*', T0, T0 + 3 * M);
        assert.deepEqual(
          minutes.map((m) => ({ ...m, lateness: sortLateness(m.lateness) })),
          [
            {
              at: T0,
              byStatus: { succeeded: 1, failed: 1, timed_out: 1, skipped: 1 },
              lateness: [
                { bucket: bucketOf(0), n: 1, maxMs: 0 },
                { bucket: bucketOf(40), n: 2, maxMs: 45 },
              ],
            },
            {
              at: T0 + 2 * M,
              byStatus: { cancelled: 1, running: 1 },
              lateness: [
                { bucket: bucketOf(2), n: 1, maxMs: 2 },
                { bucket: LATENESS_BOUNDS_MS.length, n: 1, maxMs: 20 * M },
              ],
            },
          ],
        );
        const onlyB = await store.countRunsPerMinute(['b'], T0, T0 + 3 * M);
        assert.deepEqual(
          onlyB.map((m) => [m.at, m.byStatus]),
          [
            [T0, { timed_out: 1 }],
            [T0 + 2 * M, { running: 1 }],
          ],
        );
        // Minutes count from `from`; a window ends before `to`.
        assert.deepEqual(
          (await store.countRunsPerMinute(['a', 'b'], T0 + 30_000, T0 + 90_000)).map((m) => [m.at, m.byStatus]),
          [[T0 + 30_000, { timed_out: 1, skipped: 1 }]],
        );
        assert.deepEqual(await store.countRunsPerMinute([], T0, T0 + 3 * M), []);
        assert.deepEqual(await store.countRunsPerMinute(['zzz'], T0, T0 + 3 * M), []);
      });

      it('keeps the counts right through every way a run ends (and one that un-ends)', async () => {
        const a = await createTask({ namespace: 'a' }, (t) => newRun(t, { trigger: 'schedule', scheduledFor: T0 + 60_000 }));
        const b = await createTask({ namespace: 'b' });
        // Completions, including a retry row and a skip without a start.
        const ok = await addRun(a);
        const bad = await addRun(b);
        const skip = await addRun(a);
        const c1 = await startOne(ok);
        const c2 = await startOne(bad);
        const c3 = await claimOne(skip);
        await store.completeRuns([
          { runId: ok.id, leaseEpoch: c1.run.leaseEpoch, status: 'succeeded', finishedAt: T0 + 1 },
          {
            runId: bad.id,
            leaseEpoch: c2.run.leaseEpoch,
            status: 'timed_out',
            finishedAt: T0 + 1,
            retry: newRun(b, { trigger: 'retry', attempt: 2 }),
          },
          { runId: skip.id, leaseEpoch: c3.run.leaseEpoch, status: 'skipped', reason: 'overlap', finishedAt: T0 + 1 },
          { runId: ok.id, leaseEpoch: c1.run.leaseEpoch, status: 'failed', finishedAt: T0 + 2 }, // stale: not counted
        ]);
        // Cancels: pending, queued, and a cancel-requested release.
        await store.requestCancel((await addRun(b, { scheduledFor: T0 + 9_000 })).id, T0, audit('run.cancel', 'x'));
        const q = await addRun(b);
        await claimOne(q);
        await store.requestCancel(q.id, T0, audit('run.cancel', q.id));
        const r = await addRun(b);
        const rc = await startOne(r);
        await store.requestCancel(r.id, T0, audit('run.cancel', r.id));
        await store.releaseRuns(NODE, [{ runId: r.id, leaseEpoch: rc.run.leaseEpoch }], T0);
        // A skipped row created directly, and a planned skip plus a planned skipped insert.
        await store.createRun(newRun(b, { status: 'skipped', reason: 'misfire' }), null);
        const occ = await addRun(b, { trigger: 'schedule', scheduledFor: T0 - 1 });
        const skipper: PlanOccurrence = (t) => ({
          claimed: { skip: 'misfire' },
          inserts: [newRun(t, { trigger: 'schedule', scheduledFor: T0 - 120_000, status: 'skipped', reason: 'misfire' })],
          firedCount: t.firedCount + 1,
          nextRunAt: null,
        });
        assert.equal((await claim({ plan: skipper })).find((c) => c.run.id === occ.id)?.run.status, 'skipped');
        // Pause (cancels the pending occurrence), resume (revives it), then delete `a`.
        const pending = (await store.listRuns({ namespaces: ['a'], status: ['scheduled'], limit: 10 })).items.filter(
          (x) => x.trigger === 'schedule',
        );
        assert.equal(pending.length, 1);
        const paused = await store.updateTask(
          { ...a, status: 'paused' },
          { replacePending: { reason: 'paused', nextRun: null, now: T0 }, audit: audit('task.pause', a.id) },
        );
        const again = newRun(a, { trigger: 'schedule', scheduledFor: T0 + 60_000 });
        await store.updateTask(
          { ...paused, status: 'active' },
          { replacePending: { reason: 'resumed', nextRun: again, now: T0 }, audit: audit('task.resume', a.id) },
        );
        await addRun(a, { scheduledFor: T0 + 30_000 });
        await store.deleteTask(a.id, T0 + 3, audit('task.delete', a.id));

        for (const scope of ['*', ['a'], ['b'], ['a', 'b']] as const) {
          const all = (await store.listRuns({ namespaces: scope, limit: 1000 })).items;
          const expected: Partial<Record<RunStatus, number>> = {};
          for (const x of all) expected[x.status] = (expected[x.status] ?? 0) + 1;
          const counts = await store.countRuns(scope, T0);
          assert.deepEqual(counts.byStatus, expected, `scope ${JSON.stringify(scope)}`);
          const backlog = all.filter((x) => (x.status === 'scheduled' || x.status === 'queued') && x.scheduledFor <= T0).length;
          assert.equal(counts.backlog, backlog);
        }
      });
    });

    // ------------------------------------------------------------------------------------------
    describe('api keys, audit, nodes', () => {
      it('stores api keys by hash, lists them without it, revokes and touches them', async () => {
        const key = {
          id: newId(),
          name: 'ci',
          role: 'operator' as const,
          namespaces: ['a', 'b'],
          prefix: 'sdl_ab12',
          hash: 'h'.repeat(64),
          createdAt: T0,
          createdBy: 'bootstrap',
          lastUsedAt: null,
          revokedAt: null,
        };
        assert.equal(await store.countApiKeys(), 0);
        const created = await store.createApiKey(key, audit('api_key.create', key.id));
        assert.equal((created as { hash?: unknown }).hash, undefined, 'the API key view carries no hash');
        assert.deepEqual(created.namespaces, ['a', 'b']);
        assert.equal(await store.countApiKeys(), 1);
        assert.deepEqual(await store.findApiKeyByHash(key.hash), { ...key, lastUsedFrom: null, expiresAt: null, scopes: null, replacedBy: null, addresses: [] });
        assert.equal(await store.findApiKeyByHash('nope'), null);
        const listed = await store.listApiKeys();
        assert.equal(listed.length, 1);
        assert.equal((listed[0] as { hash?: unknown }).hash, undefined);

        await store.recordApiKeyUse({ id: key.id, at: T0 + 5_000, ip: null, newAddressAudit: null });
        assert.equal((await store.findApiKeyByHash(key.hash))?.lastUsedAt, T0 + 5_000);
        await store.recordApiKeyUse({ id: key.id, at: T0 + 60_000, ip: null, newAddressAudit: null });
        assert.equal((await store.findApiKeyByHash(key.hash))?.lastUsedAt, T0 + 60_000);

        const revoked = await store.revokeApiKey(key.id, T0 + 70_000, audit('api_key.revoke', key.id));
        assert.equal(revoked.revokedAt, T0 + 70_000);
        assert.equal((await store.findApiKeyByHash(key.hash))?.revokedAt, T0 + 70_000);
        await rejectsWith(store.revokeApiKey(newId(), T0, audit('api_key.revoke', 'x')), 'api_key_not_found');
        const actions = (await store.listAudit({ namespaces: '*', limit: 10 })).items.map((a) => a.action);
        assert.deepEqual(actions.sort(), ['api_key.create', 'api_key.revoke']);
      });

      it('keeps a key\'s expiry and scopes, and records uses with their address (issue 12)', async () => {
        const key = { id: newId(), name: 'ci', role: 'operator' as const, namespaces: ['a'], prefix: 'sdl_cd34', hash: 'c'.repeat(64), createdAt: T0, createdBy: 'key:x', lastUsedAt: null, revokedAt: null, expiresAt: T0 + 3_600_000, scopes: ['tasks:write:http', 'runs:write'] };
        const created = await store.createApiKey(key, audit('api_key.create', key.id));
        assert.equal(created.expiresAt, T0 + 3_600_000);
        assert.deepEqual(created.scopes, ['tasks:write:http', 'runs:write']);
        assert.equal(created.lastUsedFrom, null);
        const newAddress = (ip: string, at: number) => audit('api_key.new_address', key.id, { at, detail: { ip } });

        assert.equal(await store.recordApiKeyUse({ id: key.id, at: T0 + 1000, ip: '192.0.2.1', newAddressAudit: newAddress('192.0.2.1', T0 + 1000) }), true);
        // The same address again: not new, no audit row; a use with no audit to write for a new address still remembers it.
        assert.equal(await store.recordApiKeyUse({ id: key.id, at: T0 + 70_000, ip: '192.0.2.1', newAddressAudit: newAddress('192.0.2.1', T0 + 70_000) }), false);
        const stored = await store.findApiKeyByHash(key.hash);
        assert.equal(stored?.lastUsedAt, T0 + 70_000);
        assert.equal(stored?.lastUsedFrom, '192.0.2.1');
        assert.deepEqual(stored?.addresses, ['192.0.2.1']);
        // A late write of an older use moves neither the time nor the address back.
        await store.recordApiKeyUse({ id: key.id, at: T0 + 2000, ip: '192.0.2.99', newAddressAudit: newAddress('192.0.2.99', T0 + 2000) });
        const after = await store.findApiKeyByHash(key.hash);
        assert.equal(after?.lastUsedAt, T0 + 70_000);
        assert.equal(after?.lastUsedFrom, '192.0.2.1');
        // Only a bounded number of addresses is remembered, the oldest forgotten first.
        for (let i = 0; i < 20; i++) await store.recordApiKeyUse({ id: key.id, at: T0 + 100_000 + i * 2000, ip: `198.51.100.${i}`, newAddressAudit: null });
        const many = await store.findApiKeyByHash(key.hash);
        assert.equal(many?.addresses.length, 8);
        assert.equal(many?.addresses.at(-1), '198.51.100.19');
        assert.equal(many?.lastUsedFrom, '198.51.100.19');
        const rows = (await store.listAudit({ namespaces: '*', action: 'api_key.new_address', limit: 10 })).items;
        // The first address is no news; the second is.
        assert.deepEqual(rows.map((r) => (r.detail as { ip: string }).ip), ['192.0.2.99']);
        // An unknown key is nothing to record.
        assert.equal(await store.recordApiKeyUse({ id: newId(), at: T0, ip: '192.0.2.1', newAddressAudit: null }), false);
      });

      it('rotates a key: successor inserted, the old one expires at the end of its grace, once (issue 12)', async () => {
        const old = { id: newId(), name: 'deploy', role: 'operator' as const, namespaces: ['a'], prefix: 'sdl_ef56', hash: 'e'.repeat(64), createdAt: T0, createdBy: 'key:x', lastUsedAt: null, revokedAt: null, expiresAt: null, scopes: ['runs:write'] };
        await store.createApiKey(old, audit('api_key.create', old.id));
        const successor = { ...old, id: newId(), hash: 'f'.repeat(64), prefix: 'sdl_f000', createdAt: T0 + 10 };
        const { old: retired, key } = await store.rotateApiKey({ oldId: old.id, successor, oldExpiresAt: T0 + 86_400_000, now: T0 + 10, audit: audit('api_key.rotate', old.id) });
        assert.equal(retired.expiresAt, T0 + 86_400_000);
        assert.equal(retired.replacedBy, successor.id);
        assert.equal(retired.revokedAt, null);
        assert.equal(key.id, successor.id);
        assert.deepEqual(key.scopes, ['runs:write']);
        assert.equal((await store.findApiKeyByHash(successor.hash))?.role, 'operator');
        // A second rotation of the same key is refused, and writes nothing.
        const again = { ...successor, id: newId(), hash: '1'.repeat(64) };
        await rejectsWith(store.rotateApiKey({ oldId: old.id, successor: again, oldExpiresAt: T0 + 20, now: T0 + 20, audit: audit('api_key.rotate', old.id) }), 'api_key_not_active');
        assert.equal(await store.findApiKeyByHash(again.hash), null);
        // The grace never extends an earlier expiry.
        const { old: shorter } = await store.rotateApiKey({ oldId: successor.id, successor: again, oldExpiresAt: T0 + 999_999_999, now: T0 + 30, audit: audit('api_key.rotate', successor.id) });
        assert.equal(shorter.expiresAt, T0 + 999_999_999);
        const third = { ...successor, id: newId(), hash: '2'.repeat(64), expiresAt: T0 + 100 };
        await store.createApiKey(third, audit('api_key.create', third.id));
        const fourth = { ...successor, id: newId(), hash: '3'.repeat(64) };
        const { old: kept } = await store.rotateApiKey({ oldId: third.id, successor: fourth, oldExpiresAt: T0 + 5000, now: T0 + 50, audit: audit('api_key.rotate', third.id) });
        assert.equal(kept.expiresAt, T0 + 100);
        // Expired, revoked and unknown keys are refused.
        const fifth = { ...successor, id: newId(), hash: '4'.repeat(64) };
        const expired = { ...successor, id: newId(), hash: '5'.repeat(64), expiresAt: T0 + 100 };
        await store.createApiKey(expired, audit('api_key.create', expired.id));
        await rejectsWith(store.rotateApiKey({ oldId: expired.id, successor: fifth, oldExpiresAt: T0 + 300, now: T0 + 200, audit: audit('api_key.rotate', expired.id) }), 'api_key_not_active');
        await store.revokeApiKey(again.id, T0 + 300, audit('api_key.revoke', again.id));
        await rejectsWith(store.rotateApiKey({ oldId: again.id, successor: fifth, oldExpiresAt: T0 + 400, now: T0 + 400, audit: audit('api_key.rotate', again.id) }), 'api_key_not_active');
        await rejectsWith(store.rotateApiKey({ oldId: newId(), successor: fifth, oldExpiresAt: T0, now: T0, audit: audit('api_key.rotate', 'x') }), 'api_key_not_found');
        assert.equal(await store.findApiKeyByHash(fifth.hash), null);
      });

      it('lists audit newest first, filtered, scoped and paged', async () => {
        for (let i = 0; i < 5; i++) {
          await store.appendAudit(
            audit(i % 2 === 0 ? 'auth.fail' : 'task.update', `t${i}`, {
              at: T0 + i * 1000,
              namespace: i < 4 ? 'a' : 'b',
              actor: i === 3 ? 'key:admin' : 'key:test',
              detail: { i },
            }),
          );
        }
        // Two entries at the same instant are still ordered (by id) and paged without loss.
        await store.appendAudit(audit('auth.fail', 't5', { at: T0 + 4000, namespace: 'a' }));
        const all = await store.listAudit({ namespaces: '*', limit: 100 });
        assert.equal(all.items.length, 6);
        assert.deepEqual(
          all.items.map((a) => a.at),
          [T0 + 4000, T0 + 4000, T0 + 3000, T0 + 2000, T0 + 1000, T0],
        );
        assert.deepEqual(all.items.at(-1)?.detail, { i: 0 });
        assert.equal(all.items.at(-1)?.targetType, 'auth');

        const paged: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listAudit({ namespaces: '*', limit: 4, cursor });
          paged.push(...page.items.map((a) => a.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        assert.deepEqual(paged, all.items.map((a) => a.id));

        const count = async (f: Partial<Parameters<Store['listAudit']>[0]>) =>
          (await store.listAudit({ namespaces: '*', limit: 100, ...f })).items.length;
        assert.equal(await count({ namespaces: ['b'] }), 1);
        assert.equal(await count({ namespaces: [] }), 0);
        assert.equal(await count({ action: 'auth.fail' }), 4);
        assert.equal(await count({ actor: 'key:admin' }), 1);
        assert.equal(await count({ targetId: 't2' }), 1);
        assert.equal(await count({ from: T0 + 1000, to: T0 + 3000 }), 2);
        await rejectsWith(store.listAudit({ namespaces: '*', limit: 1, cursor: 'WzEsMl0' }), 'invalid_cursor');
      });

      it('registers nodes, refreshes their heartbeat and lists the live ones', async () => {
        const a = {
          id: 'node-a',
          host: 'h1',
          pid: 10,
          version: '0.1.0',
          roles: ['api', 'scheduler'],
          startedAt: T0,
          heartbeatAt: T0,
          instanceId: 'i-a',
          runsInFlight: 3,
        };
        const b = { ...a, id: 'node-b', host: 'h2', heartbeatAt: T0 - 60_000, instanceId: 'i-b', runsInFlight: 0 };
        await store.upsertNode(a, T0 - 30_000);
        await store.upsertNode(b, T0 - 30_000);
        assert.deepEqual(await store.listNodes(T0 - 10_000), [a]);
        await store.upsertNode({ ...b, heartbeatAt: T0 + 1, pid: 11 }, T0 - 30_000);
        assert.deepEqual(
          (await store.listNodes(T0 - 10_000)).map((n) => [n.id, n.pid]),
          [
            ['node-a', 10],
            ['node-b', 11],
          ],
        );
      });

      it('refuses a second live instance with the same node id, and frees the id of a dead one', async () => {
        const a = { id: 'dup', host: 'h1', pid: 10, version: '0.1.0', roles: ['api'], startedAt: T0, heartbeatAt: T0, instanceId: 'first', runsInFlight: 0 };
        await store.upsertNode(a, T0 - 30_000);
        await rejectsWith(store.upsertNode({ ...a, instanceId: 'second', heartbeatAt: T0 + 1000 }, T0 + 1000 - 30_000), 'node_id_taken');
        assert.equal((await store.listNodes(0))[0]?.instanceId, 'first');
        // Two leases after its last heartbeat the id is free again (a killed node restarting).
        await store.upsertNode({ ...a, instanceId: 'second', heartbeatAt: T0 + 31_000 }, T0 + 1);
        assert.equal((await store.listNodes(0))[0]?.instanceId, 'second');
        // Only the holder's own instance removes the row.
        await store.removeNode('dup', 'first');
        assert.equal((await store.listNodes(0)).length, 1);
        await store.removeNode('dup', 'second');
        assert.deepEqual(await store.listNodes(0), []);
      });
    });
  });
}
