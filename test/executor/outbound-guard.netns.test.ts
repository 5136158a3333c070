// The guard is tested without sending a packet anywhere: the classifier on literals, and the
// guarded lookup over a fake resolver.
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { before, describe, it } from 'node:test';
import { SundialError } from '../../src/core/errors.js';
import {
  OutboundBlockedError,
  classifyAddress,
  createOutboundGuard,
  validateOutboundAllow,
  type BaseLookup,
} from '../../src/executor/outbound-guard.js';
import { assertNoRouteOut } from '../helpers/netns.js';

// Run by npm test in a network namespace with no route out: a broken guard cannot leak a packet.
before(assertNoRouteOut);

describe('address classifier', () => {
  const refused: [string, string][] = [
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf::1', 'link_local'],
    ['fd12::1', 'unique_local'],
    ['fc00::1', 'unique_local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'private'],
    // IPv4 inside IPv6: mapped (both spellings), translated, compatible, NAT64, 6to4.
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:0:192.168.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['64:ff9b:1::8.8.8.8', 'private'],
    ['2001:0:4136:e378::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['not-an-ip', 'invalid'],
    ['1.2.3', 'invalid'],
  ];
  for (const [addr, category] of refused) {
    it(`${addr} is ${category}`, () => assert.equal(classifyAddress(addr), category));
  }

  const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];
  for (const addr of allowed) {
    it(`${addr} is public`, () => assert.equal(classifyAddress(addr), 'public'));
  }
});

describe('outbound guard', () => {
  it('refuses private literals and metadata names unless allow-listed', () => {
    const g = createOutboundGuard([]);
    assert.equal(g.checkHost('8.8.8.8'), null);
    assert.equal(g.checkHost('example.com'), null, 'names are checked at lookup time');
    assert.equal(g.checkHost('127.0.0.1')?.category, 'loopback');
    assert.equal(g.checkHost('[::1]')?.category, 'loopback');
    assert.equal(g.checkHost('[::ffff:7f00:1]')?.category, 'loopback');
    assert.equal(g.checkHost('metadata.google.internal')?.category, 'metadata');
    assert.equal(g.checkHost('METADATA.google.internal.')?.category, 'metadata');
  });

  it('allows addresses, CIDR ranges (IPv4 and IPv6) and host names from the allow-list', () => {
    const g = createOutboundGuard(['10.1.0.0/16', '127.0.0.1', 'fd00:1::/32', 'intranet.example', '*.corp.example']);
    assert.equal(g.checkHost('10.1.2.3'), null);
    assert.equal(g.checkHost('10.2.0.1')?.category, 'private');
    assert.equal(g.checkHost('127.0.0.1'), null);
    assert.equal(g.checkHost('127.0.0.2')?.category, 'loopback');
    assert.equal(g.checkHost('[::ffff:127.0.0.1]'), null, 'the mapped form of an allowed IPv4 is the same endpoint');
    assert.equal(g.checkHost('[fd00:1:2::3]'), null);
    assert.equal(g.checkHost('[fd00:2::3]')?.category, 'unique_local');
    assert.equal(g.checkAddress('intranet.example', '10.9.9.9'), null);
    assert.equal(g.checkAddress('db.corp.example', '192.168.0.5'), null);
    assert.equal(g.checkAddress('corp.example.evil', '192.168.0.5')?.category, 'private');
  });

  it('validates the allow-list', () => {
    assert.deepEqual(validateOutboundAllow(['10.0.0.0/8', 'host.example', '::1', '*.x.example']), []);
    const errors = validateOutboundAllow(['10.0.0.0/33', 'bad host', '1.2.3.4/']);
    assert.deepEqual(errors.map((e) => e.path), ['/outboundAllow/0', '/outboundAllow/1', '/outboundAllow/2']);
    assert.throws(() => createOutboundGuard(['300.1.1.1/8']), SundialError);
  });

  function fakeDns(answers: Record<string, string[]>): BaseLookup {
    return (hostname, _opts, cb) => {
      const list = answers[hostname];
      if (!list) {
        const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        process.nextTick(cb, err, []);
        return;
      }
      process.nextTick(cb, null, list.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })));
    };
  }

  function lookup(g: ReturnType<typeof createOutboundGuard>, host: string, all: boolean): Promise<{ err: Error | null; result: unknown }> {
    return new Promise((resolve) => {
      g.lookup(host, all ? { all: true } : {}, (err, address, family) => resolve({ err, result: all ? address : [address, family] }));
    });
  }

  it('the lookup yields only permitted addresses (both callback shapes)', async () => {
    const g = createOutboundGuard([], { baseLookup: fakeDns({ 'mixed.test': ['10.0.0.5', '93.184.216.34', '::1'] }) });
    assert.deepEqual((await lookup(g, 'mixed.test', true)).result, [{ address: '93.184.216.34', family: 4 }]);
    assert.deepEqual((await lookup(g, 'mixed.test', false)).result, ['93.184.216.34', 4]);
  });

  it('a name that resolves only to refused addresses fails with OutboundBlockedError naming the address', async () => {
    const g = createOutboundGuard([], { baseLookup: fakeDns({ 'rebind.test': ['169.254.169.254'] }) });
    const { err } = await lookup(g, 'rebind.test', true);
    assert.ok(err instanceof OutboundBlockedError);
    assert.equal(err.refusal.address, '169.254.169.254');
    assert.equal(err.refusal.category, 'metadata');
    assert.match(err.message, /169\.254\.169\.254/);
  });

  it('metadata names are refused before DNS is asked; DNS errors pass through', async () => {
    let asked = 0;
    const g = createOutboundGuard([], {
      baseLookup: (h, o, cb) => {
        asked++;
        fakeDns({})(h, o, cb);
      },
    });
    assert.ok((await lookup(g, 'metadata.google.internal', true)).err instanceof OutboundBlockedError);
    assert.equal(asked, 0);
    const { err } = await lookup(g, 'nxdomain.test', true);
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOTFOUND');
  });

  it('an allow-listed host name may resolve to private addresses', async () => {
    const g = createOutboundGuard(['db.internal'], { baseLookup: fakeDns({ 'db.internal': ['10.0.0.7'] }) });
    assert.deepEqual((await lookup(g, 'db.internal', true)).result, [{ address: '10.0.0.7', family: 4 }]);
  });
});
