// Behind a reverse proxy (issue 12, "Behind a proxy"): X-Forwarded-For names the client in audit
// rows only when the request comes from a configured proxy; anyone else's header is ignored.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { SundialError } from '../../src/core/errors.js';
import { ADMIN_TOKEN, httpTask, startApi } from '../helpers/api-harness.js';

async function auditIpOfCreate(trustProxy: string | undefined, remoteAddress: string, forwardedFor: string): Promise<string | null> {
  const env: Record<string, string> = { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', ...(trustProxy !== undefined && { SUNDIAL_TRUST_PROXY: trustProxy }) };
  const h = await startApi({ config: resolveConfig({ env }) });
  try {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/tasks',
      remoteAddress,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-forwarded-for': forwardedFor },
      payload: httpTask('proxied'),
    });
    assert.equal(res.statusCode, 201, res.body);
    const audit = (await h.call({ method: 'GET', url: '/v1/audit?action=task.create' })).json() as { items: { ip: string | null }[] };
    return audit.items[0]?.ip ?? null;
  } finally {
    await h.close();
  }
}

describe('trustProxy', () => {
  test('by default X-Forwarded-For is ignored: the audit names the socket peer', async () => {
    assert.equal(await auditIpOfCreate(undefined, '10.0.0.5', '203.0.113.7'), '10.0.0.5');
  });

  test('from a trusted proxy, the client is the nearest untrusted address of the chain', async () => {
    assert.equal(await auditIpOfCreate('10.0.0.0/8', '10.0.0.5', '203.0.113.7'), '203.0.113.7');
    // A client that prepends its own X-Forwarded-For cannot choose its address: the proxy appended the real one.
    assert.equal(await auditIpOfCreate('10.0.0.0/8', '10.0.0.5', '198.51.100.1, 203.0.113.7'), '203.0.113.7');
  });

  test('from anyone else, the header is ignored', async () => {
    assert.equal(await auditIpOfCreate('10.0.0.0/8', '192.0.2.44', '203.0.113.7'), '192.0.2.44');
  });

  test('entries that are not addresses, ranges or named ranges stop the start-up', () => {
    assert.throws(() => resolveConfig({ env: { SUNDIAL_TRUST_PROXY: 'proxy.internal' } }), (e: unknown) => e instanceof SundialError && /trustProxy/.test(e.message));
    assert.throws(() => resolveConfig({ env: { SUNDIAL_TRUST_PROXY: '10.0.0.0/40' } }), SundialError);
    assert.deepEqual(resolveConfig({ env: { SUNDIAL_TRUST_PROXY: 'loopback,10.0.0.0/8,::1' } }).trustProxy, ['loopback', '10.0.0.0/8', '::1']);
  });
});
