// HTTPS in the server (SUNDIAL_TLS_CERT / SUNDIAL_TLS_KEY, issue 12 "behind a proxy, or TLS in the
// server"): a real listener with a certificate made here by openssl; plain HTTP is not answered,
// TLS older than 1.2 is refused, and every answer carries Strict-Transport-Security.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { HSTS } from '../../src/api/tls.js';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';

let dir: string;
let h: ApiHarness;
let port: number;
let ca: Buffer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sundial-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'cert.pem'));
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_TLS_CERT: join(dir, 'cert.pem'), SUNDIAL_TLS_KEY: join(dir, 'key.pem') } });
  h = await startApi({ config });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  port = (h.app.server.address() as AddressInfo).port;
});
after(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, headers: token === null ? {} : { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS in the server', () => {
  it('answers over HTTPS, with Strict-Transport-Security on API answers, problems and probes', async () => {
    const tasks = await get('/v1/tasks');
    assert.equal(tasks.status, 200, tasks.body);
    assert.equal(tasks.headers['strict-transport-security'], HSTS);
    const unauth = await get('/v1/tasks', null);
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers['strict-transport-security'], HSTS);
    assert.equal((await get('/healthz', null)).headers['strict-transport-security'], HSTS);
  });

  it('does not answer plain HTTP on its port', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', timeout: 3000 }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    assert.match(outcome, /^error /, outcome);
  });

  it('refuses TLS 1.1 and accepts TLS 1.2', async () => {
    const handshake = (maxVersion: 'TLSv1.1' | 'TLSv1.2'): Promise<string> =>
      new Promise((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port, ca, maxVersion, minVersion: 'TLSv1' }, () => {
          resolve(`ok ${s.getProtocol()}`);
          s.end();
        });
        s.on('error', (err) => resolve(`refused ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
    assert.match(await handshake('TLSv1.1'), /^refused/);
    assert.equal(await handshake('TLSv1.2'), 'ok TLSv1.2');
  });

  it('a certificate without its key (or a file that cannot be read) stops the start with a clear error', () => {
    assert.throws(() => resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_TLS_CERT: join(dir, 'cert.pem') } }), /tlsCert and tlsKey go together/);
    const missing = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_TLS_CERT: join(dir, 'nope.pem'), SUNDIAL_TLS_KEY: join(dir, 'key.pem') } });
    return assert.rejects(startApi({ config: missing }), /cannot read tlsCert .*nope\.pem \(ENOENT\)/);
  });
});
