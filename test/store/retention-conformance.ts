// Store.pruneHistory as tests, for every implementation (SQLite, PostgreSQL), through the Store
// interface only: runs are made and finished the way the scheduler does it (create, claim, start,
// complete), so what is deleted is exactly what the system would have written.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Run, RunStatus, Task } from '../../src/core/types.js';
import type { PruneOptions, RunCompletion, Store } from '../../src/store/store.js';
import type { OpenStore } from './conformance.js';
import { T0, audit, newRun, newTask, noPlan } from './store-fixtures.js';

const NODE = 'node-r';
const HOUR = 3_600_000;
/** Far enough after every finish in these tests for the stores' finish windows to have passed them. */
const LATER = T0 + 1000 * HOUR;

type End = RunCompletion['status'];

/** One run to make and finish. */
interface Finish {
  task: Task;
  scheduledFor: number;
  finishedAt: number;
  status?: End;
  logs?: number;
  samples?: number;
}

/** Defines the pruneHistory conformance suite for one implementation. */
export function runRetentionConformance(label: string, open: OpenStore): void {
  describe(`Store retention: ${label}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    async function createTask(over: Parameters<typeof newTask>[0] = {}): Promise<Task> {
      const input = newTask(over);
      return store.createTask(input, null, audit('task.create', input.id, { namespace: input.namespace }));
    }

    /** Makes the runs and takes each through claim → running → its end; returns them in input order. */
    async function finish(ends: Finish[]): Promise<Run[]> {
      const runs: Run[] = [];
      for (const e of ends) {
        const { run } = await store.createRun(newRun(e.task, { scheduledFor: e.scheduledFor }), null);
        runs.push(run);
      }
      const horizon = Math.max(...ends.map((e) => e.scheduledFor));
      const epochs = new Map<string, number>();
      for (;;) {
        const claimed = await store.claimDueRuns({ node: NODE, now: horizon, horizon, limit: 1000, leaseUntil: horizon + 60_000, plan: noPlan });
        if (claimed.length === 0) break;
        for (const c of claimed) epochs.set(c.run.id, c.run.leaseEpoch);
      }
      const mine = runs.map((r) => ({ runId: r.id, leaseEpoch: epochs.get(r.id)!, startedAt: r.scheduledFor }));
      assert.deepEqual((await store.markRunning(mine)).stale, []);
      const samples = ends.flatMap((e, i) =>
        Array.from({ length: e.samples ?? 0 }, (_, k) => ({ runId: runs[i]!.id, at: e.scheduledFor + k, cpuMs: k, rssBytes: 1000, diskWriteBytes: 0 })),
      );
      await store.appendRunSamples(samples);
      const completions: RunCompletion[] = ends.map((e, i) => ({
        runId: runs[i]!.id,
        leaseEpoch: epochs.get(runs[i]!.id)!,
        status: e.status ?? 'succeeded',
        startedAt: e.scheduledFor,
        finishedAt: e.finishedAt,
        logs: Array.from({ length: e.logs ?? 0 }, (_, k) => ({ at: e.finishedAt, level: 'info' as const, message: `line ${k}` })),
      }));
      assert.deepEqual((await store.completeRuns(completions)).stale, []);
      return runs;
    }

    /** `n` runs of `task`, due an hour apart from `from`, each finished a minute after it was due. */
    function series(task: Task, n: number, from: number, over: Partial<Finish> = {}): Finish[] {
      return Array.from({ length: n }, (_, i) => ({ task, scheduledFor: from + i * HOUR, finishedAt: from + i * HOUR + 60_000, ...over }));
    }

    /** Ids of every run of `task`, in listRuns order (newest due first). */
    async function idsOf(task: Task): Promise<string[]> {
      const page = await store.listRuns({ namespaces: '*', taskId: task.id, limit: 500 });
      return page.items.map((r) => r.id);
    }

    /** Calls pruneHistory until it returns less than `limit`; returns each call's count. */
    async function pruneAll(opts: PruneOptions, now = LATER): Promise<number[]> {
      const counts: number[] = [];
      for (let i = 0; i < 100; i++) {
        const n = await store.pruneHistory(opts, now);
        assert.ok(n <= opts.limit, `a call deleted ${n} runs, more than its limit of ${opts.limit}`);
        counts.push(n);
        if (n < opts.limit) return counts;
      }
      assert.fail('pruneHistory kept returning its limit');
    }

    /** Finished runs per status as stored, counted one by one through listRuns. */
    async function storedByStatus(): Promise<Partial<Record<RunStatus, number>>> {
      const out: Partial<Record<RunStatus, number>> = {};
      let cursor: string | undefined;
      do {
        const page = await store.listRuns({ namespaces: '*', limit: 500, ...(cursor !== undefined && { cursor }) });
        for (const r of page.items) out[r.status] = (out[r.status] ?? 0) + 1;
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return out;
    }

    it('deletes runs that finished before the age limit, oldest first, and nothing else', async () => {
      const a = await createTask();
      const b = await createTask();
      const runsA = await finish(series(a, 6, T0));
      const runsB = await finish(series(b, 2, T0 + 10 * HOUR));
      // A's runs finished at T0+1m, +1h1m, … +5h1m: the first three before T0+3h.
      const cut = T0 + 3 * HOUR;
      assert.deepEqual(await pruneAll({ finishedBefore: cut, keepPerTask: null, limit: 100 }), [3]);
      assert.deepEqual(await idsOf(a), runsA.slice(3).map((r) => r.id).reverse());
      assert.deepEqual(await idsOf(b), runsB.map((r) => r.id).reverse());
      // A run finished exactly at the limit stays (before means before).
      assert.equal(await store.pruneHistory({ finishedBefore: T0 + 3 * HOUR + 60_000, keepPerTask: null, limit: 100 }, LATER), 0);
      assert.equal(await store.pruneHistory({ finishedBefore: T0 + 3 * HOUR + 60_001, keepPerTask: null, limit: 100 }, LATER), 1);
      for (const r of runsA.slice(0, 4)) assert.equal(await store.getRun(r.id), null);
    });

    it('keeps the newest runs of each task by due time (listRuns order), whenever they finished', async () => {
      const a = await createTask();
      const b = await createTask();
      // Finish times run backwards against due times: the count limit must go by due time.
      const ends = series(a, 8, T0).map((e, i) => ({ ...e, finishedAt: T0 + 100 * HOUR - i * HOUR }));
      const runsA = await finish(ends);
      const runsB = await finish(series(b, 3, T0));
      assert.deepEqual(await pruneAll({ finishedBefore: null, keepPerTask: 3, limit: 100 }), [5]);
      assert.deepEqual(await idsOf(a), runsA.slice(5).map((r) => r.id).reverse());
      assert.deepEqual(await idsOf(b), runsB.map((r) => r.id).reverse(), 'a task within its limit is untouched');
      assert.equal(await store.pruneHistory({ finishedBefore: null, keepPerTask: 3, limit: 100 }, LATER), 0);
    });

    it('breaks ties in due time by id, as listRuns does', async () => {
      const a = await createTask();
      await finish(Array.from({ length: 5 }, (_, i) => ({ task: a, scheduledFor: T0, finishedAt: T0 + i })));
      const before = await idsOf(a);
      await pruneAll({ finishedBefore: null, keepPerTask: 2, limit: 100 });
      assert.deepEqual(await idsOf(a), before.slice(0, 2));
    });

    it('applies both limits: a run goes when either says so', async () => {
      const a = await createTask();
      const b = await createTask();
      const runsA = await finish(series(a, 6, T0)); // finished T0+1m … T0+5h1m
      const runsB = await finish(series(b, 2, T0 + 20 * HOUR)); // finished after the age limit
      const deleted = await pruneAll({ finishedBefore: T0 + 2 * HOUR, keepPerTask: 3, limit: 100 });
      assert.equal(deleted.reduce((x, y) => x + y, 0), 3);
      assert.deepEqual(await idsOf(a), runsA.slice(3).map((r) => r.id).reverse());
      assert.deepEqual(await idsOf(b), runsB.map((r) => r.id).reverse());
      // Now the age limit alone takes more of A, and the count limit none of B.
      await pruneAll({ finishedBefore: T0 + 4 * HOUR, keepPerTask: 3, limit: 100 });
      assert.deepEqual(await idsOf(a), runsA.slice(4).map((r) => r.id).reverse());
      assert.deepEqual(await idsOf(b), runsB.map((r) => r.id).reverse());
    });

    it('never deletes a pending, queued or running run, however old', async () => {
      const a = await createTask();
      const finished = await finish(series(a, 3, T0, { status: 'failed' }));
      // Made after the finished runs, so the claims above did not take them.
      const { run: queued } = await store.createRun(newRun(a, { scheduledFor: T0 - 50 * HOUR }), null);
      const { run: running } = await store.createRun(newRun(a, { scheduledFor: T0 - 40 * HOUR }), null);
      const claimed = await store.claimDueRuns({ node: NODE, now: T0, horizon: T0, limit: 10, leaseUntil: T0 + 60_000, plan: noPlan });
      assert.equal(claimed.length, 2);
      const epoch = claimed.find((c) => c.run.id === running.id)!.run.leaseEpoch;
      await store.markRunning([{ runId: running.id, leaseEpoch: epoch, startedAt: T0 - 40 * HOUR }]);
      await store.requestCancel(running.id, T0, audit('run.cancel', running.id));
      const { run: pending } = await store.createRun(newRun(a, { scheduledFor: T0 - 60 * HOUR }), null);
      const { run: future } = await store.createRun(newRun(a, { scheduledFor: T0 + 60 * HOUR }), null);

      const deleted = await pruneAll({ finishedBefore: LATER, keepPerTask: 0, limit: 100 });
      assert.equal(deleted.reduce((x, y) => x + y, 0), 3);
      for (const r of finished) assert.equal(await store.getRun(r.id), null);
      assert.equal((await store.getRun(queued.id))?.status, 'queued');
      assert.equal((await store.getRun(running.id))?.status, 'running');
      assert.equal((await store.getRun(pending.id))?.status, 'scheduled');
      assert.equal((await store.getRun(future.id))?.status, 'scheduled');
      assert.deepEqual(await pruneAll({ finishedBefore: LATER, keepPerTask: 0, limit: 100 }), [0]);
    });

    it('deletes the logs and samples of deleted runs, and only theirs', async () => {
      const a = await createTask();
      const runs = await finish(series(a, 4, T0, { logs: 3, samples: 2 }));
      assert.equal((await store.getRunLogs(runs[0]!.id)).length, 3);
      assert.equal((await store.getRunSamples(runs[0]!.id)).length, 2);
      await pruneAll({ finishedBefore: null, keepPerTask: 2, limit: 100 });
      for (const r of runs.slice(0, 2)) {
        assert.deepEqual(await store.getRunLogs(r.id), []);
        assert.deepEqual(await store.getRunSamples(r.id), []);
      }
      for (const r of runs.slice(2)) {
        assert.equal((await store.getRunLogs(r.id)).length, 3);
        assert.equal((await store.getRunSamples(r.id)).length, 2);
      }
    });

    it('takes deleted runs off the counts, per namespace and status, so stats match what is stored', async () => {
      const a = await createTask({ namespace: 'ns-a' });
      const b = await createTask({ namespace: 'ns-b' });
      const statuses: End[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'succeeded'];
      await finish(statuses.map((status, i) => ({ task: a, scheduledFor: T0 + i * HOUR, finishedAt: T0 + i * HOUR + 1, status })));
      await finish(statuses.map((status, i) => ({ task: b, scheduledFor: T0 + i * HOUR, finishedAt: T0 + i * HOUR + 1, status })));
      const before = await store.countRuns('*', LATER);
      assert.deepEqual(before.byStatus, { succeeded: 4, failed: 2, timed_out: 2, cancelled: 2, skipped: 2 });

      // Each task loses its four oldest (succeeded, failed, timed_out, cancelled) by age.
      await pruneAll({ finishedBefore: T0 + 3 * HOUR + 2, keepPerTask: null, limit: 100 });
      assert.deepEqual((await store.countRuns(['ns-a'], LATER)).byStatus, { skipped: 1, succeeded: 1 });
      assert.deepEqual((await store.countRuns(['ns-b'], LATER)).byStatus, { skipped: 1, succeeded: 1 });
      const after = await store.countRuns('*', LATER);
      assert.deepEqual(after.byStatus, await storedByStatus());
      assert.deepEqual(after.byStatus, { succeeded: 2, skipped: 2 });
    });

    it('deletes at most `limit` runs a call; calling again while it returns `limit` finishes the job', async () => {
      const tasks = [await createTask(), await createTask(), await createTask()];
      const all = await finish(tasks.flatMap((t, k) => series(t, 9, T0 + k)));
      // Age: 27 runs, all old.
      const counts = await pruneAll({ finishedBefore: LATER, keepPerTask: null, limit: 7 });
      assert.deepEqual(counts, [7, 7, 7, 6]);
      for (const r of all) assert.equal(await store.getRun(r.id), null);

      // Count: 3 tasks × 9 runs, keep 2 → 21 to delete, 4 a call.
      const more = await finish(tasks.flatMap((t, k) => series(t, 9, T0 + 100 * HOUR + k)));
      const byCount = await pruneAll({ finishedBefore: null, keepPerTask: 2, limit: 4 });
      assert.equal(byCount.reduce((x, y) => x + y, 0), 21);
      assert.ok(byCount.slice(0, -1).every((n) => n === 4));
      for (const [k, t] of tasks.entries()) {
        const kept = more.filter((_, i) => Math.floor(i / 9) === k).slice(7);
        assert.deepEqual(await idsOf(t), kept.map((r) => r.id).reverse());
      }
    });

    it('keeps a task within its limit as more of its runs finish', async () => {
      const a = await createTask();
      const b = await createTask();
      await finish([...series(a, 5, T0), ...series(b, 2, T0)]);
      await pruneAll({ finishedBefore: null, keepPerTask: 3, limit: 100 }, T0 + 10 * HOUR);
      assert.equal((await idsOf(a)).length, 3);
      // Later finishes of A (and one of B), then a later call: A is trimmed again, B stays.
      const later = await finish([...series(a, 4, T0 + 50 * HOUR), ...series(b, 1, T0 + 50 * HOUR)]);
      const deleted = await pruneAll({ finishedBefore: null, keepPerTask: 3, limit: 100 }, T0 + 60 * HOUR);
      assert.equal(deleted.reduce((x, y) => x + y, 0), 4);
      assert.deepEqual(await idsOf(a), later.slice(1, 4).map((r) => r.id).reverse());
      assert.equal((await idsOf(b)).length, 3);
    });

    it('trims many tasks at once, and only those over their limit', async () => {
      const over = await Promise.all(Array.from({ length: 60 }, () => createTask()));
      const within = await Promise.all(Array.from({ length: 20 }, () => createTask()));
      await finish([...over.flatMap((t) => series(t, 4, T0)), ...within.flatMap((t) => series(t, 2, T0))]);
      const deleted = await pruneAll({ finishedBefore: null, keepPerTask: 2, limit: 1000 }, T0 + 10 * HOUR);
      assert.deepEqual(deleted, [120]);
      for (const t of [...over, ...within]) assert.equal((await idsOf(t)).length, 2);
    });

    it('keeps the history of deleted tasks within the limits too', async () => {
      const a = await createTask();
      const runs = await finish(series(a, 5, T0));
      await store.deleteTask(a.id, T0 + 10 * HOUR, audit('task.delete', a.id));
      await pruneAll({ finishedBefore: null, keepPerTask: 2, limit: 100 });
      assert.deepEqual(await idsOf(a), runs.slice(3).map((r) => r.id).reverse());
    });

    it('does nothing without limits, or with a limit of 0', async () => {
      const a = await createTask();
      await finish(series(a, 3, T0));
      assert.equal(await store.pruneHistory({ finishedBefore: null, keepPerTask: null, limit: 100 }, LATER), 0);
      assert.equal(await store.pruneHistory({ finishedBefore: LATER, keepPerTask: 0, limit: 0 }, LATER), 0);
      assert.equal((await idsOf(a)).length, 3);
    });
  });
}
