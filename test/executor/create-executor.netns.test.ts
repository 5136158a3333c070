import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import { createExecutor } from '../../src/executor/create-executor.js';
import type { Executor } from '../../src/executor/executor.js';
import { FIXTURE_TASKS, alive, httpJob, moduleJob, waitFor } from './helpers.js';
import { assertNoRouteOut } from '../helpers/netns.js';

// Run by npm test in a network namespace with no route out: a broken guard cannot leak a packet.
before(assertNoRouteOut);

/** Pids of this process's direct children, from /proc (Linux). */
function childPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 is the parent pid; field 2 (the command) may contain spaces, so split after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function newExecutor(outboundAllow: string[] = []): Executor {
  return createExecutor({
    tasksDir: FIXTURE_TASKS,
    workers: 2,
    logMaxBytes: 4096,
    resultMaxBytes: 4096,
    httpBodyExcerptBytes: 1024,
    outboundAllow,
    killGraceMs: 200,
    clock: systemClock,
    bus: new EventBus(),
  });
}

describe('createExecutor', () => {
  it('routes module and http jobs; script and shell are unsupported_task_kind', async () => {
    const server = createServer((_req, res) => res.end('pong'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const ex = newExecutor(['127.0.0.1']);
    try {
      const m = await ex.execute(moduleJob('ok.js', { payload: 'from module' }));
      assert.equal(m.status, 'succeeded');
      assert.equal(m.result, 'from module');
      const h = await ex.execute(httpJob({ url }));
      assert.equal(h.status, 'succeeded');
      assert.equal((h.result as { body: string }).body, 'pong');
      for (const kind of ['script', 'shell'] as const) {
        const o = await ex.execute({ ...moduleJob('ok.js'), kind, spec: { code: '1' } });
        assert.equal(o.status, 'failed');
        assert.equal(o.error?.code, 'unsupported_task_kind');
      }
    } finally {
      await ex.close(1000);
      await new Promise((r) => server.close(r));
    }
  });

  it('never rejects: a malformed job is a failed outcome', async () => {
    const ex = newExecutor();
    try {
      const o = await ex.execute({ ...moduleJob('ok.js'), spec: null as never });
      assert.equal(o.status, 'failed');
      const h = await ex.execute(httpJob({ url: 42 }));
      assert.equal(h.error?.code, 'invalid_spec');
    } finally {
      await ex.close(0);
    }
  });

  it('close leaves no child process and refuses later runs with shutting_down', async () => {
    const before = new Set(childPids());
    const ex = newExecutor();
    await ex.execute(moduleJob('ok.js'));
    const mine = childPids().filter((p) => !before.has(p));
    assert.equal(mine.length, 2, 'two workers');
    const running = ex.execute(moduleJob('hangs.js', { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 50));
    await ex.close(100);
    assert.equal((await running).error?.code, 'worker_lost');
    assert.ok(await waitFor(() => mine.every((p) => !alive(p)), 2000));
    assert.deepEqual(childPids().filter((p) => !before.has(p)), []);
    assert.equal((await ex.execute(moduleJob('ok.js'))).error?.code, 'shutting_down');
  });
});
