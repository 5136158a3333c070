import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import { createExecutor } from '../../src/executor/create-executor.js';
import { listChildren } from '../../src/executor/proc-usage.js';
import type { Executor } from '../../src/executor/executor.js';
import { FIXTURE_TASKS, alive, httpJob, moduleJob, waitFor } from './helpers.js';
import { assertNoRouteOut } from '../helpers/netns.js';

// Run by npm test in a network namespace with no route out: a broken guard cannot leak a packet.
before(assertNoRouteOut);

function newExecutor(outboundAllow: string[] = [], shellDataDir?: string): Executor {
  return createExecutor({
    ...(shellDataDir !== undefined && {
      shell: { enabled: true, dataDir: shellDataDir, network: false, sandbox: 'auto' as const, maxLimits: {} },
    }),
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
  it('routes module, http and script jobs; shell is shell_disabled unless enabled', async () => {
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
      const js = await ex.execute({ ...moduleJob('ok.js'), kind: 'script', payload: 20, spec: { code: 'export default (ctx) => { console.log("in the sandbox"); return ctx.payload + 1; }' } });
      assert.equal(js.status, 'succeeded', JSON.stringify(js.error));
      assert.equal(js.result, 21);
      assert.deepEqual(js.logs.map((l) => l.message), ['in the sandbox']);
      const sh = await ex.execute({ ...moduleJob('ok.js'), kind: 'shell', spec: { command: ['true'] } });
      assert.equal(sh.status, 'failed');
      assert.equal(sh.error?.code, 'shell_disabled');
    } finally {
      await ex.close(1000);
      await new Promise((r) => server.close(r));
    }
  });

  it('routes shell jobs to the sandboxed runner when enabled; their lines come back on the outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sundial-exec-shell-'));
    const ex = newExecutor([], dir);
    try {
      const o = await ex.execute({ ...moduleJob('ok.js'), kind: 'shell', spec: { command: ['sh', '-c', 'echo out; echo err >&2; id -u'] } });
      assert.equal(o.status, 'succeeded', JSON.stringify(o.error));
      assert.deepEqual(o.result, { exitCode: 0 });
      const lines = o.logs.map((l) => `${l.level} ${l.message}`);
      assert.ok(lines.includes('info out') && lines.includes('error err'), JSON.stringify(lines));
      assert.ok(!lines.includes('info 0'), 'the command ran as root');
      assert.ok(o.cpuMs !== null && o.cpuMs >= 0);
    } finally {
      await ex.close(1000);
      rmSync(dir, { recursive: true, force: true });
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
    const before = new Set(listChildren(process.pid));
    const ex = newExecutor();
    await ex.execute(moduleJob('ok.js'));
    const mine = listChildren(process.pid).filter((p) => !before.has(p));
    assert.equal(mine.length, 2, 'two workers');
    const running = ex.execute(moduleJob('hangs.js', { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 50));
    await ex.close(100);
    assert.equal((await running).error?.code, 'worker_lost');
    assert.ok(await waitFor(() => mine.every((p) => !alive(p)), 2000));
    assert.deepEqual(listChildren(process.pid).filter((p) => !before.has(p)), []);
    assert.equal((await ex.execute(moduleJob('ok.js'))).error?.code, 'shutting_down');
  });
});
