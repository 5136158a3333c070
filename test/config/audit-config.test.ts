// The audit settings: the key's sources and checks (config/audit-key.ts), and the configuration
// that the node.start audit row records with every secret removed (config/config-snapshot.ts).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AUDIT_KEY_FILE_NAME, loadAuditKey } from '../../src/config/audit-key.js';
import { OPTIONS, resolveConfig } from '../../src/config/config.js';
import { REDACTED, configForAudit, withoutUrlSecrets } from '../../src/config/config-snapshot.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sundial-auditcfg-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const GOOD_KEY = 'k3y-0123456789-abcdefghijklmnopqrstuv';

describe('audit key', () => {
  it('on SQLite without a key, generates one into the data dir (0600) and reads it back at the next start', async () => {
    const dir = await tempDir();
    const config = resolveConfig({ env: { SUNDIAL_DATA_DIR: dir }, cwd: dir });
    const first = loadAuditKey(config);
    assert.equal(first.source, 'generated');
    assert.equal(first.path, join(dir, AUDIT_KEY_FILE_NAME));
    assert.equal((await stat(first.path)).mode & 0o777, 0o600);
    assert.equal((await readFile(first.path, 'utf8')).trim(), first.key);
    const second = loadAuditKey(config);
    assert.deepEqual([second.source, second.key], ['data-dir', first.key]);
  });

  it('takes SUNDIAL_AUDIT_KEY, or the file SUNDIAL_AUDIT_KEY_FILE names, before the data dir', async () => {
    const dir = await tempDir();
    assert.deepEqual(loadAuditKey(resolveConfig({ env: { SUNDIAL_DATA_DIR: dir, SUNDIAL_AUDIT_KEY: GOOD_KEY }, cwd: dir })), { key: GOOD_KEY, source: 'env' });
    await writeFile(join(dir, 'k'), `${GOOD_KEY}\n`);
    const fromFile = loadAuditKey(resolveConfig({ env: { SUNDIAL_DATA_DIR: dir, SUNDIAL_AUDIT_KEY_FILE: 'k' }, cwd: dir }));
    assert.deepEqual([fromFile.key, fromFile.source], [GOOD_KEY, 'file']);
  });

  it('refuses a short key without echoing it, both at once, and an unreadable file', async () => {
    const dir = await tempDir();
    assert.throws(
      () => resolveConfig({ env: { SUNDIAL_AUDIT_KEY: 'short-secret' }, cwd: dir }),
      (err: Error) => /auditKey must be at least 32 characters/.test(err.message) && !err.message.includes('short-secret'),
    );
    assert.throws(() => resolveConfig({ env: { SUNDIAL_AUDIT_KEY: GOOD_KEY, SUNDIAL_AUDIT_KEY_FILE: 'k' }, cwd: dir }), /not both/);
    await writeFile(join(dir, 'weak'), 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    assert.throws(() => loadAuditKey(resolveConfig({ env: { SUNDIAL_AUDIT_KEY_FILE: 'weak' }, cwd: dir })), /8 distinct/);
    assert.throws(() => loadAuditKey(resolveConfig({ env: { SUNDIAL_AUDIT_KEY_FILE: 'missing' }, cwd: dir })), /cannot read the audit key file/);
  });

  it('a cluster has no key unless one is set, and then refuses audit retention', async () => {
    const dir = await tempDir();
    const url = 'postgres://sundial@db/sundial';
    assert.deepEqual(loadAuditKey(resolveConfig({ env: { SUNDIAL_DATABASE_URL: url, SUNDIAL_DATA_DIR: dir }, cwd: dir })), { key: null, source: 'none' });
    assert.throws(
      () => loadAuditKey(resolveConfig({ env: { SUNDIAL_DATABASE_URL: url, SUNDIAL_AUDIT_RETENTION: '90d' }, cwd: dir })),
      /auditRetention needs an audit key on a cluster/,
    );
    assert.equal(loadAuditKey(resolveConfig({ env: { SUNDIAL_DATABASE_URL: url, SUNDIAL_AUDIT_RETENTION: '90d', SUNDIAL_AUDIT_KEY: GOOD_KEY }, cwd: dir })).key, GOOD_KEY);
  });
});

describe('configuration recorded at start', () => {
  const secrets = {
    SUNDIAL_ADMIN_TOKEN: 'sdl_admin-secret-0123456789-abcdefghijklmnopq',
    SUNDIAL_DATABASE_URL: 'postgres://sundial:db-pass-word@db.internal:5432/sundial?sslpassword=ssl-secret&application_name=x',
    SUNDIAL_INFLUX_URL: 'http://influx-user:influx-pass@influx:8086',
    SUNDIAL_INFLUX_TOKEN: 'influx-token-secret',
    SUNDIAL_SMTP_URL: 'smtps://mailer:smtp-pass@mail.example.com:465',
    SUNDIAL_AUDIT_KEY: GOOD_KEY,
    SUNDIAL_PUBLIC_URL: 'https://sundial.example.com/?token=url-token-secret',
  };

  it('keeps every option but no secret: secret-named options redacted, URLs without passwords or secret parameters', () => {
    const config = resolveConfig({ env: secrets, cwd: '/tmp' });
    const recorded = configForAudit(config);
    const text = JSON.stringify(recorded);
    for (const secret of ['admin-secret', 'db-pass-word', 'ssl-secret', 'influx-pass', 'influx-token-secret', 'smtp-pass', GOOD_KEY, 'url-token-secret']) {
      assert.ok(!text.includes(secret), `${secret} leaked`);
    }
    assert.deepEqual(Object.keys(recorded).sort(), Object.keys(OPTIONS).sort());
    assert.equal(recorded.adminToken, REDACTED);
    assert.equal(recorded.auditKey, REDACTED);
    assert.equal(recorded.influxToken, REDACTED);
    // What is not secret stays, to be useful: hosts, users, ports, paths, numbers.
    assert.equal(recorded.databaseUrl, 'postgres://sundial:redacted@db.internal:5432/sundial?sslpassword=redacted&application_name=x');
    assert.equal(recorded.smtpUrl, 'smtps://mailer:redacted@mail.example.com:465');
    assert.equal(recorded.streamsPerKey, config.streamsPerKey);
    assert.equal(recorded.port, config.port);
    assert.deepEqual(recorded.roles, config.roles);
    // Unset secrets stay visibly unset.
    assert.equal(configForAudit(resolveConfig({ env: {}, cwd: '/tmp' })).adminToken, '');
  });

  it('a URL that does not parse is dropped whole', () => {
    assert.equal(withoutUrlSecrets('postgres://user:pa ss@[bad/db'), REDACTED);
    assert.equal(withoutUrlSecrets('10.0.0.0/8'), '10.0.0.0/8');
  });
});
