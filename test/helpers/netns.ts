// For `*.netns.test.ts` files, which scripts/run-tests.mjs runs in a network namespace that has
// only a loopback interface: proves the isolation is there before a test relies on it, so a
// broken outbound guard could not have sent a packet anywhere.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/** Addresses a broken guard might reach: private, link-local (cloud metadata), public. */
const PROBES = ['10.255.255.1', '169.254.169.254', '192.0.2.1'];

/**
 * Fails unless this process sees no network interface but loopback, and a connect to
 * non-loopback addresses is refused by the kernel (no route). The interface check comes first,
 * so outside the namespace nothing is sent.
 */
export async function assertNoRouteOut(): Promise<void> {
  const interfaces = Object.keys(networkInterfaces());
  assert.deepEqual(interfaces, ['lo'], `only loopback may exist in this test's network namespace (found ${interfaces.join(', ')}); run it through npm test`);
  for (const host of PROBES) {
    const code = await new Promise<string>((resolve) => {
      const socket = connect({ host, port: 80 });
      socket.setTimeout(2000, () => {
        socket.destroy();
        resolve('ETIMEDOUT');
      });
      socket.once('connect', () => {
        socket.destroy();
        resolve('CONNECTED');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    assert.equal(code, 'ENETUNREACH', `${host} must be unreachable in this test's network namespace (got ${code}); run it through npm test`);
  }
}
