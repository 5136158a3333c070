// Where an http task may point, checked when it is created or changed: a task aimed at loopback,
// a private network or a cloud metadata service would only ever fail at run time (the outbound
// guard refuses the connection), and accepting it invites probing. So the URL's host goes through
// the same guard, with the same allow-list (SUNDIAL_OUTBOUND_ALLOW), and is refused with 400.
// Names are not resolved here (DNS can change until run time, where every connection is checked
// again), except `localhost` and `*.localhost`, which always mean loopback (RFC 6761).

import type { FieldError } from '../core/errors.js';
import type { OutboundGuard } from '../executor/outbound-guard.js';

/** Field errors for an http spec's URL host (none when the URL itself is malformed: that is reported elsewhere). */
export function httpTargetErrors(spec: unknown, guard: Pick<OutboundGuard, 'checkHost' | 'checkAddress'>): FieldError[] {
  const url = (spec as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') return [];
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return [];
  }
  const bare = host.toLowerCase().replace(/\.$/, '');
  const refusal = bare === 'localhost' || bare.endsWith('.localhost') ? guard.checkAddress(bare, '127.0.0.1') : guard.checkHost(host);
  return refusal === null ? [] : [{ path: '/spec/url', message: refusal.message }];
}
