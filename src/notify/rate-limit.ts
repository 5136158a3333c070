// Per-channel rate limits, so a flood of failures (a thousand a minute) does not become a
// thousand e-mails or Slack posts: a token bucket per channel. Each message takes a token. When
// more notifications are due than there are tokens, Slack and e-mail channels send what the
// tokens allow minus one, and one digest message carrying all the rest; webhook channels (read by
// programs, which deduplicate by id) get every notification on its own, and the excess waits for
// tokens. Buckets live in each node's memory: a cluster's nodes each allow the rate.
import type { ChannelType } from '../core/notify.js';
import type { Millis } from '../core/types.js';

export interface Rate {
  /** Messages that may go out at once after a quiet spell. */
  burst: number;
  /** Messages per minute in the long run. */
  perMinute: number;
}

/** The default rates per channel type (docs/notifications.md, "Rate limits"). */
export const DEFAULT_RATES: Readonly<Record<ChannelType, Rate>> = {
  webhook: { burst: 100, perMinute: 1200 },
  slack: { burst: 10, perMinute: 10 },
  email: { burst: 10, perMinute: 10 },
};

/** What to do with `count` due notifications of one channel now. */
export interface RatePlan {
  /** How many go out one by one (the first ones). */
  single: number;
  /** How many of the rest go out together in one digest message. */
  digest: number;
  /** The rest wait until this time (when a token is back); null when none wait. */
  deferUntil: Millis | null;
}

interface Bucket {
  tokens: number;
  at: Millis;
}

/** Token buckets by channel key. */
export class ChannelRateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(private readonly rates: Readonly<Record<ChannelType, Rate>> = DEFAULT_RATES) {}

  /** Takes tokens for `count` due notifications of the channel `key` and says how to send them. */
  plan(key: string, type: ChannelType, count: number, now: Millis): RatePlan {
    const rate = this.rates[type];
    const perMs = rate.perMinute / 60_000;
    const b = this.#buckets.get(key) ?? { tokens: rate.burst, at: now };
    b.tokens = Math.min(rate.burst, b.tokens + Math.max(0, now - b.at) * perMs);
    b.at = now;
    this.#buckets.set(key, b);
    const whole = Math.floor(b.tokens);
    let plan: RatePlan;
    if (count <= whole) {
      plan = { single: count, digest: 0, deferUntil: null };
    } else if (type !== 'webhook' && whole >= 1) {
      // One token is kept for the digest that carries everything the others cannot.
      plan = { single: whole - 1, digest: count - (whole - 1), deferUntil: null };
    } else {
      plan = { single: whole, digest: 0, deferUntil: null };
    }
    const used = plan.single + (plan.digest > 0 ? 1 : 0);
    b.tokens -= used;
    if (plan.single + plan.digest < count) plan.deferUntil = now + Math.ceil((1 - b.tokens) / perMs);
    return plan;
  }
}
