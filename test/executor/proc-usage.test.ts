// /proc readings: one process, trees, groups, namespaces, environment markers, and the tree
// sampler's handling of children that exit between samples. Real processes throughout.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  clockTicksPerSecond,
  findProcessesByEnv,
  hasEnvEntry,
  listChildren,
  listPidNamespace,
  listProcessGroup,
  listProcessTree,
  listSession,
  parseIo,
  parseStatLine,
  probeWriteAccounting,
  processExists,
  ProcessTreeSampler,
  readProcUsage,
} from '../../src/executor/proc-usage.js';
import { waitFor } from './helpers.js';

const started: ChildProcess[] = [];
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess {
  const c = spawn(cmd, args, { stdio: 'ignore', ...opts });
  started.push(c);
  return c;
}

function exited(c: ChildProcess): Promise<void> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
}

/** The system interpreter: a version manager's shim would add processes of its own to the tree. */
const PYTHON = '/usr/bin/python3';
const BURN = 'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done';

describe('readProcUsage', () => {
  it('uses the kernel clock-tick rate', () => {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    assert.equal(clockTicksPerSecond(), Number(r.stdout.trim()) || 100);
  });

  it('reads this process: CPU, RSS, its peak, its parent', () => {
    const u = readProcUsage(process.pid);
    assert.ok(u);
    assert.equal(u.pid, process.pid);
    assert.equal(u.ppid, process.ppid);
    assert.ok(u.cpuMs > 0, `cpuMs ${u.cpuMs}`);
    assert.ok(u.rssBytes > 10 * 1024 * 1024, `rss ${u.rssBytes}`);
    assert.ok(u.hwmBytes >= u.rssBytes);
    assert.ok(u.startTicks > 0);
  });

  it('is null for a process that is gone', async () => {
    const c = start('true', []);
    const pid = c.pid!;
    await exited(c);
    assert.equal(readProcUsage(pid), null);
    assert.equal(processExists(pid), false);
  });

  it('parses stat lines whose command name holds spaces and parentheses', () => {
    const tick = 100;
    const line = '42 (a) b (c) S 1 42 42 0 -1 4194304 0 0 0 0 150 50 300 100 20 0 1 0 999 0 0';
    assert.deepEqual(parseStatLine(line, tick), { selfCpuMs: 2000, childCpuMs: 4000 });
    assert.deepEqual(parseIo('rchar: 1\nwchar: 77\nsyscr: 1\nsyscw: 1\nread_bytes: 0\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n'), {
      writeBytes: 8192,
      wcharBytes: 77,
    });
    // `write_bytes` is also the tail of `cancelled_write_bytes`: only the real line counts.
    assert.deepEqual(parseIo('cancelled_write_bytes: 4096\n'), { writeBytes: 0, wcharBytes: 0 });
  });
});

describe('listing processes', () => {
  it('lists a tree, its children, its group and its session', async () => {
    const c = start('sh', ['-c', 'sleep 5 & sleep 5 & wait'], { detached: true });
    const pid = c.pid!;
    assert.ok(await waitFor(() => listChildren(pid).length === 2));
    const tree = listProcessTree(pid);
    assert.equal(tree[0], pid);
    assert.equal(tree.length, 3);
    assert.deepEqual([...listProcessGroup(pid)].sort(), [...tree].sort());
    assert.deepEqual([...listSession(pid)].sort(), [...tree].sort());
    process.kill(-pid, 'SIGKILL');
    await exited(c);
  });

  it('lists the members of a pid namespace', () => {
    const ns = listPidNamespace(process.pid);
    assert.ok(ns.includes(process.pid));
    assert.ok(ns.includes(process.ppid) || process.ppid === 0);
  });

  it('finds processes by an exact environment entry', async () => {
    const marker = `proc-usage-test-${process.pid}`;
    const c = start('sleep', ['5'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SUNDIAL_TEST_MARK: marker } });
    assert.ok(await waitFor(() => hasEnvEntry(c.pid!, 'SUNDIAL_TEST_MARK', marker)));
    assert.deepEqual(findProcessesByEnv('SUNDIAL_TEST_MARK', marker), [c.pid]);
    // A prefix of the value is not the value.
    assert.deepEqual(findProcessesByEnv('SUNDIAL_TEST_MARK', marker.slice(0, -1)), []);
    c.kill('SIGKILL');
    await exited(c);
  });
});

describe('ProcessTreeSampler', () => {
  const fast = () => 20;

  it('counts a reaped child once: the parent absorbs its CPU', async () => {
    // sh waits for its child burner, then lingers so its counters can be read.
    const c = start('sh', ['-c', `sh -c '${BURN}'; sleep 0.4`]);
    const sampler = new ProcessTreeSampler(c.pid!, { interval: fast }).start();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(await waitFor(() => (readProcUsage(c.pid!)?.childCpuMs ?? 0) > 0 && listChildren(c.pid!).length === 1, 10_000));
    const parent = readProcUsage(c.pid!)!;
    const s = sampler.sample();
    sampler.stop();
    await exited(c);
    assert.ok(parent.childCpuMs >= 50, `burner used ${parent.childCpuMs} ms`);
    // Counted once (not parent's cutime plus the vanished child's own).
    assert.ok(Math.abs(s.cpuMs - parent.cpuMs) <= 40, `sampler ${s.cpuMs} vs parent ${parent.cpuMs}`);
  });

  it('keeps the CPU of a child nobody in the tree reaped', async () => {
    // SIGCHLD ignored: the kernel reaps the child itself and adds nothing to the parent's cutime.
    const script = `import signal, subprocess, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
subprocess.Popen(['sh', '-c', '${BURN}'])
time.sleep(0.2)
while len(open('/proc/self/task/%d/children' % __import__('os').getpid()).read().split()) > 0: time.sleep(0.02)
time.sleep(0.3)`;
    const c = start(PYTHON, ['-c', script]);
    const sampler = new ProcessTreeSampler(c.pid!, { interval: fast }).start();
    let seenChildCpu = 0;
    while (c.exitCode === null) {
      const kids = listChildren(c.pid!);
      for (const k of kids) seenChildCpu = Math.max(seenChildCpu, readProcUsage(k)?.cpuMs ?? 0);
      if (kids.length === 0 && seenChildCpu > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const parent = readProcUsage(c.pid!);
    const s = sampler.stop();
    await exited(c);
    assert.ok(seenChildCpu >= 50, `child burned ${seenChildCpu} ms`);
    assert.ok(parent === null || parent.childCpuMs < 20, 'the parent did not absorb it');
    assert.ok(s.cpuMs >= seenChildCpu - 20, `sampler kept ${s.cpuMs} ms of the child's ${seenChildCpu}`);
  });

  it('reports the peak, samples on its interval, and stops', async () => {
    const c = start(PYTHON, ['-c', "b = bytearray(60 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(0.3); del b; time.sleep(0.3)"]);
    const seen: number[] = [];
    const sampler = new ProcessTreeSampler(c.pid!, { interval: fast, onSample: (s) => seen.push(s.rssBytes) }).start();
    await exited(c);
    const s = sampler.stop();
    assert.ok(seen.length >= 10, `${seen.length} samples`);
    assert.ok(s.peakRssBytes >= 60 * 1024 * 1024 && s.peakRssBytes < 120 * 1024 * 1024, `peak ${s.peakRssBytes}`);
    const n = seen.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.length, n, 'no samples after stop');
  });

  it('counts disk writes of the tree (where the filesystem accounts them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proc-usage-'));
    try {
      const accounted = probeWriteAccounting(dir);
      const c = start('sh', ['-c', `dd if=/dev/zero of=${dir}/f bs=1M count=8 2>/dev/null; sleep 0.3`]);
      const sampler = new ProcessTreeSampler(c.pid!, { interval: fast }).start();
      await new Promise((r) => setTimeout(r, 250));
      const s = sampler.stop();
      await exited(c);
      if (accounted) assert.ok(s.writeBytes >= 8 * 1024 * 1024, `writeBytes ${s.writeBytes}`);
      else assert.equal(s.writeBytes, 0, 'no block-layer accounting here: write_bytes stays 0');
      assert.ok(s.wcharBytes >= 8 * 1024 * 1024, `wchar ${s.wcharBytes}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
