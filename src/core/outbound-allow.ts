// The outbound allow-list's syntax: IP address text, host names, and the entries operators write
// in SUNDIAL_OUTBOUND_ALLOW (`api.internal`, `*.corp`, `10.1.2.3`, `10.0.0.0/8`). Pure, so config
// can validate the list without importing the executor; the guard that enforces it is
// src/executor/outbound-guard.ts.

import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { FieldError } from './errors.js';

// ---- address parsing ------------------------------------------------------------------------

/** Dotted-quad IPv4 to 4 bytes, or null. */
export function parseV4(s: string): number[] | null {
  if (!isIPv4(s)) return null;
  return s.split('.').map(Number);
}

/** Any IPv6 text form (with `::`, a trailing dotted quad, or a zone id) to 16 bytes, or null. */
export function parseV6(input: string): number[] | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!isIPv6(s)) return null;
  let v4: number[] | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  const toGroups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const head = toGroups(halves[0]);
  const tail = halves.length > 1 ? toGroups(halves[1]) : [];
  const groups = halves.length > 1 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (groups.length !== 8) return null;
  const bytes = groups.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
  if (v4 !== null) bytes.splice(12, 4, ...v4);
  return bytes;
}

/** True when the first `bits` bits of `bytes` equal those of `prefix`. */
export function matches(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** `::ffff:0:0/96`, the IPv4-mapped IPv6 prefix. */
export const V4_MAPPED_PREFIX: readonly number[] = parseV6('::ffff:0:0')!;

/** `::ffff:a.b.c.d` (any spelling) as `a.b.c.d`; other addresses unchanged. Same endpoint either way. */
export function unmapV4(address: string): string {
  const a6 = isIPv6(address) ? parseV6(address) : null;
  if (a6 !== null && matches(a6, [...V4_MAPPED_PREFIX], 96)) return a6.slice(12).join('.');
  return address;
}

// ---- names ----------------------------------------------------------------------------------

/** A URL hostname as compared here: lower case, no brackets, no trailing dot. */
export function normaliseHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

// ---- allow-list entries ---------------------------------------------------------------------

/** One allow-list entry, parsed. */
export type ParsedEntry =
  | { kind: 'cidr'; address: string; prefix: number; family: 'ipv4' | 'ipv6' }
  | { kind: 'address'; address: string; family: 'ipv4' | 'ipv6' }
  | { kind: 'host'; host: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'invalid'; message: string };

const HOST_RE = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?)*$/;

/** Parses one allow-list entry: a CIDR range, an address, a host name or a `*.` suffix. */
export function parseEntry(raw: string): ParsedEntry {
  const entry = normaliseHost(raw.trim());
  if (entry === '') return { kind: 'invalid', message: 'empty entry' };
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const address = unmapV4(entry.slice(0, slash));
    const bitsText = entry.slice(slash + 1);
    const family = isIP(address);
    const prefix = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (family === 0) return { kind: 'invalid', message: `${raw}: not an address range` };
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) return { kind: 'invalid', message: `${raw}: bad prefix length` };
    return { kind: 'cidr', address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
  }
  const family = isIP(entry);
  if (family !== 0) {
    const address = unmapV4(entry);
    return { kind: 'address', address, family: isIPv4(address) ? 'ipv4' : 'ipv6' };
  }
  if (entry.startsWith('*.') && HOST_RE.test(entry.slice(2))) return { kind: 'suffix', suffix: entry.slice(1) };
  if (HOST_RE.test(entry)) return { kind: 'host', host: entry };
  return { kind: 'invalid', message: `${raw}: not a host name, address or CIDR range` };
}

/** Field errors for an outbound allow-list (for config validation); empty when every entry is usable. */
export function validateOutboundAllow(list: readonly string[], path = '/outboundAllow'): FieldError[] {
  const errors: FieldError[] = [];
  list.forEach((raw, i) => {
    const p = parseEntry(raw);
    if (p.kind === 'invalid') errors.push({ path: `${path}/${i}`, message: p.message });
  });
  return errors;
}
