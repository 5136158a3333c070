// The `sundial` CLI against a real server process: what a person types, what they see.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
let server: ServerProcess;

before(async () => {
  server = await startServerProcess(
    makeDirs({ 'hello.mjs': 'export default (ctx) => { ctx.log("hi"); return { hello: ctx.payload?.who ?? "world" }; };' }),
  );
});
after(async () => {
  await server.kill('SIGTERM');
});

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, SUNDIAL_URL: server.url, SUNDIAL_TOKEN: ADMIN_TOKEN },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sundial CLI against a running server', () => {
  it('creates a cron task, lists it, runs it and waits for the result', async () => {
    const created = await cli('task', 'create', '--name', 'greeter', '--kind', 'module', '--file', 'hello.mjs', '--cron', '0 9 * * 1-5', '--tz', 'Europe/Berlin', '--max-attempts', '3');
    assert.equal(created.code, 0, created.stderr);
    const list = await cli('task', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /NAME/);
    assert.match(list.stdout, /greeter/);
    const ran = await cli('task', 'run', 'greeter', '--payload', '{"who":"sundial"}', '--wait');
    assert.equal(ran.code, 0, ran.stderr);
    const runs = await cli('run', 'list', '--task', 'greeter', '--json');
    assert.equal(runs.code, 0, runs.stderr);
    const items = (JSON.parse(runs.stdout) as { items: { status: string; result: unknown; trigger: string }[] }).items;
    const manual = items.find((r) => r.trigger === 'manual');
    assert.equal(manual?.status, 'succeeded');
    assert.deepEqual(manual?.result, { hello: 'sundial' });
  });

  it('previews a schedule in words and times', async () => {
    const res = await cli('schedule', 'preview', '--cron', '30 2 * * *', '--tz', 'Europe/Berlin', '--count', '3');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /at 02:30 every day \(Europe\/Berlin\)/);
    const times = res.stdout.split('\n').filter((l) => /^\d\s/.test(l));
    assert.equal(times.length, 3);
    for (const line of times) assert.match(line, /02:30:00 \+0[12]:00 +\d{4}-\d{2}-\d{2}T0[01]:30:00\.000Z/);
  });

  it('the runs show up in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /sundial_run_transitions_total\{status="succeeded",reason=""\} [1-9]/);
    assert.match(text, /sundial_run_lateness_seconds_count [1-9]/);
    assert.match(text, /sundial_run_duration_seconds_count\{status="succeeded"\} [1-9]/);
    assert.match(text, /sundial_runs\{status="succeeded"\} [1-9]/);
    assert.match(text, /sundial_runs_backlog 0/);
    assert.match(text, /sundial_process_resident_memory_bytes \d+/);
  });

  it('prints the server problem and exits 1 on bad input', async () => {
    const res = await cli('task', 'create', '--name', 'bad-zone', '--kind', 'module', '--file', 'hello.mjs', '--cron', '0 9 * * *', '--tz', 'CEST');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /timezone/i);
    const missing = await cli('task', 'get', 'no-such-task');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such task/);
  });
});
