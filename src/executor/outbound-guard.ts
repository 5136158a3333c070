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
import { BlockList, isIP, isIPv4 } from 'node:net';
import { SundialError } from '../core/errors.js';
import { matches, normaliseHost, parseEntry, parseV4, parseV6, unmapV4, validateOutboundAllow } from '../core/outbound-allow.js';

export { validateOutboundAllow };

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

// ---- address classes ------------------------------------------------------------------------

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

// ---- names ----------------------------------------------------------------------------------

/** Names of cloud metadata services, refused before any DNS lookup. */
const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

// ---- allow-list -----------------------------------------------------------------------------

interface AllowList {
  addresses: BlockList;
  hosts: Set<string>;
  /** `*.example.com` entries, stored as `.example.com`. */
  suffixes: string[];
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
