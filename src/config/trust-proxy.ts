// Which reverse proxies may tell Sundial who the client is. Behind a proxy every request comes
// from the proxy's address, so audit rows (and later rate limits) would all name the proxy; the
// proxy's X-Forwarded-For names the client. But any client can send that header itself, so it is
// believed only from the addresses listed here (Fastify's trustProxy, through proxy-addr): the
// client address is the nearest one in the chain that is not a trusted proxy.

import { isIP } from 'node:net';
import type { FieldError } from '../core/errors.js';

/** proxy-addr's names for ranges. */
const NAMED_RANGES: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Field errors of a trustProxy list: addresses, CIDR ranges or the three named ranges. */
export function validateTrustProxy(list: readonly string[], path = 'trustProxy'): FieldError[] {
  const errors: FieldError[] = [];
  for (const entry of list) {
    if (NAMED_RANGES.has(entry)) continue;
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 4 ? 32 : 128;
    const bitsOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || rest.length > 0) {
      errors.push({ path, message: `"${entry}" is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal` });
    }
  }
  return errors;
}
