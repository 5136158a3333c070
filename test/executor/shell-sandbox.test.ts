// The shell sandbox: tool detection, the one-time probe, the argv it builds (nothing the task
// controls may reach a privileged step), the degraded variants, and the install script.

import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCommand,
  detectTools,
  ENV_FD,
  ENV_SCRIPT_NAME,
  envAssignments,
  findTool,
  INSTALL_HINT,
  planSandbox,
  runWrapped,
  SANDBOX_GID,
  SANDBOX_UID,
  ShellSandbox,
  type SandboxPlan,
  type WrapRequest,
} from '../../src/executor/shell/shell-sandbox.js';

const isRoot = process.getuid?.() === 0;
const LIMITS = { processes: 16, openFiles: 64, fileSizeBytes: 1 << 20, cpuSeconds: 5 };

/** bubblewrap must be installed where these tests run: fail loudly, never skip. */
function requireBwrap(): void {
  assert.ok(findTool('bwrap'), `bubblewrap (bwrap) is not installed on this machine: ${INSTALL_HINT} (as root) and run the tests again`);
}

function request(over: Partial<WrapRequest> = {}): WrapRequest {
  return {
    command: ['id', '-u'],
    workdir: '/srv/data/shell/default/task-1',
    cwd: '/srv/data/shell/default/task-1',
    env: { PATH: '/usr/bin:/bin', LD_PRELOAD: '/srv/data/shell/default/task-1/evil.so', SUNDIAL_RUN_ID: 'r1' },
    limits: LIMITS,
    network: false,
    ...over,
  };
}

describe('tools and the probe', () => {
  it('finds the tools in the system directories', () => {
    requireBwrap();
    const t = detectTools();
    assert.match(t.bwrap ?? '', /^\/(usr\/)?(s?bin|local\/bin)\/bwrap$/);
    assert.ok(t.prlimit && t.setpriv && t.env && t.sh);
  });

  it('plans bubblewrap here, once per process', async () => {
    requireBwrap();
    const p = planSandbox('bwrap');
    assert.equal(planSandbox('bwrap'), p, 'the probe runs once');
    const plan = await p;
    assert.equal(plan.unusable, null, `bubblewrap should work on this machine: ${plan.unusable}`);
    assert.equal(plan.kind, 'bwrap');
    assert.equal(plan.asRoot, isRoot);
    assert.equal(plan.uid, isRoot ? SANDBOX_UID : process.getuid?.());
    // With unprivileged user namespaces (this machine) every run gets its own.
    if (!plan.userns) assert.match(plan.degraded ?? '', /user namespaces are unavailable/);
  });

  it("warns once, through the callback, when isolation is off ('none')", async () => {
    const warnings: string[] = [];
    const sandbox = new ShellSandbox({ preference: 'none', onWarning: (m) => warnings.push(m) });
    const plan = await sandbox.plan();
    await sandbox.plan();
    assert.equal(plan.kind, 'none');
    assert.equal(plan.unusable, null);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /without filesystem\/network isolation/);
  });

  it('does not warn when all is well', async () => {
    requireBwrap();
    const warnings: string[] = [];
    const plan = await new ShellSandbox({ preference: 'bwrap', onWarning: (m) => warnings.push(m) }).plan();
    assert.deepEqual(warnings, plan.degraded === null ? [] : [plan.degraded]);
  });
});

describe('buildCommand', () => {
  const rootPlan = (over: Partial<SandboxPlan> = {}): SandboxPlan => ({
    kind: 'bwrap',
    asRoot: true,
    userns: true,
    tools: { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', setpriv: '/usr/bin/setpriv', env: '/usr/bin/env', sh: '/bin/sh', cat: '/usr/bin/cat' },
    tmpfsSize: true,
    uid: SANDBOX_UID,
    degraded: null,
    unusable: null,
    ...over,
  });

  it('keeps the task environment out of every argv and applies it last, after the privileges are gone', () => {
    const argv = buildCommand(rootPlan(), request());
    assert.ok(!argv.some((a) => a.includes('LD_PRELOAD') || a.includes('evil.so')), 'the environment travels on fd 4, not in argv');
    const envAt = argv.indexOf('/usr/bin/env');
    assert.deepEqual(argv.slice(envAt, envAt + 6), ['/usr/bin/env', '-i', '-C', request().cwd, '--', '/bin/sh']);
    assert.match(argv[envAt + 7]!, new RegExp(`eval "\\$\\(/usr/bin/cat <&${ENV_FD}\\)"`));
    assert.deepEqual(argv.slice(-3), [ENV_SCRIPT_NAME, 'id', '-u']);
    const drop = argv.indexOf(`--reuid=${SANDBOX_UID}`);
    const inner = argv.lastIndexOf('/usr/bin/bwrap');
    const prlimit = argv.indexOf('/usr/bin/prlimit');
    assert.ok(drop > 0 && drop < inner && inner < prlimit && prlimit < envAt, 'drop → user namespace → rlimits → env → command');
    for (const a of ['--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs']) assert.ok(argv.includes(a), a);
    assert.ok(argv.includes('--disable-userns'));
    assert.ok(argv.includes('--nproc=16') && argv.includes('--fsize=1048576') && argv.includes('--cpu=5:6') && argv.includes('--core=0'));
  });

  it('quotes the environment so any value survives the shell', () => {
    const env = { A: "it's", B: 'two\nlines', C: '$(touch /tmp/x) `id` \\ "q"', D: '' };
    const text = envAssignments(env);
    const r = spawnSync('/bin/sh', ['-c', 'set -a; eval "$(cat)"; for k in A B C D; do printf "%s=%s\\0" "$k" "$(printenv "$k")"; done'], { input: text, encoding: 'utf8', env: {} });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(Object.fromEntries(r.stdout.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])), env);
  });

  it('unshares the network unless asked, and binds only the task directory read-write', () => {
    const closed = buildCommand(rootPlan(), request());
    assert.ok(closed.includes('--unshare-net'));
    assert.ok(!buildCommand(rootPlan(), request({ network: true })).includes('--unshare-net'));
    const binds = closed.flatMap((a, i) => (a === '--bind' ? [closed[i + 1]] : []));
    assert.deepEqual(binds, [request().workdir]);
    assert.ok(closed.includes('--as-pid-1') && closed.includes('--die-with-parent') && closed.includes('--new-session'));
    assert.deepEqual(closed.slice(closed.indexOf('--cap-drop'), closed.indexOf('--cap-drop') + 2), ['--cap-drop', 'ALL']);
  });

  it('without user namespaces, drops straight to the rlimits', () => {
    const argv = buildCommand(rootPlan({ userns: false }), request());
    assert.equal(argv.filter((a) => a === '/usr/bin/bwrap').length, 1);
    assert.ok(argv.indexOf(`--reuid=${SANDBOX_UID}`) < argv.indexOf('/usr/bin/prlimit'));
  });

  it("without bubblewrap: setpriv, prlimit, env, and the caller's cwd", () => {
    const argv = buildCommand(rootPlan({ kind: 'none', userns: false }), request());
    assert.equal(argv[0], '/usr/bin/setpriv');
    assert.ok(!argv.includes('/usr/bin/bwrap'));
    assert.ok(!argv.includes('-C'));
    const asUser = buildCommand(rootPlan({ kind: 'none', userns: false, asRoot: false }), request());
    assert.ok(!asUser.some((a) => a.startsWith('--reuid')));
    // Outside a user namespace the process count would include the server's own threads.
    assert.ok(!asUser.some((a) => a.startsWith('--nproc')));
  });
});

describe('the built command on this machine', () => {
  async function runIn(plan: SandboxPlan, command: string[], limits = LIMITS): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'shell-sandbox-test-'));
    try {
      if (isRoot) chownSync(dir, SANDBOX_UID, SANDBOX_GID);
      const env = { PATH: '/usr/bin:/bin' };
      const argv = buildCommand(plan, request({ command, workdir: dir, cwd: dir, env, limits }));
      return await runWrapped(argv, dir, envAssignments(env));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('runs unprivileged, in its own pid namespace, without capabilities or network', async () => {
    requireBwrap();
    const plan = await planSandbox('bwrap');
    const r = await runIn(plan, ['sh', '-c', 'id -u; echo $$; grep CapEff /proc/self/status; ls /sys/class/net 2>/dev/null | wc -l']);
    assert.equal(r.code, 0, r.stderr);
    const [uid, pid, capEff, sysNet] = r.stdout.trim().split('\n');
    assert.equal(uid, String(plan.uid));
    assert.ok(Number(pid) <= 4, `pid ${pid} is small: a fresh pid namespace`);
    assert.match(capEff!, /CapEff:\s+0+$/);
    assert.equal(sysNet, '0', '/sys is not there');
  });

  it('runs without user namespaces too (root)', async (t) => {
    if (!isRoot) return t.skip('the no-user-namespace variant is for root');
    requireBwrap();
    const plan = { ...(await planSandbox('bwrap')), userns: false };
    // Without a user namespace of its own the process count is that of every uid-65534 process on
    // the machine (other tests' runs included): a roomy limit.
    const limits = { ...LIMITS, processes: 4096 };
    const r = await runIn(plan, ['sh', '-c', "id -u; awk '/Max processes/ { print $3 }' /proc/self/limits"], limits);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [String(SANDBOX_UID), '4096']);
  });
});

describe('scripts/install-sandbox-tools.sh', () => {
  const script = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../scripts/install-sandbox-tools.sh');

  it('is quiet and succeeds when bubblewrap is there', () => {
    requireBwrap();
    const r = spawnSync('sh', [script, '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  it('says what to do when it cannot install, and fails only with --require', () => {
    // A PATH with `id` and nothing else: no bwrap, no apt-get.
    const bin = mkdtempSync(join(tmpdir(), 'install-script-test-'));
    try {
      symlinkSync(findTool('id')!, join(bin, 'id'));
      const env = { PATH: bin };
      const soft = spawnSync('/bin/sh', [script], { encoding: 'utf8', env });
      assert.equal(soft.status, 0);
      assert.match(soft.stderr, /bubblewrap \(bwrap\) is not installed/);
      assert.match(soft.stderr, /apt-get install bubblewrap/);
      const hard = spawnSync('/bin/sh', [script, '--require'], { encoding: 'utf8', env });
      assert.equal(hard.status, 1);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
