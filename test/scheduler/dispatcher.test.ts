import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('dispatcher', () => {
  it('starts a due run, records running then succeeded, with its timings', async () => {
    h = await createHarness();
    await h.scheduler.start();
    const task = await h.createTask({});
    const due = Date.now() + 150;
    const run = await h.addRun(task, due);
    await h.waitFor((t) => t.runId === run.id && t.to === 'succeeded');
    const stored = await h.store.getRun(run.id);
    assert.equal(stored?.status, 'succeeded');
    assert.ok(stored!.startedAt! >= due, 'never starts before it is due');
    assert.ok(stored!.queuedAt! <= due, 'claimed ahead of its due time');
    assert.deepEqual(
      h.transitions.filter((t) => t.runId === run.id).map((t) => `${t.from}>${t.to}`),
      ['scheduled>queued', 'queued>running', 'running>succeeded'],
    );
    assert.equal(h.executor.jobs.length, 1);
    assert.equal(h.executor.jobs[0]!.idempotencyKey, run.idempotencyKey);
    // The executor heard of the kind when the run was claimed, before it was due.
    assert.deepEqual(h.executor.prepared[0], ['module', false]);
  });

  it('among runs due at the same instant, starts the highest priority first', async () => {
    h = await createHarness({ maxConcurrentRuns: 1 });
    const due = Date.now() + 200;
    const runs = [];
    for (const p of [1, 5, 3]) {
      const t = await h.createTask({ policies: { priority: p } });
      runs.push(await h.addRun(t, due, { priority: p }));
    }
    await h.scheduler.start();
    await h.waitFor((t) => t.to === 'succeeded', 3);
    assert.deepEqual(
      h.executor.jobs.map((j) => j.runId),
      [runs[1]!.id, runs[2]!.id, runs[0]!.id],
    );
  });

  it('caps simultaneous runs per task at its concurrency', async () => {
    h = await createHarness();
    h.executor.script = () => 'hold';
    await h.scheduler.start();
    const task = await h.createTask({ policies: { concurrency: 2 } });
    const now = Date.now();
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await h.addRun(task, now));
    await h.executor.started(2);
    // Give the dispatcher every chance to over-admit before checking.
    await h.scheduler.dispatcher.idle();
    await new Promise((r) => setImmediate(r));
    assert.equal(h.executor.heldIds.length, 2);
    for (let done = 0; done < 5; done++) {
      const id = h.executor.heldIds[0]!;
      h.executor.release(id);
      if (done < 3) await h.executor.started(3 + done);
      assert.ok(h.executor.heldIds.length <= 2);
    }
    await h.waitFor((t) => t.to === 'succeeded', 5);
  });

  it('cancels a running run when asked', async () => {
    h = await createHarness();
    h.executor.script = () => 'hold';
    await h.scheduler.start();
    const task = await h.createTask({});
    const run = await h.addRun(task, Date.now());
    await h.executor.started(1);
    await h.waitFor((t) => t.runId === run.id && t.to === 'running');
    assert.equal(h.scheduler.dispatcher.cancelRunning(run.id), true);
    await h.waitFor((t) => t.runId === run.id && t.to === 'cancelled');
    const stored = await h.store.getRun(run.id);
    assert.equal(stored?.status, 'cancelled');
    assert.equal(stored?.reason, 'cancelled');
    assert.deepEqual(h.executor.aborted, [run.id]);
  });

  it('retries a failing run with backoff until attempts run out', async () => {
    h = await createHarness();
    h.executor.script = () => ({ status: 'failed', error: { code: 'module_threw', message: 'boom' } });
    await h.scheduler.start();
    const task = await h.createTask({
      policies: { retry: { maxAttempts: 3, backoff: { type: 'fixed', initialMs: 20, maxMs: 20, jitter: false } } },
    });
    const run = await h.addRun(task, Date.now());
    const failed = await h.waitFor((t) => t.taskId === task.id && t.to === 'failed', 3);
    await h.scheduler.dispatcher.idle();
    assert.deepEqual(failed.map((t) => t.attempt), [1, 2, 3]);
    const page = await h.store.listRuns({ namespaces: '*', taskId: task.id, limit: 10 });
    const byAttempt = page.items.sort((a, b) => a.attempt - b.attempt);
    assert.equal(byAttempt.length, 3);
    assert.equal(byAttempt[0]!.id, run.id);
    assert.equal(byAttempt[1]!.retryOf, run.id);
    assert.equal(byAttempt[2]!.retryOf, byAttempt[1]!.id);
    assert.equal(byAttempt[1]!.trigger, 'retry');
    assert.ok(byAttempt[1]!.scheduledFor - byAttempt[0]!.finishedAt! >= 20, 'waits the backoff');
    assert.equal(new Set(byAttempt.map((r) => r.idempotencyKey)).size, 1, 'one idempotency key for all attempts');
  });

  it('never starts a run that was rescheduled after it was claimed', async () => {
    h = await createHarness({ lookaheadMs: 5000 });
    await h.scheduler.start();
    const task = await h.createTask({});
    const run = await h.addRun(task, Date.now() + 400);
    await h.waitFor((t) => t.runId === run.id && t.to === 'queued');
    const later = Date.now() + 60_000;
    await h.store.rescheduleRun(run.id, later, Date.now(), {
      namespace: 'default', at: Date.now(), actor: 'test', ip: null, action: 'run.reschedule', targetType: 'run', targetId: run.id,
    });
    // Not told to forget: the stale claim must be refused by its fencing epoch alone.
    const other = await h.addRun(task, Date.now() + 600);
    await h.waitFor((t) => t.runId === other.id && t.to === 'succeeded');
    assert.deepEqual(h.executor.jobs.map((j) => j.runId), [other.id]);
    const stored = await h.store.getRun(run.id);
    assert.equal(stored?.status, 'scheduled');
    assert.equal(stored?.scheduledFor, later);
  });

  it('on stop, lets running runs finish within the grace period and gives the rest back', async () => {
    h = await createHarness({ lookaheadMs: 5000 });
    h.executor.script = () => 'hold';
    await h.scheduler.start();
    const task = await h.createTask({ policies: { concurrency: null } });
    const a = await h.addRun(task, Date.now());
    const b = await h.addRun(task, Date.now());
    const later = await h.addRun(task, Date.now() + 3000);
    await h.executor.started(2);
    await h.waitFor((t) => t.runId === later.id && t.to === 'queued');
    setTimeout(() => h!.executor.release(a.id), 30);
    await h.scheduler.stop(300);
    assert.equal((await h.store.getRun(a.id))?.status, 'succeeded');
    const bAfter = await h.store.getRun(b.id);
    assert.equal(bAfter?.status, 'scheduled', 'a run still going after the grace period is released');
    assert.equal(bAfter?.node, null);
    assert.equal((await h.store.getRun(later.id))?.status, 'scheduled', 'a claimed run that never started is released');
  });
});

describe('overlap policies', () => {
  const every = { type: 'interval' as const, every: '1s' };

  it('skip: a due occurrence is recorded skipped while the previous one runs', async () => {
    h = await createHarness();
    h.executor.script = () => 'hold';
    const task = await h.createTask({ schedule: { ...every, startAt: new Date(Date.now() + 100).toISOString() }, policies: { overlap: 'skip' } });
    await h.scheduler.start();
    const skipped = await h.waitFor((t) => t.taskId === task.id && t.to === 'skipped');
    assert.equal(skipped[0]!.reason, 'overlap');
    assert.equal(h.executor.jobs.length, 1);
  });

  it('buffer_one: keeps one occurrence waiting, skips the rest, starts it when the first ends', async () => {
    h = await createHarness();
    h.executor.script = () => 'hold';
    const task = await h.createTask({
      schedule: { type: 'interval', every: '1s', startAt: new Date(Date.now() + 100).toISOString() },
      policies: { overlap: 'buffer_one' },
    });
    await h.scheduler.start();
    await h.executor.started(1);
    await h.waitFor((t) => t.taskId === task.id && t.to === 'skipped' && t.reason === 'overlap');
    h.executor.release(h.executor.jobs[0]!.runId);
    await h.executor.started(2);
    const second = h.executor.jobs[1]!;
    assert.equal(second.scheduledFor - h.executor.jobs[0]!.scheduledFor, 1000, 'the buffered one is the next occurrence');
  });

  it('cancel_other: a due occurrence stops the running one and starts', async () => {
    h = await createHarness();
    h.executor.script = () => 'hold';
    const task = await h.createTask({
      schedule: { type: 'interval', every: '1s', startAt: new Date(Date.now() + 100).toISOString() },
      policies: { overlap: 'cancel_other' },
    });
    await h.scheduler.start();
    await h.executor.started(2);
    const first = h.executor.jobs[0]!.runId;
    const cancelled = await h.waitFor((t) => t.runId === first && t.to === 'cancelled');
    assert.equal(cancelled[0]!.reason, 'overlap');
    assert.ok(h.executor.heldIds.includes(h.executor.jobs[1]!.runId));
    void task;
  });
});

describe('starts in the claim (runs already due when claimed)', () => {
  /** Records the run ids of every separate start write (markRunning). */
  function spyStarts(harness: Harness): string[] {
    const ids: string[] = [];
    const store = harness.store;
    const markRunning = store.markRunning.bind(store);
    store.markRunning = (starts) => {
      ids.push(...starts.map((s) => s.runId));
      return markRunning(starts);
    };
    return ids;
  }

  it('a due run starts in its claim: no separate start write, queued and running at one instant', async () => {
    h = await createHarness();
    const separate = spyStarts(h);
    const task = await h.createTask({});
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await h.addRun(task, Date.now() - 10));
    await h.scheduler.start();
    await h.waitFor((t) => t.to === 'succeeded', 5);
    assert.deepEqual(separate, []);
    for (const run of runs) {
      const stored = await h.store.getRun(run.id);
      assert.equal(stored?.status, 'succeeded');
      assert.equal(stored?.startedAt, stored?.queuedAt);
      assert.deepEqual(
        h.transitions.filter((t) => t.runId === run.id).map((t) => `${t.from}>${t.to}`),
        ['scheduled>queued', 'queued>running', 'running>succeeded'],
      );
    }
  });

  it('keeps the node slot cap: never more running than maxConcurrentRuns, the rest start as slots free', async () => {
    h = await createHarness({ maxConcurrentRuns: 2 });
    h.executor.script = () => 'hold';
    const task = await h.createTask({});
    for (let i = 0; i < 6; i++) await h.addRun(task, Date.now() - 10);
    await h.scheduler.start();
    await h.executor.started(2);
    // Several claim rounds pass while both slots are held: nothing more may start.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.executor.executing.length, 2);
    // Each run that ends lets exactly one more start.
    for (let released = 0; released < 6; released++) {
      await h.executor.started(Math.min(6, released + 2));
      h.executor.release(h.executor.heldIds[0]!);
    }
    await h.waitFor((t) => t.to === 'succeeded', 6);
    assert.equal(h.executor.peak(), 2);
  });

  it('with every slot taken, due runs stay in the database and start in the claims that follow as slots free', async () => {
    h = await createHarness({ maxConcurrentRuns: 2, claimBatch: 10 });
    const separate = spyStarts(h);
    h.executor.script = () => 'hold';
    const task = await h.createTask({});
    const runs = [];
    for (let i = 0; i < 100; i++) runs.push(await h.addRun(task, Date.now() - 10));
    await h.scheduler.start();
    await h.executor.started(2);
    // The first claim knew of no backlog: it took a full batch (10), started 2 in it and holds the
    // rest for slots. It came back full of due runs, so none is claimed while no slot is free
    // (several polls pass here).
    await new Promise((r) => setTimeout(r, 200));
    const scheduled = await h.store.listRuns({ namespaces: '*', taskId: task.id, status: ['scheduled'], limit: 200 });
    assert.equal(scheduled.items.length, 90);
    while (h.executor.jobs.length < 100) {
      const next = Math.min(100, h.executor.jobs.length + h.executor.heldIds.length);
      for (const id of h.executor.heldIds) h.executor.release(id);
      await h.executor.started(next);
    }
    for (const id of h.executor.heldIds) h.executor.release(id);
    await h.waitFor((t) => t.to === 'succeeded', 100);
    assert.equal(h.executor.peak(), 2);
    // The runs held for a slot were started by writes of their own; those left in the database
    // were started by their claims.
    assert.equal(separate.length, 8);
    const claimStarted = new Set(runs.map((r) => r.id).filter((id) => !separate.includes(id)));
    assert.equal(claimStarted.size, 92);
    for (const id of claimStarted) {
      const stored = await h.store.getRun(id);
      assert.equal(stored?.status, 'succeeded');
      assert.equal(stored?.startedAt, stored?.queuedAt, `run ${id} started in its claim`);
    }
  });

  it('runs that admission must check (a concurrency cap) are started by a separate, checked write', async () => {
    h = await createHarness();
    const separate = spyStarts(h);
    const task = await h.createTask({ policies: { concurrency: 1 } });
    const runs = [await h.addRun(task, Date.now() - 10), await h.addRun(task, Date.now() - 10)];
    await h.scheduler.start();
    await h.waitFor((t) => t.to === 'succeeded', 2);
    assert.deepEqual(separate.sort(), runs.map((r) => r.id).sort());
    assert.equal(h.executor.peak(), 1);
  });
});
