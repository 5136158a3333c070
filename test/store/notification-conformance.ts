// The notification part of the Store contract (channels, the outbox) as tests, for every
// implementation, through the Store interface only. The outbox rows of a run outcome must commit
// with that outcome: both or neither.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { newId } from '../../src/core/ids.js';
import type { Channel, NewNotification } from '../../src/core/notify.js';
import type { Run, Task } from '../../src/core/types.js';
import type { Settlement } from '../../src/store/notification-store.js';
import type { ClaimedRun, Store } from '../../src/store/store.js';
import type { OpenStore } from './conformance.js';
import { T0, audit, newRun, newTask, noPlan } from './store-fixtures.js';

const NODE = 'node-n';

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected ${code}, got ${String(err)}`);
    return true;
  });
}

function channel(over: Partial<Channel> = {}): Channel {
  return {
    id: newId(),
    namespace: 'default',
    name: 'ops',
    type: 'webhook',
    url: 'https://hooks.example.com/x',
    to: null,
    secret: 'whsec_c2VjcmV0',
    createdAt: T0,
    updatedAt: T0,
    createdBy: 'key:test',
    updatedBy: 'key:test',
    ...over,
  };
}

function note(run: Pick<Run, 'id' | 'taskId'> | null, over: Partial<NewNotification> = {}): NewNotification {
  return {
    id: newId(),
    namespace: 'default',
    channel: 'ops',
    event: 'failed',
    runId: run?.id ?? null,
    taskId: run?.taskId ?? null,
    body: JSON.stringify({ type: 'run.failed' }),
    createdAt: T0,
    ...over,
  };
}

/** Defines the notification conformance suite for one implementation. */
export function runNotificationConformance(label: string, open: OpenStore): void {
  describe(`Store notifications: ${label}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    async function running(): Promise<{ task: Task; claimed: ClaimedRun }> {
      const input = newTask();
      const task = await store.createTask(input, null, audit('task.create', input.id));
      const { run } = await store.createRun(newRun(task), null);
      const [claimed] = await store.claimDueRuns({ node: NODE, now: T0, horizon: T0, limit: 10, leaseUntil: T0 + 30_000, plan: noPlan });
      assert.equal(claimed?.run.id, run.id);
      const { stale } = await store.markRunning([{ runId: run.id, leaseEpoch: claimed!.run.leaseEpoch, startedAt: T0 }]);
      assert.deepEqual(stale, []);
      return { task, claimed: claimed! };
    }

    it('keeps channels per namespace: create, read, list in pages, rename, delete', async () => {
      const n = store.notifications;
      const a = await n.createChannel(channel({ name: 'a' }), audit('channel.create', 'x'));
      await n.createChannel(channel({ name: 'b', type: 'email', url: null, to: 'ops@example.com', secret: null }), audit('channel.create', 'y'));
      await n.createChannel(channel({ name: 'a', namespace: 'other' }), audit('channel.create', 'z'));
      await rejectsWith(n.createChannel(channel({ name: 'a' }), audit('channel.create', 'w')), 'channel_name_taken');
      assert.deepEqual(await n.getChannel('default', 'a'), a);
      assert.equal((await n.getChannel('default', 'b'))?.to, 'ops@example.com');
      assert.equal(await n.getChannel('default', 'nope'), null);

      const first = await n.listChannels('*', 2);
      assert.deepEqual(first.items.map((c) => `${c.namespace}/${c.name}`), ['default/a', 'default/b']);
      assert.ok(first.nextCursor);
      const second = await n.listChannels('*', 2, first.nextCursor);
      assert.deepEqual(second.items.map((c) => `${c.namespace}/${c.name}`), ['other/a']);
      assert.equal(second.nextCursor, null);
      assert.deepEqual((await n.listChannels(['other'], 10)).items.map((c) => c.namespace), ['other']);
      assert.deepEqual((await n.listChannels([], 10)).items, []);
      await rejectsWith(n.listChannels('*', 10, 'garbage'), 'invalid_cursor');

      const queued = note(null, { channel: 'a', event: 'test' });
      await n.enqueueNotifications([queued, note(null, { channel: 'a', namespace: 'other', event: 'test' })]);
      const renamed = { ...a, name: 'a2', url: 'https://hooks.example.com/y', updatedAt: T0 + 1 };
      await n.updateChannel(renamed, audit('channel.update', a.id));
      assert.deepEqual((await n.listNotifications('default', 'a2', 10)).items.map((x) => x.id), [queued.id], 'its notifications follow the rename');
      assert.equal((await n.listNotifications('other', 'a', 10)).items.length, 1, 'not those of another namespace');
      assert.equal((await n.getChannel('default', 'a2'))?.url, 'https://hooks.example.com/y');
      await rejectsWith(n.updateChannel({ ...renamed, name: 'b' }, audit('channel.update', a.id)), 'channel_name_taken');
      await rejectsWith(n.updateChannel({ ...renamed, id: newId() }, audit('channel.update', a.id)), 'channel_not_found');
      assert.equal((await n.deleteChannel(a.id, audit('channel.delete', a.id))).name, 'a2');
      assert.equal(await n.getChannel('default', 'a2'), null);
      await rejectsWith(n.deleteChannel(a.id, audit('channel.delete', a.id)), 'channel_not_found');
      const actions = (await store.listAudit({ namespaces: '*', limit: 50 })).items.map((e) => e.action).filter((x) => x.startsWith('channel.'));
      assert.deepEqual(actions.sort(), ['channel.create', 'channel.create', 'channel.create', 'channel.delete', 'channel.update']);
    });

    it('commits the notifications of an outcome with the outcome, and none for a refused one', async () => {
      const { claimed } = await running();
      const run = claimed.run;
      const rows = [note(run), note(run, { event: 'retries_exhausted' })];
      // A stale epoch: the outcome is refused, and so are its notifications.
      const refused = await store.completeRuns([
        { runId: run.id, leaseEpoch: run.leaseEpoch + 1, status: 'failed', startedAt: T0, finishedAt: T0 + 5, notifications: [note(run)] },
      ]);
      assert.deepEqual(refused.stale, [run.id]);
      assert.deepEqual(await store.notifications.claimNotifications(T0 + 10, T0 + 60_000, 10), []);

      const done = await store.completeRuns([
        { runId: run.id, leaseEpoch: run.leaseEpoch, status: 'failed', startedAt: T0, finishedAt: T0 + 5, notifications: rows },
      ]);
      assert.deepEqual(done.stale, []);
      const got = await store.notifications.claimNotifications(T0 + 10, T0 + 60_000, 10);
      assert.deepEqual(got.map((g) => g.id).sort(), rows.map((r) => r.id).sort());
      for (const g of got) {
        assert.equal(g.status, 'pending');
        assert.equal(g.runId, run.id);
        assert.equal(g.attemptCount, 0);
        assert.deepEqual(g.attempts, []);
        assert.equal(g.nextAttemptAt, T0 + 60_000, 'the claim moved its due time by the lease');
      }
    });

    it('rolls the outcome back when its notifications cannot be written (one transaction)', async () => {
      const { claimed } = await running();
      const run = claimed.run;
      const taken = note(run);
      await store.notifications.enqueueNotifications([taken]);
      // The same id again: the insert fails, and the outcome written before it must not stay.
      await assert.rejects(
        store.completeRuns([{ runId: run.id, leaseEpoch: run.leaseEpoch, status: 'failed', startedAt: T0, finishedAt: T0 + 5, notifications: [note(run), { ...taken }] }]),
      );
      assert.equal((await store.getRun(run.id))?.status, 'running');
      const ids = (await store.notifications.listNotifications('default', 'ops', 10)).items.map((x) => x.id);
      assert.deepEqual(ids, [taken.id]);
    });

    it('leases claims: no row is claimed twice at once, a lapsed claim is taken again and its late settlement ignored', async () => {
      const rows = Array.from({ length: 5 }, (_, i) => note(null, { event: 'test', createdAt: T0 + i }));
      await store.notifications.enqueueNotifications(rows);
      const [a, b] = await Promise.all([
        store.notifications.claimNotifications(T0 + 10, T0 + 1000, 3),
        store.notifications.claimNotifications(T0 + 10, T0 + 1000, 3),
      ]);
      const ids = [...a!, ...b!].map((x) => x.id);
      assert.equal(ids.length, 5);
      assert.equal(new Set(ids).size, 5, 'no row in two claims');
      assert.deepEqual(await store.notifications.claimNotifications(T0 + 999, T0 + 2000, 10), [], 'nothing due while leased');

      const again = await store.notifications.claimNotifications(T0 + 1000, T0 + 5000, 10);
      assert.equal(again.length, 5, 'due again once the lease lapsed');
      const old = [...a!, ...b!][0]!;
      const late: Settlement = { id: old.id, claimToken: old.claimToken, status: 'delivered', attempts: [], attemptCount: 1, nextAttemptAt: 0, lastError: null, deliveredAt: T0 };
      await store.notifications.settleNotifications([late]);
      assert.equal((await store.notifications.getNotification(old.id))?.status, 'pending', 'the superseded claim changed nothing');

      // Released (a single node's start): due at once, and the old claim's settlement is ignored.
      assert.equal(await store.notifications.releaseAllClaims(T0 + 1001), 5);
      const mine = again[0]!;
      await store.notifications.settleNotifications([{ ...late, id: mine.id, claimToken: mine.claimToken }]);
      assert.equal((await store.notifications.getNotification(mine.id))?.status, 'pending');
      assert.equal((await store.notifications.claimNotifications(T0 + 1001, T0 + 9000, 10)).length, 5);
    });

    it('prunes delivered and dead notifications past their age, never pending ones', async () => {
      // UUIDv7 ids carry their commit time: made here for chosen times.
      const idAt = (ms: number, n: number) => {
        const h = ms.toString(16).padStart(12, '0');
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
      };
      const rows = [note(null, { id: idAt(T0, 1) }), note(null, { id: idAt(T0, 2) }), note(null, { id: idAt(T0 + 5000, 3) })];
      await store.notifications.enqueueNotifications(rows);
      const claimed = await store.notifications.claimNotifications(T0 + 10_000, T0 + 20_000, 10);
      const settle = (id: string, status: 'delivered' | 'dead'): Settlement => ({
        id, claimToken: claimed[0]!.claimToken, status, attempts: [], attemptCount: 1, nextAttemptAt: T0, lastError: null, deliveredAt: null,
      });
      await store.notifications.settleNotifications([settle(rows[0]!.id, 'delivered'), settle(rows[2]!.id, 'dead')]);
      assert.equal(await store.notifications.pruneNotifications(T0 + 1000, 10), 1, 'the old delivered one');
      assert.equal(await store.notifications.getNotification(rows[0]!.id), null);
      assert.equal(await store.notifications.pruneNotifications(T0 + 10_000, 10), 1, 'then the dead one');
      assert.equal(await store.notifications.pruneNotifications(T0 + 10_000_000, 10), 0, 'never a pending one');
      assert.equal((await store.notifications.getNotification(rows[1]!.id))?.status, 'pending');
    });

    it('settles attempts: delivered, retried later, dead; lists a channel newest first in pages', async () => {
      const rows = Array.from({ length: 3 }, (_, i) => note(null, { event: 'test', createdAt: T0 + i }));
      await store.notifications.enqueueNotifications([...rows, note(null, { channel: 'elsewhere' })]);
      const claimed = (await store.notifications.claimNotifications(T0 + 10, T0 + 1000, 10)).filter((c) => c.channel === 'ops');
      const attempt = { at: T0 + 10, ok: false, status: 503, error: 'HTTP 503', durationMs: 3 };
      const [d, r, x] = claimed;
      await store.notifications.settleNotifications([
        { id: d!.id, claimToken: d!.claimToken, status: 'delivered', attempts: [{ ...attempt, ok: true, status: 200, error: null }], attemptCount: 1, nextAttemptAt: T0 + 10, lastError: null, deliveredAt: T0 + 10 },
        { id: r!.id, claimToken: r!.claimToken, status: 'pending', attempts: [attempt], attemptCount: 1, nextAttemptAt: T0 + 500, lastError: 'HTTP 503', deliveredAt: null },
        { id: x!.id, claimToken: x!.claimToken, status: 'dead', attempts: [attempt], attemptCount: 1, nextAttemptAt: T0 + 10, lastError: 'gone', deliveredAt: null },
      ]);
      assert.deepEqual(await store.notifications.claimNotifications(T0 + 499, T0 + 2000, 10), []);
      const retried = await store.notifications.claimNotifications(T0 + 500, T0 + 2000, 10);
      assert.deepEqual(retried.map((c) => c.id), [r!.id]);
      assert.equal(retried[0]!.attemptCount, 1);
      assert.deepEqual(retried[0]!.attempts, [attempt]);

      const page1 = await store.notifications.listNotifications('default', 'ops', 2);
      const page2 = await store.notifications.listNotifications('default', 'ops', 2, page1.nextCursor!);
      const listed = [...page1.items, ...page2.items];
      assert.equal(page2.nextCursor, null);
      assert.deepEqual(listed.map((n) => n.id), [...rows].map((n) => n.id).sort().reverse(), 'newest first');
      const byId = new Map(listed.map((n) => [n.id, n]));
      assert.equal(byId.get(d!.id)?.status, 'delivered');
      assert.equal(byId.get(d!.id)?.deliveredAt, T0 + 10);
      assert.equal(byId.get(x!.id)?.status, 'dead');
      assert.equal(byId.get(x!.id)?.lastError, 'gone');
      assert.equal(byId.get(r!.id)?.lastError, 'HTTP 503');
    });
  });
}
