import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { UsageError } from '../../src/cli/cli-errors.js';
import { kebab, registerServeCommand, runServe, serveFlagsToSource, type ServeDeps, type StartServer } from '../../src/cli/commands/serve.js';
import { OPTIONS, type Config } from '../../src/config/config.js';

/** Fake process edges: records output, exits and the config startServer got; fires signals on demand. */
function fakeDeps(opts: { env?: Record<string, string>; closeFails?: boolean } = {}) {
  const handlers = new Map<string, () => void>();
  const rec = { out: [] as string[], err: [] as string[], exits: [] as number[], configs: [] as Config[], closes: 0 };
  let closeDone: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (closeDone = resolve));
  const startServer: StartServer = async (config, o) => {
    rec.configs.push(config);
    o?.printBootstrapKey?.('sk_boot');
    return {
      url: 'http://127.0.0.1:9000',
      close: async () => {
        rec.closes++;
        closeDone();
        if (opts.closeFails) throw new Error('store busy');
      },
    };
  };
  const deps: ServeDeps = {
    loadStartServer: async () => startServer,
    onSignal: (signal, handler) => void handlers.set(signal, handler),
    exit: (code) => void rec.exits.push(code),
    out: (t) => void rec.out.push(t),
    err: (t) => void rec.err.push(t),
    env: opts.env ?? {},
  };
  return { deps, rec, closed, signal: (s: string) => handlers.get(s)?.() };
}

describe('serve', () => {
  it('has one flag per config option, kebab-cased', () => {
    const program = new Command().exitOverride();
    registerServeCommand(program, fakeDeps().deps);
    const serve = program.commands.find((c) => c.name() === 'serve')!;
    const longs = serve.options.map((o) => o.long);
    assert.deepEqual(longs, ['--config', ...Object.keys(OPTIONS).map((k) => `--${kebab(k)}`)]);
    assert.equal(kebab('httpBodyExcerptBytes'), 'http-body-excerpt-bytes');
  });

  it('passes flags to resolveConfig, where they win over the environment', async () => {
    const { deps, rec } = fakeDeps({ env: { SUNDIAL_PORT: '7000', SUNDIAL_HOST: '0.0.0.0' } });
    const program = new Command().exitOverride();
    registerServeCommand(program, deps);
    await program.parseAsync(['serve', '--port', '9000', '--data-dir', '/tmp/sundial-d', '--shell-tasks', '--outbound-allow', '10.0.0.0/8,localhost'], {
      from: 'user',
    });
    const config = rec.configs[0]!;
    assert.equal(config.port, 9000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.dataDir, '/tmp/sundial-d');
    assert.equal(config.shellTasks, true);
    assert.deepEqual(config.outboundAllow, ['10.0.0.0/8', 'localhost']);
    assert.deepEqual(rec.out, ['Bootstrap admin API key (shown only this once; only its hash is kept):', '  sk_boot']);
    assert.deepEqual(rec.err, ['sundial listening on http://127.0.0.1:9000 (dashboard: http://127.0.0.1:9000/, API docs: http://127.0.0.1:9000/docs)']);
  });

  it('serveFlagsToSource keeps only config options', () => {
    assert.deepEqual(serveFlagsToSource({ port: '1', config: 'x.json', json: true, logLevel: undefined }), { port: '1' });
  });

  it('closes on SIGTERM and exits 0; a second signal exits 1 at once', async () => {
    const { deps, rec, closed, signal } = fakeDeps();
    await runServe({}, deps);
    signal('SIGTERM');
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(rec.closes, 1);
    assert.deepEqual(rec.exits, [0]);
    signal('SIGINT');
    assert.equal(rec.closes, 1);
    assert.deepEqual(rec.exits, [0, 1]);
  });

  it('exits 1 when closing fails', async () => {
    const { deps, rec, closed, signal } = fakeDeps({ closeFails: true });
    await runServe({}, deps);
    signal('SIGINT');
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(rec.exits, [1]);
    assert.match(rec.err.at(-1)!, /error: while stopping: store busy/);
  });

  it('turns a configuration error into a usage error listing each bad option, before loading the server', async () => {
    const { deps, rec } = fakeDeps({ env: { SUNDIAL_WORKERS: '0' } });
    await assert.rejects(
      runServe({ port: 'x' }, deps),
      (err: unknown) =>
        err instanceof UsageError &&
        err.message === 'invalid configuration\n  port (flag): must be a whole number\n  workers (SUNDIAL_WORKERS): must be between 1 and 256',
    );
    assert.equal(rec.configs.length, 0);
  });
});
