import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OPTIONS, resolveConfig } from '../../src/config/config.js';
import { SundialError } from '../../src/core/errors.js';
import { configTable } from '../../scripts/config-doc.js';

describe('resolveConfig', () => {
  it('applies defaults and resolves paths against cwd', () => {
    const c = resolveConfig({ env: {}, cwd: '/srv/x' });
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.dataDir, '/srv/x/data');
    assert.equal(c.tasksDir, '/srv/x/tasks');
    assert.equal(c.shellTasks, false);
    assert.deepEqual(c.outboundAllow, []);
    assert.ok(Object.isFrozen(c));
  });

  it('layers defaults < file < env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sundial-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ port: 9001, host: '0.0.0.0', lookahead: '2s', outboundAllow: ['10.0.0.0/8'] }));
    const c = resolveConfig({ env: { SUNDIAL_PORT: '9002', SUNDIAL_SHELL_TASKS: 'on' }, file, flags: { port: 9003 }, cwd: dir });
    assert.equal(c.port, 9003);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.lookahead, 2000);
    assert.equal(c.shellTasks, true);
    assert.deepEqual(c.outboundAllow, ['10.0.0.0/8']);
  });

  it('parses env lists and durations', () => {
    const c = resolveConfig({ env: { SUNDIAL_OUTBOUND_ALLOW: '127.0.0.1, example.internal ,', SUNDIAL_DRAIN_GRACE: '1.5s' } });
    assert.deepEqual(c.outboundAllow, ['127.0.0.1', 'example.internal']);
    assert.equal(c.drainGrace, 1500);
  });

  it('refuses bad values, naming each option and its source', () => {
    assert.throws(
      () => resolveConfig({ env: { SUNDIAL_PORT: 'eighty', SUNDIAL_LOG_LEVEL: 'loud', SUNDIAL_LEASE: '10ms' } }),
      (err: unknown) => {
        assert.ok(err instanceof SundialError);
        assert.equal(err.errors?.length, 3);
        assert.match(err.message, /port \(SUNDIAL_PORT\) must be a whole number/);
        assert.match(err.message, /logLevel \(SUNDIAL_LOG_LEVEL\) must be one of/);
        assert.match(err.message, /lease \(SUNDIAL_LEASE\) must be between/);
        return true;
      },
    );
  });

  it('refuses an outbound allow-list entry that is not a host, address or CIDR range', () => {
    assert.throws(() => resolveConfig({ env: { SUNDIAL_OUTBOUND_ALLOW: '10.0.0.0/99' } }), /outboundAllow/);
    assert.deepEqual(resolveConfig({ env: { SUNDIAL_OUTBOUND_ALLOW: '10.0.0.0/8,::1,hooks.internal' } }).outboundAllow, ['10.0.0.0/8', '::1', 'hooks.internal']);
  });

  it('refuses unknown config file keys and a non-postgres database URL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sundial-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    assert.throws(() => resolveConfig({ env: {}, file }), /unknown option "prot"/);
    assert.throws(() => resolveConfig({ env: { SUNDIAL_DATABASE_URL: 'mysql://x' } }), /postgres/);
  });

  it('leaves the InfluxDB sink off by default and checks its settings when it is on', () => {
    const off = resolveConfig({ env: {} });
    assert.equal(off.influxUrl, '');
    assert.deepEqual([off.influxDatabase, off.influxBatchSize, off.influxFlushInterval, off.influxBufferSize, off.influxTimeout], ['sundial', 5000, 1000, 100_000, 5000]);
    const on = resolveConfig({ env: { SUNDIAL_INFLUX_URL: 'http://127.0.0.1:8086', SUNDIAL_INFLUX_FLUSH_INTERVAL: '250ms', SUNDIAL_INFLUX_BUCKET: 'runs' } });
    assert.deepEqual([on.influxUrl, on.influxFlushInterval, on.influxBucket], ['http://127.0.0.1:8086', 250, 'runs']);
    assert.throws(() => resolveConfig({ env: { SUNDIAL_INFLUX_URL: 'udp://127.0.0.1:8089' } }), /influxUrl must be an http/);
    assert.throws(() => resolveConfig({ env: { SUNDIAL_INFLUX_URL: 'not a url' } }), /influxUrl/);
    assert.throws(() => resolveConfig({ env: { SUNDIAL_INFLUX_URL: 'http://h:8086', SUNDIAL_INFLUX_DATABASE: '' } }), /influxDatabase/);
    assert.throws(() => resolveConfig({ env: { SUNDIAL_INFLUX_URL: 'http://h:8086', SUNDIAL_INFLUX_BATCH_SIZE: '5000', SUNDIAL_INFLUX_BUFFER_SIZE: '1000' } }), /influxBatchSize/);
    // Off, the sink's settings are not cross-checked (an empty database is fine then).
    assert.equal(resolveConfig({ env: { SUNDIAL_INFLUX_DATABASE: '' } }).influxDatabase, '');
  });

  it('docs/configuration.md carries the generated table of every option', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(configTable()), 'regenerate the table: node --import tsx scripts/config-doc.ts');
    for (const o of Object.values(OPTIONS)) assert.ok(doc.includes(o.env));
  });
});
