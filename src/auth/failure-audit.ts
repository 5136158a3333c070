// Failed sign-ins in the audit log (`auth.failed`), without letting a flood of bad keys fill it.
// Per client address, the first failure of a window is written at once (so one mistyped key shows
// up immediately); the ones after it in that window are only counted, and written as one row with
// their count when the window is over. So an address costs at most one row a minute however hard
// it tries; addresses beyond `maxAddresses` share one overflow counter (address `*`), so a botnet
// costs a bounded map too. A row names the address, the reasons and the prefixes of tokens that
// looked like keys, never a token.

import type { Clock } from '../core/clock.js';
import type { Millis } from '../core/types.js';
import type { NewAudit, Store } from '../store/store.js';
import type { AuthFailure } from './authenticator.js';

/** Why a request failed to sign in: the authenticator's reasons, and no usable Authorization header. */
export type SignInFailure = AuthFailure | 'bad_header';

export interface FailureAuditOptions {
  store: Pick<Store, 'appendAudit'>;
  clock: Clock;
  /** One row per address per this many ms at most (default a minute). */
  windowMs?: number;
  /** Addresses tracked at once; more share the overflow counter. */
  maxAddresses?: number;
  /** How often finished windows are written (ms); 0: only by `flush()` (tests). */
  flushEveryMs?: number;
  /** Told when a write fails (the rows are best effort). */
  onError?: (err: unknown) => void;
}

interface Window {
  endsAt: Millis;
  /** Failures counted since the last row. */
  pending: number;
  reasons: Set<string>;
  prefixes: Set<string>;
}

/** Prefixes and reasons kept per row at most. */
const MAX_LISTED = 10;
/** The shared counter of addresses past `maxAddresses`. */
const OVERFLOW = '*';

/** Writes rate-limited `auth.failed` audit rows. */
export class FailureAudit {
  readonly #o: Required<Omit<FailureAuditOptions, 'onError'>> & Pick<FailureAuditOptions, 'onError'>;
  readonly #windows = new Map<string, Window>();
  #timer: NodeJS.Timeout | null = null;

  constructor(o: FailureAuditOptions) {
    this.#o = { windowMs: 60_000, maxAddresses: 10_000, flushEveryMs: 5_000, ...o };
    if (this.#o.flushEveryMs > 0) {
      this.#timer = setInterval(() => this.flush(), this.#o.flushEveryMs);
      this.#timer.unref();
    }
  }

  /** Counts a failed sign-in from `ip`; `prefix` is the token's key prefix when it looked like a key. */
  record(ip: string, reason: SignInFailure, prefix: string | null): void {
    const now = this.#o.clock.now();
    let address = ip;
    let w = this.#windows.get(address);
    if (w === undefined && this.#windows.size >= this.#o.maxAddresses) {
      address = OVERFLOW;
      w = this.#windows.get(address);
    }
    if (w === undefined || (w.endsAt <= now && w.pending === 0)) {
      // The first failure of a window is written now.
      this.#windows.set(address, { endsAt: now + this.#o.windowMs, pending: 0, reasons: new Set(), prefixes: new Set() });
      this.#write(address, now, 1, [reason], prefix === null ? [] : [prefix]);
      return;
    }
    w.pending++;
    if (w.reasons.size < MAX_LISTED) w.reasons.add(reason);
    if (prefix !== null && w.prefixes.size < MAX_LISTED) w.prefixes.add(prefix);
  }

  /** Writes the counts of finished windows and forgets quiet addresses. */
  flush(): void {
    const now = this.#o.clock.now();
    for (const [address, w] of this.#windows) {
      if (w.endsAt > now) continue;
      if (w.pending === 0) {
        this.#windows.delete(address);
        continue;
      }
      this.#write(address, now, w.pending, [...w.reasons], [...w.prefixes]);
      // The next window starts now and is counted, not written at once: one row a minute.
      this.#windows.set(address, { endsAt: now + this.#o.windowMs, pending: 0, reasons: new Set(), prefixes: new Set() });
    }
  }

  /** Writes what is pending and stops the timer. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const w of this.#windows.values()) w.endsAt = Math.min(w.endsAt, this.#o.clock.now());
    this.flush();
  }

  #write(address: string, at: Millis, count: number, reasons: string[], prefixes: string[]): void {
    const entry: NewAudit = {
      namespace: '*',
      at,
      actor: 'anonymous',
      ip: address === OVERFLOW ? null : address,
      action: 'auth.failed',
      targetType: 'api_key',
      targetId: prefixes.length === 1 ? prefixes[0]! : '-',
      detail: { count, reasons, prefixes, ...(address === OVERFLOW && { addresses: 'many' }) },
    };
    this.#o.store.appendAudit(entry).catch((err: unknown) => this.#o.onError?.(err));
  }
}
