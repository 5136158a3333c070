// Delivers the outbox: claims due notifications under a lease (so two nodes never send the same
// one at once, and a node that dies leaves them due again), sends them per channel within the
// channel's rate limit, and records each attempt: delivered, retried later with backoff, or dead
// once retries ran out or the channel is gone. At least once, never silently dropped: a send
// whose settlement is lost (a crash right after it) is sent again with the same id, which
// receivers use to drop repeats.
import { coerceError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { MAX_KEPT_ATTEMPTS, type Channel, type DeliveryAttempt } from '../core/notify.js';
import type { Millis } from '../core/types.js';
import type { ClaimedNotification, Settlement } from '../store/notification-store.js';
import type { Store } from '../store/store.js';
import { nextAttemptAt, type RetrySchedule } from './backoff.js';
import { ChannelRateLimiter, DEFAULT_RATES, type Rate } from './rate-limit.js';
import { mailDigest, mailMessage, parseBody, slackDigest, slackMessage } from './render.js';
import { signWebhook } from './signature.js';
import type { Transports } from './transports.js';
import type { DeliveryCounter } from './delivery-metrics.js';

export interface DelivererOptions {
  pollIntervalMs: number;
  /** How long a claim holds its rows; a node that dies releases them after this. */
  leaseMs: number;
  /** Most rows per claim. */
  batch: number;
  retry: RetrySchedule;
  /** Where the dashboard is, for links to runs. */
  publicUrl: () => string;
  rates?: Readonly<Record<Channel['type'], Rate>>;
  /** Delivered and dead notifications are deleted this long after their commit; 0 keeps them. */
  retentionMs?: number;
  /**
   * Release every claim at start: true where no other process shares the store (SQLite), so the
   * claims of a killed process are resent at once instead of after their lease.
   */
  recoverClaims?: boolean;
}

export interface DelivererDeps {
  store: Store;
  clock: Clock;
  transports: Transports;
  /** Reports failures of the loop itself (a store error), not of deliveries (those are recorded). */
  onError: (err: Error) => void;
  random?: () => number;
  /** Counts what became of each notification (Prometheus, delivery-metrics.ts). */
  count?: DeliveryCounter;
}

/** How often old notifications are deleted, and how much at most each time. */
const PRUNE_EVERY_MS = 600_000;
const PRUNE_BATCH = 1000;
const PRUNE_BATCHES = 10;
/** How long stop() waits for sends in flight. */
const STOP_WAIT_MS = 2000;
/** Rounds whose sends may be out at once. */
const MAX_ROUNDS_IN_FLIGHT = 4;
/** Most sends in flight at once per channel. */
const PER_CHANNEL_CONCURRENCY = 8;

/** Sends the outbox's due notifications, on its own timer, until stopped. */
export class Deliverer {
  readonly #o: DelivererOptions;
  readonly #d: DelivererDeps;
  readonly #limiter: ChannelRateLimiter;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #nextPrune = 0;
  /** Channel types by channel key, for the counter's label. */
  readonly #types = new Map<string, Channel['type']>();
  readonly #inFlight = new Set<Promise<void>>();
  #stopped = true;

  constructor(opts: DelivererOptions, deps: DelivererDeps) {
    this.#o = opts;
    this.#d = deps;
    this.#limiter = new ChannelRateLimiter(opts.rates ?? DEFAULT_RATES);
  }

  start(): void {
    this.#stopped = false;
    if (this.#o.recoverClaims !== true) return this.#arm(0);
    this.#running = this.#d.store.notifications.releaseAllClaims(this.#d.clock.now()).then(
      () => this.#arm(0),
      (err: unknown) => {
        this.#d.onError(coerceError(err));
        this.#arm(this.#o.pollIntervalMs);
      },
    );
  }

  /** Stops polling and waits a little for the deliveries in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    // Sends still out after a short wait are abandoned: their rows stay claimed and are sent again
    // (same ids) after a restart (single node) or the lease (cluster).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.#inFlight]), new Promise((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  #arm(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      // Rounds whose sends are still out (a slow receiver) do not hold up the next one: its rows
      // are leased. A few at most, so a receiver that hangs cannot gather unbounded sends.
      if (this.#inFlight.size >= MAX_ROUNDS_IN_FLIGHT) return this.#arm(this.#o.pollIntervalMs);
      this.#running = this.#round().then(
        ({ claimed, done }) => {
          this.#inFlight.add(done);
          void done.finally(() => this.#inFlight.delete(done));
          this.#arm(claimed >= this.#o.batch ? 0 : this.#o.pollIntervalMs);
        },
        (err: unknown) => {
          this.#d.onError(coerceError(err));
          this.#arm(this.#o.pollIntervalMs);
        },
      );
    }, ms);
  }

  /** One round, to its end: claims what is due, sends it, records the outcomes; returns how many rows it claimed. */
  async tick(): Promise<number> {
    const { claimed, done } = await this.#round();
    await done;
    return claimed;
  }

  /**
   * Claims what is due and starts sending it, channel by channel; each channel's outcomes are
   * recorded as soon as its sends end, so one slow receiver delays only its own channel.
   */
  async #round(): Promise<{ claimed: number; done: Promise<void> }> {
    const { store, clock } = this.#d;
    const now = clock.now();
    if (now >= this.#nextPrune) await this.#prune(now);
    const claimed = await store.notifications.claimNotifications(now, now + this.#o.leaseMs, this.#o.batch);
    if (claimed.length === 0) return { claimed: 0, done: Promise.resolve() };
    const groups = new Map<string, ClaimedNotification[]>();
    for (const n of claimed) {
      const key = `${n.namespace}\u0000${n.channel}`;
      const g = groups.get(key);
      if (g === undefined) groups.set(key, [n]);
      else g.push(n);
    }
    const done = Promise.all(
      [...groups].map(async ([key, rows]) => {
        try {
          const settled = await this.#channel(key, rows);
          await store.notifications.settleNotifications(settled);
          this.#count(rows, settled);
        } catch (err) {
          // Unsettled rows are due again when their lease ends.
          this.#d.onError(coerceError(err));
        }
      }),
    ).then(() => undefined);
    return { claimed: claimed.length, done };
  }

  #count(rows: ClaimedNotification[], settled: Settlement[]): void {
    const count = this.#d.count;
    if (count === undefined) return;
    const before = new Map(rows.map((n) => [n.id, n.attemptCount]));
    const type = this.#types.get(rows[0]!.namespace + '\u0000' + rows[0]!.channel) ?? 'unknown';
    for (const s of settled) {
      const tried = s.attemptCount > (before.get(s.id) ?? 0);
      count(type, s.status === 'delivered' ? 'delivered' : s.status === 'dead' ? 'dead' : tried ? 'failed' : 'deferred');
    }
  }

  /** Deletes notifications past their retention, a bounded amount per call (a backlog goes over several rounds). */
  async #prune(now: Millis): Promise<void> {
    this.#nextPrune = now + PRUNE_EVERY_MS;
    const keep = this.#o.retentionMs ?? 0;
    if (keep <= 0) return;
    for (let i = 0; i < PRUNE_BATCHES; i++) {
      if ((await this.#d.store.notifications.pruneNotifications(now - keep, PRUNE_BATCH)) < PRUNE_BATCH) return;
    }
  }

  async #channel(key: string, rows: ClaimedNotification[]): Promise<Settlement[]> {
    const first = rows[0]!;
    const channel = await this.#d.store.notifications.getChannel(first.namespace, first.channel);
    const now = this.#d.clock.now();
    if (channel !== null) this.#types.set(key, channel.type);
    if (channel === null) {
      return rows.map((n) => this.#dead(n, { at: now, ok: false, status: null, error: `channel "${first.channel}" does not exist (deleted?)`, durationMs: 0 }));
    }
    const plan = this.#limiter.plan(`${key}\u0000${channel.id}`, channel.type, rows.length, now);
    const single = rows.slice(0, plan.single);
    const digest = rows.slice(plan.single, plan.single + plan.digest);
    const waiting = rows.slice(plan.single + plan.digest);
    const out: Settlement[] = waiting.map((n) => ({ ...this.#unchanged(n), nextAttemptAt: plan.deferUntil ?? now }));
    for (let i = 0; i < single.length; i += PER_CHANNEL_CONCURRENCY) {
      // A slow receiver must not keep the claim past half its lease: another node may take the
      // rows after it. What is left goes back, due at once, untried.
      if (this.#d.clock.now() - now > this.#o.leaseMs / 2) {
        out.push(...single.slice(i).map((n) => this.#unchanged(n)));
        break;
      }
      const part = single.slice(i, i + PER_CHANNEL_CONCURRENCY);
      out.push(...(await Promise.all(part.map(async (n) => this.#settle(n, await this.#attempt(channel, [n]))))));
    }
    if (digest.length > 0) {
      const attempt = await this.#attempt(channel, digest);
      for (const n of digest) out.push(this.#settle(n, attempt));
    }
    return out;
  }

  /** Sends one notification, or a digest of several, and times it; never throws. */
  async #attempt(channel: Channel, rows: ClaimedNotification[]): Promise<DeliveryAttempt> {
    const { clock, transports } = this.#d;
    const at = clock.now();
    const started = performance.now();
    const done = (ok: boolean, status: number | null, error: string | null): DeliveryAttempt => ({ at, ok, status, error, durationMs: Math.round(performance.now() - started) });
    try {
      const bodies = rows.map(parseBody);
      const publicUrl = this.#o.publicUrl();
      if (channel.type === 'email') {
        const one = rows.length === 1 ? rows[0]! : null;
        const mail = one !== null ? mailMessage(bodies[0]!, publicUrl) : mailDigest(bodies, publicUrl);
        // A digest's id names its first row: a retried digest of the same rows keeps it.
        await transports.mail({ to: channel.to ?? '', ...mail, messageId: `<${one?.id ?? `digest-${rows[0]!.id}`}@sundial>` });
        return done(true, null, null);
      }
      let url: string;
      let body: string;
      let headers: Record<string, string> = {};
      if (channel.type === 'slack') {
        url = channel.url ?? '';
        body = JSON.stringify(rows.length === 1 ? slackMessage(bodies[0]!, publicUrl) : slackDigest(bodies, publicUrl));
      } else {
        // Webhooks are never digested (rate-limit.ts): one row, its body as committed.
        const n = rows[0]!;
        url = channel.url ?? '';
        body = n.body;
        headers = signWebhook(channel.secret ?? '', n.id, Math.floor(at / 1000), body);
      }
      const res = await transports.post(url, body, headers);
      if (res.status >= 200 && res.status < 300) return done(true, res.status, null);
      return done(false, res.status, `HTTP ${res.status}${res.excerpt === '' ? '' : `: ${res.excerpt}`}`);
    } catch (err) {
      return done(false, null, describe(err));
    }
  }

  #settle(n: ClaimedNotification, a: DeliveryAttempt): Settlement {
    if (a.ok) {
      return { ...this.#unchanged(n), status: 'delivered', attempts: keep(n, a), attemptCount: n.attemptCount + 1, lastError: null, deliveredAt: a.at };
    }
    const count = n.attemptCount + 1;
    const next = nextAttemptAt(this.#o.retry, n.createdAt, count, this.#d.clock.now(), this.#d.random);
    if (next === null) return this.#dead(n, a);
    return { ...this.#unchanged(n), attempts: keep(n, a), attemptCount: count, nextAttemptAt: next, lastError: a.error };
  }

  #dead(n: ClaimedNotification, a: DeliveryAttempt): Settlement {
    return { ...this.#unchanged(n), status: 'dead', attempts: keep(n, a), attemptCount: n.attemptCount + 1, lastError: a.error };
  }

  /** The row as claimed, due now; callers override what changed. */
  #unchanged(n: ClaimedNotification): Settlement {
    return {
      id: n.id,
      claimToken: n.claimToken,
      status: 'pending',
      attempts: n.attempts,
      attemptCount: n.attemptCount,
      nextAttemptAt: this.#d.clock.now() as Millis,
      lastError: n.lastError,
      deliveredAt: null,
    };
  }
}

/** The attempts list with `a` added, the oldest dropped past the limit. */
function keep(n: ClaimedNotification, a: DeliveryAttempt): DeliveryAttempt[] {
  const all = [...n.attempts, a];
  return all.length > MAX_KEPT_ATTEMPTS ? all.slice(all.length - MAX_KEPT_ATTEMPTS) : all;
}

/** A short, secret-free description of a failed send. */
function describe(err: unknown): string {
  const e = coerceError(err);
  const code = (e as { code?: unknown }).code;
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = typeof cause?.code === 'string' ? ` (${cause.code})` : typeof code === 'string' ? ` (${code})` : '';
  return `${e.message}${detail}`.slice(0, 500);
}

