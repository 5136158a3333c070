// Issue 12, hole 2: shell tasks never run unisolated unless the operator says so, secrets leave
// the server's environment once the config has read them, and `module` workers are forked with
// an explicit, minimal environment (a module task cannot read SUNDIAL_ADMIN_TOKEN).
import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { runServe, type ServeDeps } from '../../src/cli/commands/serve.js';
import { removeSecretsFromEnv } from '../../src/config/secret-env.js';
import { systemClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import { ModulePool } from '../../src/executor/module/module-pool.js';
import { detectTools, probeSandbox } from '../../src/executor/shell/shell-sandbox.js';
import { FIXTURE_TASKS, moduleJob } from './helpers.js';

setMaxListeners(Infinity);

describe('the shell sandbox fails closed', () => {
  it("'auto' without bubblewrap refuses shell runs and says how to opt out", async () => {
    const plan = await probeSandbox('auto', { ...detectTools(), bwrap: null });
    assert.ok(plan.unusable !== null, 'shell runs must be refused');
    assert.match(plan.unusable, /bubblewrap \(bwrap\) not found/);
    assert.match(plan.unusable, /SUNDIAL_SHELL_SANDBOX=none/);
  });

  it("'auto' with a bubblewrap that does not work refuses shell runs too", async () => {
    const plan = await probeSandbox('auto', { ...detectTools(), bwrap: '/bin/false' });
    assert.ok(plan.unusable !== null, 'shell runs must be refused');
    assert.match(plan.unusable, /bubblewrap cannot create a sandbox here/);
  });

  it("only 'none', the operator's explicit choice, runs commands without isolation (with a warning)", async () => {
    const plan = await probeSandbox('none', { ...detectTools(), bwrap: null });
    assert.equal(plan.kind, 'none');
    assert.equal(plan.unusable, null);
    assert.match(plan.degraded ?? '', /without filesystem\/network isolation/);
  });
});

describe('secrets leave the environment', () => {
  it('removeSecretsFromEnv drops the admin token, database URL, sink and mail credentials, keeps the rest', () => {
    const env: Record<string, string | undefined> = {
      SUNDIAL_ADMIN_TOKEN: 'a',
      SUNDIAL_DATABASE_URL: 'postgres://u:p@h/db',
      SUNDIAL_INFLUX_TOKEN: 't',
      SUNDIAL_SMTP_URL: 'smtp://u:p@h',
      SUNDIAL_WEBHOOK_SECRET: 's',
      SUNDIAL_PORT: '8080',
      PATH: '/usr/bin',
    };
    assert.deepEqual(removeSecretsFromEnv(env), ['SUNDIAL_ADMIN_TOKEN', 'SUNDIAL_DATABASE_URL', 'SUNDIAL_INFLUX_TOKEN', 'SUNDIAL_SMTP_URL', 'SUNDIAL_WEBHOOK_SECRET']);
    assert.deepEqual(env, { SUNDIAL_PORT: '8080', PATH: '/usr/bin' });
  });

  it('sundial serve removes them after resolving the config, which keeps them', async () => {
    const env: Record<string, string | undefined> = { SUNDIAL_ADMIN_TOKEN: 'sdl_Qx7vR2mK9pL4wN8tY3zB6cF1hJ5dG0sA', SUNDIAL_INFLUX_TOKEN: 'influx-t', SUNDIAL_PORT: '7001' };
    let seen: { adminToken: string; influxToken: string } | null = null;
    let envAtStart: Record<string, string | undefined> = {};
    const deps: ServeDeps = {
      loadStartServer: async () => async (config) => {
        seen = config;
        envAtStart = { ...env };
        return { url: 'http://127.0.0.1:7001', close: async () => undefined };
      },
      onSignal: () => undefined,
      exit: () => undefined,
      out: () => undefined,
      err: () => undefined,
      env,
    };
    await runServe({}, deps);
    assert.equal(seen!.adminToken, 'sdl_Qx7vR2mK9pL4wN8tY3zB6cF1hJ5dG0sA');
    assert.equal(seen!.influxToken, 'influx-t');
    assert.deepEqual(envAtStart, { SUNDIAL_PORT: '7001' });
  });
});

describe('module workers get an explicit, minimal environment', () => {
  const saved = { ...process.env };
  let pool: ModulePool;
  before(async () => {
    // As if the server had not scrubbed (or the operator exported more): none of it may pass.
    process.env.SUNDIAL_ADMIN_TOKEN = 'sdl_must-not-reach-a-module-0123456789abcdef';
    process.env.NODE_OPTIONS = '--require /nonexistent-preload.cjs';
    process.env.AWS_SECRET_ACCESS_KEY = 'aws-secret';
    process.env.MODULE_VISIBLE = 'yes';
    pool = new ModulePool({
      tasksDir: FIXTURE_TASKS,
      workers: 1,
      logMaxBytes: 4096,
      resultMaxBytes: 1 << 20,
      clock: systemClock,
      bus: new EventBus(),
      onChildOutput: () => {},
      passEnv: ['MODULE_VISIBLE', 'SUNDIAL_ADMIN_TOKEN', 'NODE_OPTIONS'],
    });
    await pool.ready();
  });
  after(async () => {
    await pool.close(1000);
    for (const k of ['SUNDIAL_ADMIN_TOKEN', 'NODE_OPTIONS', 'AWS_SECRET_ACCESS_KEY', 'MODULE_VISIBLE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('a module task cannot read SUNDIAL_ADMIN_TOKEN (even if allow-listed), NODE_OPTIONS or other variables', async () => {
    const o = await pool.run(moduleJob('env.js'));
    assert.equal(o.status, 'succeeded', JSON.stringify(o.error));
    const env = o.result as Record<string, string>;
    assert.equal(env.SUNDIAL_ADMIN_TOKEN, undefined);
    assert.equal(env.NODE_OPTIONS, undefined);
    assert.equal(env.AWS_SECRET_ACCESS_KEY, undefined);
    assert.equal(env.MODULE_VISIBLE, 'yes');
    const allowed = new Set(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'MODULE_VISIBLE']);
    const extra = Object.keys(env).filter((k) => !allowed.has(k));
    assert.deepEqual(extra, [], `unexpected variables in the worker: ${extra.join(', ')}`);
    assert.doesNotMatch(JSON.stringify(o.result), /must-not-reach|aws-secret/);
  });
});
