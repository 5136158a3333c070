// The outbound guard: which addresses `http` tasks may reach. Loopback, private, CGNAT,
// link-local, cloud metadata, unspecified, multicast, unique-local and reserved ranges are refused
// — also when written as IPv4-mapped or IPv4-embedding IPv6 — unless the operator allow-lists the
// host, the address or a CIDR range containing it.
//
// The check that matters runs on the address a socket actually connects to: `lookup` below is
// handed to undici's connector, so a name that resolves to a public address when someone checks
// and to 127.0.0.1 when the socket connects (DNS rebinding) is still refused. IP-literal hosts
// skip DNS, so the runner checks them with `checkHost` before connecting.

import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { SundialError, type FieldError } from '../core/errors.js';

/** What an address is; everything but `public` is refused unless allow-listed. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link_local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'unique_local'
  | 'reserved'
  | 'invalid';

/** Why a host or address is refused. */
export interface Refusal {
  host: string;
  address: string;
  category: AddressClass;
  message: string;
}

/** The error the guarded lookup fails a connection with; runners turn it into `outbound_blocked`. */
export class OutboundBlockedError extends Error {
  readonly code = 'ERR_OUTBOUND_BLOCKED';
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
    this.name = 'OutboundBlockedError';
  }
}

// ---- address parsing ------------------------------------------------------------------------

/** Dotted-quad IPv4 to 4 bytes, or null. */
function parseV4(s: string): number[] | null {
  if (!isIPv4(s)) return null;
  return s.split('.').map(Number);
}

/** Any IPv6 text form (with `::`, a trailing dotted quad, or a zone id) to 16 bytes, or null. */
function parseV6(input: string): number[] | null {
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
function matches(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

type Range = [prefix: number[], bits: number, category: AddressClass];

const v4 = (s: string): number[] => parseV4(s)!;
const v6 = (s: string): number[] => parseV6(s)!;

// First match wins, so the metadata address comes before the link-local range holding it.
const V4_RANGES: Range[] = [
  [v4('169.254.169.254'), 32, 'metadata'],
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('100.64.0.0'), 10, 'cgnat'],
  [v4('169.254.0.0'), 16, 'link_local'],
  [v4('192.0.0.0'), 24, 'reserved'], // IETF protocol assignments
  [v4('192.0.2.0'), 24, 'reserved'], // documentation
  [v4('198.51.100.0'), 24, 'reserved'],
  [v4('203.0.113.0'), 24, 'reserved'],
  [v4('192.88.99.0'), 24, 'reserved'], // 6to4 relay anycast
  [v4('198.18.0.0'), 15, 'reserved'], // benchmarking
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'], // includes 255.255.255.255
];

const V6_RANGES: Range[] = [
  [v6('fd00:ec2::254'), 128, 'metadata'],
  [v6('::'), 128, 'unspecified'],
  [v6('::1'), 128, 'loopback'],
  [v6('64:ff9b:1::'), 48, 'private'], // local-use NAT64 (RFC 8215)
  [v6('2001::'), 32, 'reserved'], // Teredo tunnels
  [v6('2001:db8::'), 32, 'reserved'], // documentation
  [v6('100::'), 64, 'reserved'], // discard
  [v6('fe80::'), 10, 'link_local'],
  [v6('fec0::'), 10, 'private'], // deprecated site-local
  [v6('fc00::'), 7, 'unique_local'],
  [v6('ff00::'), 8, 'multicast'],
];

/** IPv6 forms that carry an IPv4 address: [prefix, bits, byte offset of the IPv4]. */
const V4_EMBEDDINGS: [number[], number, number][] = [
  [v6('::ffff:0:0'), 96, 12], // IPv4-mapped
  [v6('::ffff:0:0:0'), 96, 12], // IPv4-translated (SIIT)
  [v6('64:ff9b::'), 96, 12], // NAT64
  [v6('::'), 96, 12], // IPv4-compatible (deprecated)
  [v6('2002::'), 16, 2], // 6to4
];

function classifyV4(bytes: number[]): AddressClass {
  for (const [prefix, bits, category] of V4_RANGES) if (matches(bytes, prefix, bits)) return category;
  return 'public';
}

/** The IPv4 address an IPv6 address carries, if it is one of the embedding forms. */
function embeddedV4(bytes: number[]): number[] | null {
  for (const [prefix, bits, at] of V4_EMBEDDINGS) {
    if (matches(bytes, prefix, bits)) return bytes.slice(at, at + 4);
  }
  return null;
}

/** Classifies an IP address literal (no brackets); anything not an address is `invalid`. */
export function classifyAddress(address: string): AddressClass {
  const a4 = parseV4(address);
  if (a4 !== null) return classifyV4(a4);
  const a6 = parseV6(address);
  if (a6 === null) return 'invalid';
  for (const [prefix, bits, category] of V6_RANGES) if (matches(a6, prefix, bits)) return category;
  const inner = embeddedV4(a6);
  return inner === null ? 'public' : classifyV4(inner);
}

/** `::ffff:a.b.c.d` (any spelling) as `a.b.c.d`; other addresses unchanged. Same endpoint either way. */
function unmapV4(address: string): string {
  const a6 = isIPv6(address) ? parseV6(address) : null;
  if (a6 !== null && matches(a6, V4_EMBEDDINGS[0]![0], 96)) return a6.slice(12).join('.');
  return address;
}

// ---- names ----------------------------------------------------------------------------------

/** Names of cloud metadata services, refused before any DNS lookup. */
const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** A URL hostname as compared here: lower case, no brackets, no trailing dot. */
function normaliseHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

// ---- allow-list -----------------------------------------------------------------------------

interface AllowList {
  addresses: BlockList;
  hosts: Set<string>;
  /** `*.example.com` entries, stored as `.example.com`. */
  suffixes: string[];
}

type ParsedEntry =
  | { kind: 'cidr'; address: string; prefix: number; family: 'ipv4' | 'ipv6' }
  | { kind: 'address'; address: string; family: 'ipv4' | 'ipv6' }
  | { kind: 'host'; host: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'invalid'; message: string };

const HOST_RE = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?)*$/;

function parseEntry(raw: string): ParsedEntry {
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

function buildAllowList(list: readonly string[]): AllowList {
  const errors = validateOutboundAllow(list);
  if (errors.length > 0) {
    throw new SundialError('validation_failed', `invalid outbound allow-list: ${errors.map((e) => e.message).join('; ')}`, { errors });
  }
  const allow: AllowList = { addresses: new BlockList(), hosts: new Set(), suffixes: [] };
  for (const raw of list) {
    const p = parseEntry(raw);
    if (p.kind === 'cidr') allow.addresses.addSubnet(p.address, p.prefix, p.family);
    else if (p.kind === 'address') allow.addresses.addAddress(p.address, p.family);
    else if (p.kind === 'host') allow.hosts.add(p.host);
    else if (p.kind === 'suffix') allow.suffixes.push(p.suffix);
  }
  return allow;
}

// ---- the guard ------------------------------------------------------------------------------

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** The shape net.connect (and so undici's connector) calls. */
export type GuardedLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) => void;
/** The DNS resolver underneath (dns.lookup by default; tests pass their own). */
export type BaseLookup = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** Decides which hosts and addresses outbound requests may reach. */
export interface OutboundGuard {
  /** Checks a URL hostname before connecting: refused names, and IP literals (which skip DNS). */
  checkHost(hostname: string): Refusal | null;
  /** Checks one address that `hostname` resolved to. */
  checkAddress(hostname: string, address: string): Refusal | null;
  /** A dns.lookup replacement that only ever yields permitted addresses; for undici's `connect.lookup`. */
  lookup: GuardedLookup;
}

/** Builds the guard for an allow-list of hosts (`api.internal`, `*.corp`), addresses and CIDR ranges. */
export function createOutboundGuard(allowList: readonly string[], opts: { baseLookup?: BaseLookup } = {}): OutboundGuard {
  const allow = buildAllowList(allowList);
  const base: BaseLookup = opts.baseLookup ?? ((h, o, cb) => dnsLookup(h, o, cb));

  const hostAllowed = (host: string): boolean => allow.hosts.has(host) || allow.suffixes.some((s) => host.endsWith(s));

  const checkAddress = (hostname: string, address: string): Refusal | null => {
    const host = normaliseHost(hostname);
    if (hostAllowed(host)) return null;
    const category = classifyAddress(address);
    if (category === 'public') return null;
    const plain = unmapV4(address);
    const family = isIPv4(plain) ? 'ipv4' : 'ipv6';
    if (category !== 'invalid' && allow.addresses.check(plain, family)) return null;
    return { host, address, category, message: `refused to connect to ${address} (${category.replace('_', '-')}) for ${host}; allow-list it in SUNDIAL_OUTBOUND_ALLOW if intended` };
  };

  const checkHost = (hostname: string): Refusal | null => {
    const host = normaliseHost(hostname);
    if (hostAllowed(host)) return null;
    if (isIP(host.split('%')[0] ?? '') !== 0) return checkAddress(host, host);
    if (METADATA_NAMES.has(host)) {
      return { host, address: host, category: 'metadata', message: `refused to connect to ${host} (a cloud metadata service)` };
    }
    return null;
  };

  const lookup: GuardedLookup = (hostname, options, callback) => {
    const early = checkHost(hostname);
    if (early !== null) {
      process.nextTick(callback, new OutboundBlockedError(early), '');
      return;
    }
    const wantAll = (options as LookupAllOptions).all === true;
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '');
        return;
      }
      let firstRefusal: Refusal | null = null;
      // Refused addresses are dropped rather than failing the whole name: what remains was
      // checked, and only it reaches the socket.
      const permitted = addresses.filter((a) => {
        const r = checkAddress(hostname, a.address);
        firstRefusal ??= r;
        return r === null;
      });
      const first = permitted[0];
      if (first === undefined) {
        const refusal = firstRefusal ?? { host: hostname, address: '', category: 'invalid' as const, message: `${hostname} resolved to no address` };
        callback(new OutboundBlockedError(refusal), '');
        return;
      }
      if (wantAll) callback(null, permitted);
      else callback(null, first.address, first.family);
    });
  };

  return { checkHost, checkAddress, lookup };
}

/** Finds an OutboundBlockedError in an error, its causes, or an AggregateError's members. */
export function findOutboundBlocked(err: unknown, depth = 0): OutboundBlockedError | null {
  if (depth > 5 || err === null || typeof err !== 'object') return null;
  if (err instanceof OutboundBlockedError) return err;
  const e = err as { cause?: unknown; errors?: unknown };
  const viaCause = findOutboundBlocked(e.cause, depth + 1);
  if (viaCause) return viaCause;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = findOutboundBlocked(inner, depth + 1);
      if (found) return found;
    }
  }
  return null;
}
