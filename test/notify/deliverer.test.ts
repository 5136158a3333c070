// The deliverer against real receivers on loopback: signed webhooks checked with the
// `standardwebhooks` package, Slack messages, e-mail through a real SMTP server, retries with
// backoff up to dead on an injected clock, and a flood batched into digests.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ManualClock } from '../../src/core/clock.js';
import { newId } from '../../src/core/ids.js';
import { notificationsFor, type Channel, type NewNotification, type NotificationBody } from '../../src/core/notify.js';
import type { Run, Task } from '../../src/core/types.js';
import { Registry } from 'prom-client';
import { Deliverer, type DelivererOptions } from '../../src/notify/deliverer.js';
import { deliveryCounter } from '../../src/notify/delivery-metrics.js';
import { generateWebhookSecret } from '../../src/notify/signature.js';
import { createTransports, type Transports } from '../../src/notify/transports.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { HttpReceiver, SmtpReceiver } from '../helpers/receivers.js';
import { audit } from '../store/store-fixtures.js';

const PUBLIC = 'https://sundial.example.com';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function task(over: Partial<Task> = {}): Task {
  return {
    id: newId(),
    namespace: 'default',
    name: 'nightly-report',
    description: null,
    kind: 'http',
    spec: { url: 'https://example.com' },
    schedule: null,
    policies: {
      retry: { maxAttempts: 1, backoff: { type: 'fixed', initialMs: 1000, maxMs: 1000, jitter: false } },
      timeoutMs: 1000,
      overlap: 'skip',
      misfire: { policy: 'run_once', catchupWindowMs: 0 },
      priority: 0,
      concurrency: null,
      concurrencyKey: null,
      notify: [{ on: ['failed', 'retries_exhausted'], channel: 'ops' }],
    },
    payload: null,
    status: 'active',
    firedCount: 0,
    nextRunAt: null,
    lastRunAt: null,
    lastRunStatus: null,
    version: 1,
    createdAt: 0,
    updatedAt: 0,
    createdBy: 'key:test',
    updatedBy: 'key:test',
    ...over,
  };
}

function run(t: Task, now: number): Run {
  return {
    id: newId(),
    namespace: t.namespace,
    taskId: t.id,
    taskName: t.name,
    status: 'running',
    attempt: 1,
    retryOf: null,
    trigger: 'manual',
    occurrenceAt: null,
    scheduledFor: now - 50,
    priority: 0,
    payload: null,
    idempotencyKey: 'k',
    queuedAt: now - 40,
    startedAt: now - 30,
    finishedAt: null,
    node: 'n',
    leaseUntil: null,
    leaseEpoch: 1,
    result: null,
    error: null,
    reason: null,
    logsTruncated: false,
    createdAt: now - 60,
    updatedAt: now - 60,
    createdBy: 'key:test',
    cpuMs: null,
    peakRssBytes: null,
    diskWriteBytes: null,
  };
}

/** The outbox rows of one failed run of `t` (a `failed` and a `retries_exhausted`, per its rules). */
function failure(t: Task, now: number, channel = 'ops'): NewNotification[] {
  const tt = { ...t, policies: { ...t.policies, notify: [{ on: ['failed' as const], channel }] } };
  return notificationsFor(tt, run(tt, now), { status: 'failed', startedAt: now - 30, finishedAt: now, error: { code: 'http_status', message: 'HTTP 500 from the target' }, reason: null, retried: false }, now, newId);
}

describe('notification deliverer', () => {
  let store: Store;
  let clock: ManualClock;
  let transports: Transports;
  const receivers: { stop(): Promise<void> }[] = [];

  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sundial-deliver-'));
    dirs.push(dir);
    store = await openSqliteStore({ dir });
    await store.migrate();
    // Webhook timestamps are checked against real time by receivers: start at it.
    clock = new ManualClock(Date.now());
  });
  afterEach(async () => {
    await transports?.close();
    await Promise.all(receivers.splice(0).map((r) => r.stop()));
    await store.close();
  });

  let registry: Registry;
  function deliverer(over: Partial<DelivererOptions> = {}, smtp = ''): Deliverer {
    transports = createTransports({ outboundAllow: ['127.0.0.1'], timeoutMs: 2000, smtpUrl: smtp, smtpFrom: 'sundial@test.local', userAgent: 'Sundial/test' });
    registry = new Registry();
    return new Deliverer(
      { pollIntervalMs: 50, leaseMs: 60_000, batch: 200, retry: { initialMs: 1000, maxMs: 4000, forMs: 30_000 }, publicUrl: () => PUBLIC, ...over },
      { store, clock, transports, onError: (err) => assert.fail(err), count: deliveryCounter(registry) },
    );
  }

  /** The deliveries counter's value for these labels. */
  async function counted(type: string, outcome: string): Promise<number> {
    const m = await registry.getSingleMetric('sundial_notification_deliveries_total')!.get();
    return m.values.find((v) => v.labels.type === type && v.labels.outcome === outcome)?.value ?? 0;
  }

  async function addChannel(c: Partial<Channel>): Promise<Channel> {
    const ch: Channel = { id: newId(), namespace: 'default', name: 'ops', type: 'webhook', url: null, to: null, secret: null, createdAt: 0, updatedAt: 0, createdBy: 'k', updatedBy: 'k', ...c };
    return store.notifications.createChannel(ch, audit('channel.create', ch.id));
  }

  it('signs webhooks as Standard Webhooks do: standardwebhooks verifies them; the body is the committed JSON', async () => {
    const rx = await new HttpReceiver().start();
    receivers.push(rx);
    const secret = generateWebhookSecret();
    await addChannel({ type: 'webhook', url: rx.url, secret });
    const t = task();
    const rows = failure(t, clock.now());
    await store.notifications.enqueueNotifications(rows);
    assert.equal(await deliverer().tick(), 1);
    assert.equal(rx.received.length, 1);
    const got = rx.received[0]!;
    const verified = new Webhook(secret).verify(got.body, got.headers as Record<string, string>) as NotificationBody;
    assert.equal(got.headers['webhook-id'], rows[0]!.id);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.body, rows[0]!.body, 'the bytes committed with the outcome');
    assert.deepEqual(Object.keys(verified), ['type', 'timestamp', 'run', 'task']);
    assert.equal(verified.type, 'run.failed');
    assert.deepEqual(Object.keys(verified.run), ['id', 'taskId', 'status', 'attempt', 'scheduledFor', 'startedAt', 'finishedAt', 'error']);
    assert.deepEqual(verified.task, { id: t.id, name: t.name, namespace: 'default' });
    assert.equal(verified.run.error?.message, 'HTTP 500 from the target');
    // A wrong secret does not verify.
    assert.throws(() => new Webhook(generateWebhookSecret()).verify(got.body, got.headers as Record<string, string>));
    const stored = await store.notifications.getNotification(rows[0]!.id);
    assert.equal(stored?.status, 'delivered');
    assert.equal(stored?.attempts[0]?.status, 200);
  });

  it('retries with backoff (same webhook-id, waits doubling up to the cap), then marks the notification dead', async () => {
    const rx = await new HttpReceiver().start();
    receivers.push(rx);
    rx.status = 503;
    const secret = generateWebhookSecret();
    await addChannel({ type: 'webhook', url: rx.url, secret });
    const [row] = failure(task(), clock.now());
    await store.notifications.enqueueNotifications([row!]);
    const d = deliverer({ retry: { initialMs: 1000, maxMs: 4000, forMs: 30_000 } });
    const created = clock.now();
    const gaps: number[] = [];
    for (let i = 0; i < 100; i++) {
      await d.tick();
      const n = (await store.notifications.getNotification(row!.id))!;
      if (n.status !== 'pending') break;
      gaps.push(n.nextAttemptAt - clock.now());
      clock.set(n.nextAttemptAt);
    }
    const n = (await store.notifications.getNotification(row!.id))!;
    assert.equal(n.status, 'dead');
    assert.equal(n.attemptCount, rx.received.length);
    assert.ok(rx.received.length >= 8, `${rx.received.length} attempts in 30 s of 1..4 s waits`);
    assert.equal(new Set(rx.received.map((r) => r.headers['webhook-id'])).size, 1, 'one id on every attempt');
    for (const r of rx.received) new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
    // Exponential with jitter in [d/2, d]: 1 s, 2 s, then capped at 4 s.
    assert.ok(gaps[0]! >= 500 && gaps[0]! <= 1000, `first wait ${gaps[0]}`);
    assert.ok(gaps[1]! >= 1000 && gaps[1]! <= 2000, `second wait ${gaps[1]}`);
    assert.ok(gaps.every((g) => g <= 4000), `no wait above the cap: ${gaps.join(', ')}`);
    assert.ok(clock.now() <= created + 30_000, 'given up within the retry window');
    assert.match(n.lastError ?? '', /HTTP 503/);
    assert.equal(n.attempts.at(-1)?.status, 503);
    assert.equal(await counted('webhook', 'failed'), rx.received.length - 1);
    assert.equal(await counted('webhook', 'dead'), 1);
    assert.equal(await counted('webhook', 'delivered'), 0);
  });

  it('delivers once the receiver answers again', async () => {
    const rx = await new HttpReceiver().start();
    receivers.push(rx);
    rx.status = 500;
    await addChannel({ type: 'webhook', url: rx.url, secret: generateWebhookSecret() });
    const [row] = failure(task(), clock.now());
    await store.notifications.enqueueNotifications([row!]);
    const d = deliverer();
    await d.tick();
    rx.status = 200;
    clock.set((await store.notifications.getNotification(row!.id))!.nextAttemptAt);
    await d.tick();
    const n = (await store.notifications.getNotification(row!.id))!;
    assert.equal(n.status, 'delivered');
    assert.deepEqual(n.attempts.map((a) => a.ok), [false, true]);
  });

  it('posts Slack Block Kit messages with the task, status, error and a link to the run', async () => {
    const rx = await new HttpReceiver().start();
    receivers.push(rx);
    await addChannel({ type: 'slack', url: rx.url });
    const t = task({ name: 'billing<sync>' });
    const [row] = failure(t, clock.now());
    await store.notifications.enqueueNotifications([row!]);
    await deliverer().tick();
    const msg = JSON.parse(rx.received[0]!.body) as { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] }[] };
    const runId = (JSON.parse(row!.body) as NotificationBody).run.id;
    assert.equal(rx.received[0]!.headers['webhook-signature'], undefined, 'Slack messages are not signed');
    assert.match(msg.text, /billing<sync> failed/);
    const all = JSON.stringify(msg.blocks);
    assert.ok(msg.blocks.every((b) => ['section', 'context'].includes(b.type)));
    assert.match(msg.blocks[0]!.text!.text, /\*default\/billing&lt;sync&gt;\* failed/, 'mrkdwn escaped');
    assert.ok(msg.blocks[1]!.fields!.some((f) => f.text === '*Status*\nfailed'));
    assert.ok(all.includes('HTTP 500 from the target'));
    assert.ok(all.includes(`<${PUBLIC}/runs/${runId}|`), 'links to the run in the dashboard');
  });

  it('e-mails through a real SMTP server; a retried message keeps its Message-ID', async () => {
    const smtp = await new SmtpReceiver().start();
    receivers.push(smtp);
    smtp.reject = true;
    await addChannel({ type: 'email', to: 'ops@example.com, oncall@example.com' });
    const t = task();
    const [row] = failure(t, clock.now());
    await store.notifications.enqueueNotifications([row!]);
    const d = deliverer({}, smtp.url);
    await d.tick();
    let n = (await store.notifications.getNotification(row!.id))!;
    assert.equal(n.status, 'pending');
    assert.match(n.lastError ?? '', /451|try again/);
    smtp.reject = false;
    clock.set(n.nextAttemptAt);
    await d.tick();
    n = (await store.notifications.getNotification(row!.id))!;
    assert.equal(n.status, 'delivered');
    assert.equal(smtp.mails.length, 2);
    const [first, second] = smtp.mails;
    assert.deepEqual(second!.to, ['ops@example.com', 'oncall@example.com']);
    assert.equal(second!.from, 'sundial@test.local');
    assert.equal(SmtpReceiver.header(second!.raw, 'Message-ID'), `<${row!.id}@sundial>`);
    assert.equal(SmtpReceiver.header(first!.raw, 'Message-ID'), SmtpReceiver.header(second!.raw, 'Message-ID'));
    assert.equal(SmtpReceiver.header(second!.raw, 'Subject'), `[Sundial] default/${t.name} failed`);
    const runId = (JSON.parse(row!.body) as NotificationBody).run.id;
    const text = second!.raw.replace(/=\r?\n/g, '');
    assert.ok(text.includes(runId), 'the body names the run');
    assert.ok(text.includes('HTTP 500 from the target'), 'and its error');
    assert.ok(text.includes(`${PUBLIC}/runs/${runId}`), 'and links to it');
  });

  it('batches a flood: 1,000 failures in a minute to one e-mail channel are a handful of e-mails, all delivered', async () => {
    const smtp = await new SmtpReceiver().start();
    receivers.push(smtp);
    await addChannel({ type: 'email', to: 'ops@example.com' });
    const t = task();
    const rows: NewNotification[] = [];
    for (let i = 0; i < 1000; i++) rows.push(...failure(t, clock.now() + i * 60));
    await store.notifications.enqueueNotifications(rows);
    const d = deliverer({}, smtp.url);
    const start = clock.now();
    while (clock.now() < start + 120_000) {
      await d.tick();
      clock.advance(1000);
    }
    const page = await store.notifications.listNotifications('default', 'ops', 500);
    const rest = await store.notifications.listNotifications('default', 'ops', 500, page.nextCursor!);
    const all = [...page.items, ...rest.items];
    assert.equal(all.length, 1000);
    assert.deepEqual([...new Set(all.map((n) => n.status))], ['delivered']);
    assert.ok(smtp.mails.length <= 40, `${smtp.mails.length} e-mails for 1,000 notifications`);
    const digests = smtp.mails.filter((m) => /notifications$/.test(SmtpReceiver.header(m.raw, 'Subject') ?? ''));
    assert.ok(digests.length >= 1, 'the excess went out as digests');
    assert.equal(smtp.mails.length - digests.length, 9, 'the burst went out one by one, keeping a token for the digest');
    assert.equal(await counted('email', 'delivered'), 1000);
    assert.ok((await counted('email', 'deferred')) > 0, 'the rate limit held some back');
  });

  it('deletes delivered notifications once they are older than the retention, not pending ones', async () => {
    const rx = await new HttpReceiver().start();
    receivers.push(rx);
    await addChannel({ type: 'webhook', url: rx.url, secret: generateWebhookSecret() });
    const [sent] = failure(task(), clock.now());
    await store.notifications.enqueueNotifications([sent!]);
    const d = deliverer({ retentionMs: 60_000 });
    await d.tick();
    assert.equal((await store.notifications.getNotification(sent!.id))?.status, 'delivered');
    rx.status = 503;
    clock.advance(11 * 60_000);
    const [failing] = failure(task(), clock.now());
    await store.notifications.enqueueNotifications([failing!]);
    await d.tick();
    assert.equal(await store.notifications.getNotification(sent!.id), null, 'pruned');
    assert.equal((await store.notifications.getNotification(failing!.id))?.status, 'pending', 'kept while pending');
  });

  it('marks notifications of a deleted channel dead instead of retrying them', async () => {
    const [row] = failure(task(), clock.now(), 'gone');
    await store.notifications.enqueueNotifications([row!]);
    await deliverer().tick();
    const n = (await store.notifications.getNotification(row!.id))!;
    assert.equal(n.status, 'dead');
    assert.match(n.lastError ?? '', /does not exist/);
  });

  it('refuses private addresses at delivery unless allow-listed (the outbound guard)', async () => {
    const rx = await new HttpReceiver().start();
    receivers.push(rx);
    await addChannel({ type: 'webhook', url: rx.url, secret: generateWebhookSecret() });
    const [row] = failure(task(), clock.now());
    await store.notifications.enqueueNotifications([row!]);
    transports = createTransports({ outboundAllow: [], timeoutMs: 2000, smtpUrl: '', smtpFrom: 'x@y', userAgent: 't' });
    const d = new Deliverer(
      { pollIntervalMs: 50, leaseMs: 60_000, batch: 10, retry: { initialMs: 1000, maxMs: 4000, forMs: 30_000 }, publicUrl: () => PUBLIC },
      { store, clock, transports, onError: (err) => assert.fail(err) },
    );
    await d.tick();
    const n = (await store.notifications.getNotification(row!.id))!;
    assert.equal(rx.received.length, 0);
    assert.match(n.lastError ?? '', /refused to connect to 127\.0\.0\.1/);
  });
});
