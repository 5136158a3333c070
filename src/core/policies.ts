// Task policies: the API's shape (durations as text, every field optional) in, the stored shape
// (every field filled, milliseconds) out, and back again for the API's view.
import { formatDuration, parseDuration } from './duration.js';
import { invalid, type FieldError } from './errors.js';
import { NOTIFY_EVENTS, type MisfirePolicy, type NotifyRule, type OverlapPolicy, type Policies } from './types.js';

/** Policies applied where a task sets none (DESIGN.md "Policies"). */
export const DEFAULT_POLICIES: Policies = {
  retry: { maxAttempts: 1, backoff: { type: 'exponential', initialMs: 1000, maxMs: 300_000, jitter: true } },
  timeoutMs: 300_000,
  overlap: 'skip',
  misfire: { policy: 'run_once', catchupWindowMs: 3_600_000 },
  priority: 0,
  concurrency: null,
  concurrencyKey: null,
};

/** Limits the API enforces on policy values. */
export const POLICY_LIMITS = {
  maxAttempts: { min: 1, max: 100 },
  timeoutMs: { min: 1000, max: 86_400_000 },
  backoffMs: { min: 0, max: 86_400_000 },
  catchupWindowMs: { min: 0, max: 365 * 86_400_000 },
  priority: { min: -1000, max: 1000 },
  concurrencyKeyLength: 200,
  notifyRules: 20,
} as const;

const OVERLAP: readonly OverlapPolicy[] = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all'];
const MISFIRE: readonly MisfirePolicy[] = ['run_once', 'skip', 'run_all'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects field errors while reading one nested input object. */
class Reader {
  readonly errors: FieldError[] = [];

  fail(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  /** The object at `path`, or undefined (absent or reported); unknown keys are reported. */
  object(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> | undefined {
    if (v === undefined) return undefined;
    if (!isRecord(v)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!keys.includes(k)) this.fail(`${path}/${k}`, `is not a known field (expected one of: ${keys.join(', ')})`);
    }
    return v;
  }

  int(v: unknown, path: string, min: number, max: number, fallback: number): number {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return v;
  }

  duration(v: unknown, path: string, min: number, max: number, fallback: number): number {
    if (v === undefined) return fallback;
    const ms = typeof v === 'string' ? parseDuration(v) : null;
    if (ms === null) {
      this.fail(path, 'must be a duration like 30s, 5m, 1h30m or PT5M');
      return fallback;
    }
    if (ms < min || ms > max) {
      this.fail(path, `must be from ${formatDuration(min)} to ${formatDuration(max)}`);
      return fallback;
    }
    return ms;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], fallback: T): T {
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(path, `must be one of: ${allowed.join(', ')}`);
      return fallback;
    }
    return v as T;
  }

  bool(v: unknown, path: string, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      this.fail(path, 'must be true or false');
      return fallback;
    }
    return v;
  }
}

/**
 * Turns the API's policy input (durations as strings, any field optional) into Policies with
 * every default filled in; `base` supplies values for fields the input leaves out (for PATCH).
 * Throws SundialError `validation_failed` with field errors under `path`.
 */
export function normalizePolicies(input: unknown, base: Policies = DEFAULT_POLICIES, path = '/policies'): Policies {
  const r = new Reader();
  const L = POLICY_LIMITS;
  if (input === undefined) return structuredClone(base);
  if (!isRecord(input)) throw invalid([{ path, message: 'must be an object' }]);
  const top = input;
  r.object(top, path, ['retry', 'timeout', 'overlap', 'misfire', 'priority', 'concurrency', 'concurrencyKey', 'notify']);

  const retryIn = r.object(top.retry, `${path}/retry`, ['maxAttempts', 'backoff']) ?? {};
  const backoffIn = r.object(retryIn.backoff, `${path}/retry/backoff`, ['type', 'initial', 'max', 'jitter']) ?? {};
  const misfireIn = r.object(top.misfire, `${path}/misfire`, ['policy', 'catchupWindow']) ?? {};
  const b = base.retry.backoff;

  const backoff: Policies['retry']['backoff'] = {
    type: r.oneOf(backoffIn.type, `${path}/retry/backoff/type`, ['exponential', 'fixed'] as const, b.type),
    initialMs: r.duration(backoffIn.initial, `${path}/retry/backoff/initial`, L.backoffMs.min, L.backoffMs.max, b.initialMs),
    maxMs: r.duration(backoffIn.max, `${path}/retry/backoff/max`, L.backoffMs.min, L.backoffMs.max, b.maxMs),
    jitter: r.bool(backoffIn.jitter, `${path}/retry/backoff/jitter`, b.jitter),
  };
  if (backoff.initialMs > backoff.maxMs) {
    // Blame whichever side the input touched, so a PATCH of one field points at that field.
    const field = backoffIn.initial !== undefined ? 'initial' : 'max';
    r.fail(`${path}/retry/backoff/${field}`, `initial (${formatDuration(backoff.initialMs)}) must not exceed max (${formatDuration(backoff.maxMs)})`);
  }

  let concurrency = base.concurrency;
  if (top.concurrency !== undefined) {
    const v = top.concurrency;
    if (v === null) concurrency = null;
    else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) concurrency = v;
    else r.fail(`${path}/concurrency`, 'must be a positive integer or null');
  }
  let concurrencyKey = base.concurrencyKey;
  if (top.concurrencyKey !== undefined) {
    const v = top.concurrencyKey;
    if (v === null) concurrencyKey = null;
    else if (typeof v === 'string' && v.trim() !== '' && v.length <= L.concurrencyKeyLength) concurrencyKey = v;
    else r.fail(`${path}/concurrencyKey`, `must be a non-empty string of at most ${L.concurrencyKeyLength} characters, or null`);
  }

  const out: Policies = {
    retry: {
      maxAttempts: r.int(retryIn.maxAttempts, `${path}/retry/maxAttempts`, L.maxAttempts.min, L.maxAttempts.max, base.retry.maxAttempts),
      backoff,
    },
    timeoutMs: r.duration(top.timeout, `${path}/timeout`, L.timeoutMs.min, L.timeoutMs.max, base.timeoutMs),
    overlap: r.oneOf(top.overlap, `${path}/overlap`, OVERLAP, base.overlap),
    misfire: {
      policy: r.oneOf(misfireIn.policy, `${path}/misfire/policy`, MISFIRE, base.misfire.policy),
      catchupWindowMs: r.duration(
        misfireIn.catchupWindow,
        `${path}/misfire/catchupWindow`,
        L.catchupWindowMs.min,
        L.catchupWindowMs.max,
        base.misfire.catchupWindowMs,
      ),
    },
    priority: r.int(top.priority, `${path}/priority`, L.priority.min, L.priority.max, base.priority),
    concurrency,
    concurrencyKey,
  };
  const notify = top.notify === undefined ? base.notify : readNotify(r, top.notify, `${path}/notify`);
  // Left out when empty: a task without rules must cost the scheduler nothing (it tests presence).
  if (notify !== undefined && notify.length > 0) out.notify = notify;
  if (r.errors.length > 0) throw invalid(r.errors);
  return out;
}

/** `policies.notify`: a list of `{ on: [events], channel }`; the channel's existence is the service's check. */
function readNotify(r: Reader, v: unknown, path: string): NotifyRule[] | undefined {
  if (v === null) return [];
  if (!Array.isArray(v) || v.length > POLICY_LIMITS.notifyRules) {
    r.fail(path, `must be a list of at most ${POLICY_LIMITS.notifyRules} rules { on: [events], channel }`);
    return undefined;
  }
  const rules: NotifyRule[] = [];
  v.forEach((item: unknown, i) => {
    const at = `${path}/${i}`;
    const o = r.object(item, at, ['on', 'channel']);
    if (o === undefined) return;
    const on = o.on;
    const okOn = Array.isArray(on) && on.length > 0 && on.every((e) => (NOTIFY_EVENTS as readonly unknown[]).includes(e));
    if (!okOn) r.fail(`${at}/on`, `must be a non-empty list of: ${NOTIFY_EVENTS.join(', ')}`);
    const channel = o.channel;
    const okChannel = typeof channel === 'string' && channel.length > 0 && channel.length <= 200;
    if (!okChannel) r.fail(`${at}/channel`, 'must name a channel (1..200 characters)');
    if (okOn && okChannel) rules.push({ on: [...new Set(on as NotifyRule['on'])], channel });
  });
  return rules;
}

/** Policies as the API shows them: durations as shorthand strings (`timeout: "5m"`). */
export function policiesToView(p: Policies): Record<string, unknown> {
  return {
    retry: {
      maxAttempts: p.retry.maxAttempts,
      backoff: {
        type: p.retry.backoff.type,
        initial: formatDuration(p.retry.backoff.initialMs),
        max: formatDuration(p.retry.backoff.maxMs),
        jitter: p.retry.backoff.jitter,
      },
    },
    timeout: formatDuration(p.timeoutMs),
    overlap: p.overlap,
    misfire: { policy: p.misfire.policy, catchupWindow: formatDuration(p.misfire.catchupWindowMs) },
    priority: p.priority,
    concurrency: p.concurrency,
    concurrencyKey: p.concurrencyKey,
    notify: (p.notify ?? []).map((n) => ({ on: [...n.on], channel: n.channel })),
  };
}
