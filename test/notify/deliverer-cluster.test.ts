// Two nodes' deliverers on one PostgreSQL outbox: every notification is sent exactly once while
// both are up (claims are leased with SKIP LOCKED), and the claims of a node that died mid-send
// are sent by the other once their lease is over, with the same webhook-id.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ManualClock } from '../../src/core/clock.js';
import { newId } from '../../src/core/ids.js';
import type { NewNotification } from '../../src/core/notify.js';
import { Deliverer } from '../../src/notify/deliverer.js';
import { generateWebhookSecret } from '../../src/notify/signature.js';
import { createTransports, type Transports } from '../../src/notify/transports.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/pg-store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { HttpReceiver } from '../helpers/receivers.js';

const db = await createTestDatabase('sundial_pgdeliver');
const stores: PostgresStore[] = [];
const transports: Transports[] = [];
const rx = await new HttpReceiver().start();
after(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await Promise.all(stores.map((s) => s.close()));
  await rx.stop();
  await db.drop();
});

async function node(clock: ManualClock, leaseMs = 60_000): Promise<Deliverer> {
  const store = await openPostgresStore({ url: db.url, poolSize: 4 });
  await store.migrate();
  stores.push(store);
  const t = createTransports({ outboundAllow: ['127.0.0.1'], timeoutMs: 5000, smtpUrl: '', smtpFrom: 'x@y', userAgent: 't' });
  transports.push(t);
  return new Deliverer(
    // Small claims, so the two nodes interleave.
    { pollIntervalMs: 10, leaseMs, batch: 7, retry: { initialMs: 100, maxMs: 1000, forMs: 60_000 }, publicUrl: () => 'http://sundial.test' },
    { store, clock, transports: t, onError: (err) => assert.fail(err) },
  );
}

function rows(n: number, at: number): NewNotification[] {
  return Array.from({ length: n }, () => {
    const id = newId();
    return { id, namespace: 'default', channel: 'hook', event: 'failed' as const, runId: null, taskId: null, body: JSON.stringify({ type: 'run.failed', id }), createdAt: at };
  });
}

describe('deliverers of two nodes on one PostgreSQL outbox', () => {
  const secret = generateWebhookSecret();
  const clock = new ManualClock(Date.now());

  it('send every notification exactly once', async () => {
    const [a, b] = [await node(clock), await node(clock)];
    await stores[0]!.notifications.createChannel(
      { id: newId(), namespace: 'default', name: 'hook', type: 'webhook', url: rx.url, to: null, secret, createdAt: 0, updatedAt: 0, createdBy: 't', updatedBy: 't' },
      { namespace: 'default', at: 0, actor: 't', ip: null, action: 'channel.create', targetType: 'channel', targetId: 'hook' },
    );
    const sent = rows(60, clock.now());
    await stores[0]!.notifications.enqueueNotifications(sent);
    // Both poll side by side until nothing is left.
    for (;;) {
      const [x, y] = await Promise.all([a.tick(), b.tick()]);
      if (x + y === 0) break;
    }
    const ids = rx.received.map((r) => String(r.headers['webhook-id']));
    assert.equal(ids.length, 60, 'no notification sent twice');
    assert.deepEqual([...new Set(ids)].sort(), sent.map((s) => s.id).sort());
    for (const r of rx.received) new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
  });

  it("sends a dead node's claims after their lease, with the same ids", async () => {
    rx.received.length = 0;
    const pending = rows(3, clock.now());
    await stores[0]!.notifications.enqueueNotifications(pending);
    // The dead node claimed them (its lease: 5 s) and never settled.
    await stores[0]!.notifications.claimNotifications(clock.now(), clock.now() + 5000, 10);
    const survivor = await node(clock);
    assert.equal(await survivor.tick(), 0, 'not while the lease holds');
    clock.advance(5000);
    assert.equal(await survivor.tick(), 3);
    assert.deepEqual(rx.received.map((r) => String(r.headers['webhook-id'])).sort(), pending.map((p) => p.id).sort());
  });
});
