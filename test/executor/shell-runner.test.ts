// The shell runner against real processes: output and exit codes, the environment, the
// sandbox's walls (files, mounts, raw sockets, network, uid), limits (processes, file size, CPU),
// ending runs (timeout, cancel, close) with every process gone, floods, and resource figures.
// Sandbox tests need bubblewrap and fail (never skip) without it.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/clock.js';
import type { LogLine } from '../../src/core/types.js';
import type { ResourceSample, RunJob } from '../../src/executor/executor.js';
import { TRUNCATED_MARKER } from '../../src/executor/log-capture.js';
import { findProcessesByEnv, probeWriteAccounting, processRunning } from '../../src/executor/proc-usage.js';
import { LINE_MAX_BYTES } from '../../src/executor/shell/shell-output.js';
import { ShellRunner, type ShellRunnerOptions } from '../../src/executor/shell/shell-runner.js';
import { findTool, INSTALL_HINT, SANDBOX_GID, SANDBOX_UID } from '../../src/executor/shell/shell-sandbox.js';
import { waitFor } from './helpers.js';

const isRoot = process.getuid?.() === 0;
let dataDir = '';
before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'shell-runner-test-'));
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

let seq = 0;
function shellJob(spec: Record<string, unknown>, over: Partial<RunJob> = {}): RunJob {
  const n = ++seq;
  return {
    runId: `shell-test-${process.pid}-${n}`,
    taskId: 'task-s',
    taskName: 'shell-fixture',
    namespace: 'default',
    attempt: 2,
    scheduledFor: Date.UTC(2026, 0, 1, 12, 0, 0),
    idempotencyKey: `task-s:${n}`,
    kind: 'shell',
    spec: spec as unknown as RunJob['spec'],
    payload: null,
    timeoutMs: 5000,
    ...over,
  };
}

interface Harness {
  runner: ShellRunner;
  lines: (job: RunJob) => LogLine[];
  text: (job: RunJob, level?: string) => string[];
  sinkCalls: { runId: string; turn: number; count: number }[];
  samples: ResourceSample[];
  warnings: string[];
}

/** Counts event-loop turns, so tests can check that the log sink is called at most once per turn. */
let turn = 0;
let ticking: NodeJS.Immediate | null = null;
before(() => {
  const tick = (): void => {
    turn++;
    ticking = setImmediate(tick);
    ticking.unref();
  };
  tick();
});
after(() => {
  if (ticking) clearImmediate(ticking);
});

function harness(over: Partial<ShellRunnerOptions> = {}): Harness {
  const logs = new Map<string, LogLine[]>();
  const sinkCalls: Harness['sinkCalls'] = [];
  const samples: ResourceSample[] = [];
  const warnings: string[] = [];
  const runner = new ShellRunner({
    enabled: true,
    dataDir,
    logMaxBytes: 256 * 1024,
    killGraceMs: 300,
    defaultLimits: {},
    maxLimits: {},
    clock: systemClock,
    sandbox: 'bwrap',
    onLogs: (job, lines) => {
      sinkCalls.push({ runId: job.runId, turn, count: lines.length });
      const all = logs.get(job.runId) ?? [];
      all.push(...lines);
      logs.set(job.runId, all);
    },
    onSample: (_job, s) => samples.push(s),
    onWarning: (m) => warnings.push(m),
    ...over,
  });
  const lines = (job: RunJob): LogLine[] => logs.get(job.runId) ?? [];
  return { runner, lines, text: (job, level) => lines(job).filter((l) => level === undefined || l.level === level).map((l) => l.message), sinkCalls, samples, warnings };
}

/** bubblewrap must be installed where these tests run: fail loudly, never skip. */
function requireBwrap(): void {
  assert.ok(findTool('bwrap'), `bubblewrap (bwrap) is not installed on this machine: ${INSTALL_HINT} (as root) and run the tests again`);
}

/** Processes still alive that carry this run's id. */
function runProcesses(job: RunJob): number[] {
  return findProcessesByEnv('SUNDIAL_RUN_ID', job.runId).filter(processRunning);
}

let h: Harness;
before(() => {
  h = harness();
});

describe('ShellRunner basics', () => {
  it('fails shell_disabled at once when shell tasks are off', async () => {
    const off = harness({ enabled: false });
    const out = await off.runner.run(shellJob({ command: ['true'] }));
    assert.equal(out.status, 'failed');
    assert.equal(out.error?.code, 'shell_disabled');
  });

  it('streams stdout as info and stderr as error lines, with the payload on stdin', async () => {
    requireBwrap();
    const payload = { greeting: 'hello', n: [1, 2, 3] };
    const job = shellJob({ command: ['sh', '-c', 'echo out-1; echo err-1 >&2; cat; printf "no newline"'] }, { payload });
    const out = await h.runner.run(job);
    assert.equal(out.status, 'succeeded', JSON.stringify(out.error));
    assert.deepEqual(out.result, { exitCode: 0 });
    assert.deepEqual(out.logs, []);
    assert.equal(out.logsTruncated, false);
    assert.deepEqual(h.text(job, 'info'), ['out-1', JSON.stringify(payload), 'no newline']);
    assert.deepEqual(h.text(job, 'error'), ['err-1']);
    for (const l of h.lines(job)) assert.ok(Math.abs(l.at - Date.now()) < 60_000);
  });

  it('batches lines: at most one sink call per event-loop turn per run', async () => {
    requireBwrap();
    const job = shellJob({ command: ['seq', '1', '30000'] });
    const out = await h.runner.run(job);
    assert.equal(out.status, 'succeeded');
    const text = h.text(job);
    assert.equal(text.length, 30000);
    assert.equal(text[29999], '30000');
    const calls = h.sinkCalls.filter((c) => c.runId === job.runId);
    assert.equal(new Set(calls.map((c) => c.turn)).size, calls.length, 'two sink calls in one turn');
  });

  it('splits lines longer than the line cap', async () => {
    requireBwrap();
    const job = shellJob({ command: ['sh', '-c', "head -c 150000 /dev/zero | tr '\\0' a"] });
    await h.runner.run(job);
    const sizes = h.text(job).map((l) => l.length);
    assert.deepEqual(sizes, [LINE_MAX_BYTES, LINE_MAX_BYTES, 150000 - 2 * LINE_MAX_BYTES]);
  });

  it('reports a non-zero exit as shell_exit with the code', async () => {
    requireBwrap();
    const out = await h.runner.run(shellJob({ command: ['sh', '-c', 'exit 3'] }));
    assert.equal(out.status, 'failed');
    assert.equal(out.error?.code, 'shell_exit');
    assert.deepEqual(out.error?.detail, { exitCode: 3, signal: null });
    assert.match(out.error!.message, /status 3/);
  });

  it('reports a program that does not exist as shell_spawn_failed', async () => {
    requireBwrap();
    const out = await h.runner.run(shellJob({ command: ['no-such-program-here'] }));
    assert.equal(out.error?.code, 'shell_spawn_failed');
    assert.match(out.error!.message, /no-such-program-here/);
  });

  it('reports a program that cannot start inside the sandbox as shell_spawn_failed', async () => {
    requireBwrap();
    const dir = join(dataDir, 'shell', 'default', 'task-badexec');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'script.sh'), '#!/no/such/interpreter\necho hi\n', { mode: 0o755 });
    const out = await h.runner.run(shellJob({ command: ['./script.sh'] }, { taskId: 'task-badexec' }));
    assert.equal(out.error?.code, 'shell_spawn_failed', JSON.stringify(out.error));
    assert.match(out.error!.message, /could not start \.\/script\.sh: not found/);
  });

  it('refuses a spec it cannot read', async () => {
    for (const spec of [{ command: [] }, { command: 'ls' }, { command: ['ls'], env: { 'BAD-NAME': 'x' } }, { command: ['ls'], env: { SUNDIAL_RUN_ID: 'x' } }, { command: ['ls'], limits: { processes: -1 } }]) {
      const out = await h.runner.run(shellJob(spec));
      assert.equal(out.error?.code, 'invalid_spec', JSON.stringify(spec));
    }
  });

  it('runs in the task directory, or a subdirectory of it, and refuses a cwd that escapes', async () => {
    requireBwrap();
    const dir = join(dataDir, 'shell', 'default', 'task-cwd');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    symlinkSync('/etc', join(dir, 'out'));
    const home = await h.runner.run(shellJob({ command: ['pwd'] }, { taskId: 'task-cwd' }));
    assert.equal(home.status, 'succeeded');
    const job = shellJob({ command: ['pwd'], cwd: 'sub' }, { taskId: 'task-cwd' });
    assert.equal((await h.runner.run(job)).status, 'succeeded');
    assert.deepEqual(h.text(job), [join(dir, 'sub')]);
    for (const [cwd, why] of [
      ['..', /may not contain '\.\.'/],
      ['sub/../..', /may not contain '\.\.'/],
      ['/etc', /must be relative/],
      ['out', /outside the task's directory/],
      ['missing', /does not exist/],
    ] as const) {
      const out = await h.runner.run(shellJob({ command: ['pwd'], cwd }, { taskId: 'task-cwd' }));
      assert.equal(out.error?.code, 'shell_spawn_failed', cwd);
      assert.match(out.error!.message, why);
    }
  });

  it('gives the command only the allow-listed environment', async () => {
    requireBwrap();
    process.env.SUNDIAL_SECRET_CANARY = 'do-not-leak';
    try {
      const job = shellJob({ command: ['env'], env: { MY_SETTING: 'on', PATH: '/usr/bin:/bin' } }, { taskName: 'env-check' });
      const out = await h.runner.run(job);
      assert.equal(out.status, 'succeeded');
      const env = Object.fromEntries(h.text(job).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      assert.deepEqual(Object.keys(env).sort(), [
        'HOME', 'LANG', 'MY_SETTING', 'PATH', 'SUNDIAL_ATTEMPT', 'SUNDIAL_IDEMPOTENCY_KEY', 'SUNDIAL_RUN_ID',
        'SUNDIAL_SCHEDULED_FOR', 'SUNDIAL_TASK_ID', 'SUNDIAL_TASK_NAME', 'TMPDIR',
      ]);
      assert.equal(env.PATH, '/usr/bin:/bin');
      assert.equal(env.HOME, join(dataDir, 'shell', 'default', 'task-s'));
      assert.equal(env.TMPDIR, '/tmp');
      assert.equal(env.LANG, 'C.UTF-8');
      assert.equal(env.SUNDIAL_RUN_ID, job.runId);
      assert.equal(env.SUNDIAL_TASK_NAME, 'env-check');
      assert.equal(env.SUNDIAL_ATTEMPT, '2');
      assert.equal(env.SUNDIAL_SCHEDULED_FOR, '2026-01-01T12:00:00.000Z');
      assert.equal(env.SUNDIAL_IDEMPOTENCY_KEY, job.idempotencyKey);
      assert.ok(!h.text(job).some((l) => l.includes('do-not-leak')));
    } finally {
      delete process.env.SUNDIAL_SECRET_CANARY;
    }
  });
});

describe('ShellRunner secrets', () => {
  it('passes the task environment to the command without putting it in any argv', async () => {
    requireBwrap();
    const token = `tok-${process.pid}-${Date.now()}-secret`;
    const job = shellJob({ command: ['sh', '-c', 'echo "$API_TOKEN"; sleep 0.4'], env: { API_TOKEN: token } });
    const done = h.runner.run(job);
    const inArgv: string[] = [];
    assert.ok(await waitFor(() => runProcesses(job).length > 0));
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(token)) inArgv.push(pid);
      } catch {
        // gone
      }
    }
    const out = await done;
    assert.equal(out.status, 'succeeded');
    assert.deepEqual(h.text(job), [token]);
    assert.deepEqual(inArgv, [], 'the token is in the argv of these processes');
  });
});

describe('ShellRunner sandbox walls', () => {
  before(() => requireBwrap());

  /** Runs a command; returns the outcome and its output. */
  async function attempt(command: string[], over: Partial<RunJob> = {}, runner = h): Promise<{ status: string; code: string | undefined; out: string }> {
    const job = shellJob({ command }, over);
    const o = await runner.runner.run(job);
    return { status: o.status, code: o.error?.code, out: runner.text(job).join('\n') };
  }

  it('runs as an unprivileged user when the server is root', async () => {
    const r = await attempt(['id', '-u']);
    assert.equal(r.status, 'succeeded');
    if (isRoot) assert.equal(r.out, String(SANDBOX_UID));
    else assert.equal(r.out, String(process.getuid?.()));
  });

  it('runs below the server\'s CPU priority (nice 10)', async () => {
    const r = await attempt(['nice']);
    assert.equal(r.status, 'succeeded');
    assert.equal(r.out, '10');
  });

  it('cannot see the database or other tasks', async () => {
    writeFileSync(join(dataDir, 'sundial.db'), 'CANARY-DATABASE');
    const other = join(dataDir, 'shell', 'default', 'task-other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'secret'), 'CANARY-OTHER-TASK');
    for (const path of [join(dataDir, 'sundial.db'), join(other, 'secret'), '/etc/shadow', '/root/.bashrc']) {
      const r = await attempt(['cat', path]);
      assert.equal(r.status, 'failed', path);
      assert.equal(r.code, 'shell_exit');
      assert.ok(!r.out.includes('CANARY'), r.out);
    }
    const ls = await attempt(['ls', '-a', join(dataDir, 'shell', 'default')]);
    assert.deepEqual(ls.out.split('\n').sort(), ['.', '..', 'task-s']);
  });

  it('cannot write outside its directory', async () => {
    const marker = `escape-${process.pid}`;
    for (const path of [join(dataDir, marker), `/usr/${marker}`, `/etc/${marker}`, `/${marker}`]) {
      const r = await attempt(['touch', path]);
      assert.equal(r.status, 'failed', path);
      assert.equal(existsSync(path), false, path);
    }
    // /tmp is writable, and private.
    const tmp = await attempt(['sh', '-c', `echo hi > /tmp/${marker} && cat /tmp/${marker}`]);
    assert.equal(tmp.out, 'hi');
    assert.equal(existsSync(`/tmp/${marker}`), false);
    // Its own directory is writable.
    assert.equal((await attempt(['sh', '-c', 'echo kept > kept.txt && cat kept.txt'])).out, 'kept');
  });

  it('cannot mount, open raw sockets, or reach the network', async () => {
    const mount = await attempt(['mount', '-t', 'tmpfs', 'x', '/mnt']);
    assert.equal(mount.status, 'failed');
    const raw = await attempt(['python3', '-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)']);
    assert.equal(raw.status, 'failed');
    assert.match(raw.out, /Operation not permitted/);
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = createServer((s) => s.end('hello from the host\n'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    after(() => server.close());

    const connect = (): string[] => ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected && cat <&3`];

    it('has none by default: the host loopback is not reachable', async () => {
      const r = await attempt(connect());
      assert.equal(r.status, 'failed');
      assert.match(r.out, /Connection refused|Network is unreachable/);
    });

    it('shares the host network with network: true', async () => {
      const r = await attempt(connect(), {}, harness({ network: true }));
      assert.equal(r.status, 'succeeded', r.out);
      assert.equal(r.out, 'connected\nhello from the host');
    });
  });
});

describe('ShellRunner limits', () => {
  before(() => requireBwrap());

  it('clamps task limits to the maxima and applies defaults', async () => {
    const limited = harness({ defaultLimits: { openFiles: 100 }, maxLimits: { processes: 20, fileSizeBytes: 4096 } });
    const job = shellJob({ command: ['sh', '-c', "awk '/Max (processes|open files|file size|cpu time)/ { print $(NF-2) }' /proc/self/limits"], limits: { processes: 1000 } }, { timeoutMs: 2500 });
    const out = await limited.runner.run(job);
    assert.equal(out.status, 'succeeded', JSON.stringify(out.error));
    // cpu time (s), file size (bytes), processes, open files, in /proc/self/limits order
    assert.deepEqual(limited.text(job), ['3', '4096', '20', '100']);
  });

  it('contains a fork bomb and leaves nothing behind at the timeout', async () => {
    const job = shellJob(
      { command: ['python3', '-c', "import subprocess, time; subprocess.Popen(['bash', '-c', ':(){ :|:& };:']); time.sleep(60)"], limits: { processes: 24 } },
      { timeoutMs: 1500 },
    );
    const done = h.runner.run(job);
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, runProcesses(job).length)), 50);
    const out = await done;
    clearInterval(watch);
    assert.equal(out.status, 'timed_out');
    assert.ok(most > 3, `the bomb ran (${most} processes seen)`);
    assert.ok(most <= 24, `at most the process limit: saw ${most}`);
    assert.deepEqual(runProcesses(job), []);
  });

  it('names the file size limit when a write passes it', async () => {
    const out = await h.runner.run(shellJob({ command: ['dd', 'if=/dev/zero', 'of=big', 'bs=1M', 'count=4'], limits: { fileSizeBytes: 1024 * 1024 } }));
    assert.equal(out.error?.code, 'shell_exit');
    assert.deepEqual(out.error?.detail, { exitCode: 128 + 25, signal: 'SIGXFSZ' });
    assert.match(out.error!.message, /file size limit \(1048576 bytes/);
  });

  it('names the CPU time limit when a process passes it', async () => {
    const out = await h.runner.run(shellJob({ command: ['python3', '-c', 'while True: pass'], limits: { cpuSeconds: 1 } }, { timeoutMs: 5000 }));
    assert.equal(out.error?.code, 'shell_exit');
    assert.deepEqual(out.error?.detail, { exitCode: 128 + 24, signal: 'SIGXCPU' });
    assert.match(out.error!.message, /CPU time limit \(1 s/);
  });
});

describe('ShellRunner ending runs', () => {
  before(() => requireBwrap());

  it('kills orphans (nohup, setsid, double fork) when the command ends', async () => {
    const job = shellJob({ command: ['sh', '-c', 'nohup sleep 1000 >/dev/null 2>&1 & setsid sleep 1001 >/dev/null 2>&1 & (sh -c "sleep 1002 &" &) ; sleep 0.5'] });
    const done = h.runner.run(job);
    const seen = new Set<number>();
    const watch = setInterval(() => runProcesses(job).forEach((p) => seen.add(p)), 30);
    const out = await done;
    clearInterval(watch);
    assert.equal(out.status, 'succeeded');
    assert.ok(seen.size >= 4, `saw the orphans (${seen.size} processes)`);
    assert.ok(await waitFor(() => [...seen].every((p) => !processRunning(p)), 1000), 'every process of the run is gone within 1 s');
    assert.deepEqual(runProcesses(job), []);
  });

  it('times out: SIGTERM first, the outcome once everything is gone', async () => {
    const job = shellJob({ command: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; sleep 100 & wait'] }, { timeoutMs: 400 });
    const t0 = Date.now();
    const out = await harness({ killGraceMs: 5000 }).runner.run(job);
    assert.equal(out.status, 'timed_out');
    assert.equal(out.error?.code, 'timeout');
    assert.ok(Date.now() - t0 < 3000, 'ended by SIGTERM, well before the grace period');
    assert.deepEqual(runProcesses(job), []);
  });

  it('times out a command that ignores SIGTERM: SIGKILL after the grace period', async () => {
    const job = shellJob({ command: ['sh', '-c', 'trap "" TERM; sleep 100 & sleep 100 & wait; wait'] }, { timeoutMs: 300 });
    const t0 = Date.now();
    const out = await h.runner.run(job);
    const took = Date.now() - t0;
    assert.equal(out.status, 'timed_out');
    assert.ok(took >= 550 && took < 3000, `took ${took} ms (timeout 300 + grace 300)`);
    assert.deepEqual(runProcesses(job), []);
  });

  it('cancels', async () => {
    const job = shellJob({ command: ['sleep', '100'] });
    const done = h.runner.run(job);
    assert.ok(await waitFor(() => runProcesses(job).length > 0));
    assert.equal(h.runner.cancel(job.runId), true);
    assert.equal(h.runner.cancel('no-such-run'), false);
    const out = await done;
    assert.equal(out.status, 'cancelled');
    assert.equal(out.error?.code, 'cancelled');
    assert.deepEqual(runProcesses(job), []);
    assert.equal(h.runner.cancel(job.runId), false);
  });

  it('survives an output flood: capped log, marker once, bounded memory, ends at the timeout', async () => {
    const flood = harness({ logMaxBytes: 64 * 1024 });
    const job = shellJob({ command: ['yes'] }, { timeoutMs: 1000 });
    const heapBefore = process.memoryUsage().heapUsed;
    const out = await flood.runner.run(job);
    assert.equal(out.status, 'timed_out');
    assert.equal(out.logsTruncated, true);
    const lines = flood.text(job);
    assert.equal(lines.filter((l) => l === TRUNCATED_MARKER).length, 1);
    assert.equal(lines.at(-1), TRUNCATED_MARKER);
    const bytes = lines.slice(0, -1).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    assert.ok(bytes <= 64 * 1024, `${bytes} bytes kept`);
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'the flood did not pile up in memory');
    assert.deepEqual(runProcesses(job), []);
  });

  it('closes: refuses new runs, stops running ones as shutting_down', async () => {
    const closing = harness();
    const job = shellJob({ command: ['sleep', '100'] });
    const done = closing.runner.run(job);
    assert.ok(await waitFor(() => runProcesses(job).length > 0));
    await closing.runner.close(100);
    const out = await done;
    assert.equal(out.status, 'failed');
    assert.equal(out.error?.code, 'shutting_down');
    assert.deepEqual(runProcesses(job), []);
    assert.equal((await closing.runner.run(shellJob({ command: ['true'] }))).error?.code, 'shutting_down');
  });
});

describe('ShellRunner resource figures', () => {
  before(() => requireBwrap());

  it('reports the CPU of a ~0.5 s burn', async () => {
    const out = await h.runner.run(shellJob({ command: ['sh', '-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'] }));
    assert.equal(out.status, 'succeeded');
    assert.ok(out.cpuMs !== null && out.cpuMs >= 200 && out.cpuMs <= 3000, `cpuMs ${out.cpuMs}`);
  });

  it('reports the peak memory of a 100 MB allocation', async () => {
    const out = await h.runner.run(shellJob({ command: ['python3', '-c', "b=bytearray(100*1024*1024); b[::4096]=b'x'*len(b[::4096]); import time; time.sleep(0.3)"] }));
    assert.equal(out.status, 'succeeded');
    const mb = (out.peakRssBytes ?? 0) / 1e6;
    assert.ok(mb >= 100 && mb <= 200, `peakRssBytes ${out.peakRssBytes}`);
  });

  it('reports disk writes: 20 MB written to a file (block-layer write_bytes)', async () => {
    const out = await h.runner.run(shellJob({ command: ['dd', 'if=/dev/zero', 'of=twenty', 'bs=1M', 'count=20'] }));
    assert.equal(out.status, 'succeeded');
    if (probeWriteAccounting(dataDir)) assert.ok((out.diskWriteBytes ?? 0) >= 20 * 1024 * 1024, `diskWriteBytes ${out.diskWriteBytes}`);
    // Documented: where the filesystem does not account block writes, the figure is unknown.
    else assert.equal(out.diskWriteBytes, null);
  });

  it('reports something even for a command of a few milliseconds', async () => {
    const out = await h.runner.run(shellJob({ command: ['true'] }));
    assert.equal(out.status, 'succeeded');
    assert.ok(out.cpuMs !== null && out.cpuMs >= 0);
    assert.ok((out.peakRssBytes ?? 0) > 0);
    assert.ok(out.diskWriteBytes === null || out.diskWriteBytes >= 0);
  });

  it('samples runs longer than a second about once a second', async () => {
    const sampled = harness();
    const job = shellJob({ command: ['sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1.2'] });
    const t0 = Date.now();
    const out = await sampled.runner.run(job);
    assert.equal(out.status, 'succeeded');
    assert.ok(sampled.samples.length >= 1 && sampled.samples.length <= 3, `${sampled.samples.length} samples`);
    const s = sampled.samples[0]!;
    assert.ok(s.at >= t0 + 900 && s.at <= Date.now());
    assert.ok(s.cpuMs > 0 && s.rssBytes > 0 && s.diskWriteBytes >= 0);
    assert.ok(s.cpuMs <= (out.cpuMs ?? 0));
  });
});

describe("ShellRunner without bubblewrap (sandbox: 'none')", () => {
  let none: Harness;
  before(() => {
    // Without a user namespace per run, RLIMIT_NPROC counts every uid-65534 process on the
    // machine, other tests' runs included: roomy limits.
    none = harness({ sandbox: 'none', defaultLimits: { processes: 2048 } });
  });

  it('warns once that isolation is off', async () => {
    await none.runner.run(shellJob({ command: ['true'] }));
    await none.runner.run(shellJob({ command: ['true'] }));
    assert.equal(none.warnings.length, 1);
    assert.match(none.warnings[0]!, /without filesystem\/network isolation/);
  });

  it('still drops privileges, limits and filters the environment', async () => {
    process.env.SUNDIAL_SECRET_CANARY = 'do-not-leak';
    try {
      const job = shellJob({ command: ['sh', '-c', 'id -u; env | grep -c SECRET_CANARY; awk "/Max processes/ { print \\$3 }" /proc/self/limits'], limits: { processes: 1500 } });
      const out = await none.runner.run(job);
      assert.equal(out.status, 'succeeded', JSON.stringify(out.error));
      const [uid, canaries, nproc] = none.text(job);
      assert.equal(uid, String(isRoot ? SANDBOX_UID : process.getuid?.()));
      assert.equal(canaries, '0');
      // Not root, outside any user namespace, the count would include the server's own threads: not set.
      if (isRoot) assert.equal(nproc, '1500');
      else assert.notEqual(nproc, '1500');
    } finally {
      delete process.env.SUNDIAL_SECRET_CANARY;
    }
  });

  it('kills the group and the escaped orphans at the end', async () => {
    const job = shellJob({ command: ['sh', '-c', 'sleep 1000 & setsid sleep 1001 >/dev/null 2>&1 & (sh -c "sleep 1002 >/dev/null 2>&1 &" &); sleep 0.3'] });
    const done = none.runner.run(job);
    const seen = new Set<number>();
    const watch = setInterval(() => runProcesses(job).forEach((p) => seen.add(p)), 30);
    const out = await done;
    clearInterval(watch);
    assert.equal(out.status, 'succeeded');
    assert.ok(seen.size >= 4, `saw ${seen.size} processes`);
    assert.deepEqual(runProcesses(job), [], 'gone when the outcome resolves');
    assert.ok([...seen].every((p) => !processRunning(p)));
  });

  it('kills the group and the escaped orphans at the timeout', async () => {
    const job = shellJob({ command: ['sh', '-c', 'setsid sh -c "trap \\"\\" TERM; sleep 1000" >/dev/null 2>&1 & sleep 1001'] }, { timeoutMs: 400 });
    const out = await none.runner.run(job);
    assert.equal(out.status, 'timed_out');
    assert.deepEqual(runProcesses(job), []);
  });

  it('reports the same resource figures', async () => {
    const out = await none.runner.run(shellJob({ command: ['sh', '-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'] }));
    assert.ok(out.cpuMs !== null && out.cpuMs >= 200 && out.cpuMs <= 3000, `cpuMs ${out.cpuMs}`);
  });
});

describe('the task directory', () => {
  it('is owned by the sandbox user (as root), mode 0700', async () => {
    requireBwrap();
    await h.runner.run(shellJob({ command: ['true'] }, { taskId: 'task-owner' }));
    const st = statSync(join(dataDir, 'shell', 'default', 'task-owner'));
    assert.equal(st.uid, isRoot ? SANDBOX_UID : process.getuid?.());
    assert.equal(st.gid, isRoot ? SANDBOX_GID : process.getgid?.());
    assert.equal(st.mode & 0o777, 0o700);
    // The levels above: traverse only, so no task can list the others'.
    assert.equal(statSync(join(dataDir, 'shell', 'default')).mode & 0o777, 0o711);
  });
});
