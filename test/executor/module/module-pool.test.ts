import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock, systemClock } from '../../../src/core/clock.js';
import { EventBus, type SundialEvents } from '../../../src/core/events.js';
import type { RunOutcome } from '../../../src/executor/executor.js';
import { TRUNCATED_MARKER } from '../../../src/executor/log-capture.js';
import { ModulePool, type ModulePoolOptions } from '../../../src/executor/module/module-pool.js';
import { FIXTURE_TASKS, alive, moduleJob, waitFor } from '../helpers.js';

setMaxListeners(Infinity);

function newPool(over: Partial<ModulePoolOptions> = {}): { pool: ModulePool; exits: SundialEvents['pool:child:exit'][] } {
  const bus = new EventBus();
  const exits: SundialEvents['pool:child:exit'][] = [];
  bus.on('pool:child:exit', (e) => exits.push(e));
  const pool = new ModulePool({
    tasksDir: FIXTURE_TASKS,
    workers: 2,
    logMaxBytes: 4096,
    resultMaxBytes: 64 * 1024,
    killGraceMs: 300,
    clock: systemClock,
    bus,
    onChildOutput: () => {},
    ...over,
  });
  return { pool, exits };
}

function errorCode(o: RunOutcome): string | undefined {
  return o.error?.code;
}

describe('module pool: what a run returns', () => {
  const clock = new ManualClock('2026-03-01T10:00:00Z');
  const { pool } = newPool({ clock });
  before(() => pool.ready());
  after(() => pool.close(1000));

  it('ok: returns the payload as the result, with the worker\'s usage and the clock time', async () => {
    const o = await pool.run(moduleJob('ok.js', { payload: { a: [1, 'two'] } }));
    assert.equal(o.status, 'succeeded');
    assert.deepEqual(o.result, { a: [1, 'two'] });
    assert.equal(o.error, null);
    assert.deepEqual(o.logs, []);
    assert.equal(o.logsTruncated, false);
    // A no-op run on a warm worker: well under a second of CPU, a Node-sized RSS, next to no disk
    // (the worker's own writes, e.g. a compile cache page, may land in the same window).
    assert.ok(o.cpuMs !== null && o.cpuMs >= 0 && o.cpuMs < 1000, `cpuMs ${o.cpuMs}`);
    assert.ok(o.peakRssBytes !== null && o.peakRssBytes > 10e6 && o.peakRssBytes < 500e6, `peakRssBytes ${o.peakRssBytes}`);
    assert.ok(o.diskWriteBytes !== null && o.diskWriteBytes >= 0 && o.diskWriteBytes < 1_048_576, `diskWriteBytes ${o.diskWriteBytes}`);
    assert.equal(o.finishedAt, clock.now());
  });

  it('ok: undefined becomes a null result', async () => {
    const o = await pool.run(moduleJob('ok.js', { payload: undefined }));
    assert.equal(o.status, 'succeeded');
    assert.equal(o.result, null);
  });

  it('named-export: calls spec.export with ctx.run and ctx.task filled in', async () => {
    const job = moduleJob('named-export.js', { exportName: 'greet', payload: { name: 'Ada' }, attempt: 3 });
    const o = await pool.run(job);
    assert.equal(o.status, 'succeeded');
    assert.deepEqual(o.result, {
      greeting: 'hello Ada',
      run: { id: job.runId, attempt: 3, scheduledFor: '2026-01-01T12:00:00.000Z', idempotencyKey: job.idempotencyKey },
      task: { id: 'task-1', name: 'fixture' },
    });
  });

  it('named-export: a missing default export or a non-function export is module_export_missing', async () => {
    const missing = await pool.run(moduleJob('named-export.js'));
    assert.equal(missing.status, 'failed');
    assert.equal(errorCode(missing), 'module_export_missing');
    assert.match(missing.error!.message, /"default".*does not exist/);
    const notFn = await pool.run(moduleJob('named-export.js', { exportName: 'notAFunction' }));
    assert.equal(errorCode(notFn), 'module_export_missing');
    assert.match(notFn.error!.message, /not a function/);
  });

  it('throws: module_threw with the message and a stack excerpt', async () => {
    const o = await pool.run(moduleJob('throws.js'));
    assert.equal(o.status, 'failed');
    assert.equal(errorCode(o), 'module_threw');
    assert.equal(o.error!.message, 'boom from the task');
    const detail = o.error!.detail as { name: string; stack: string };
    assert.equal(detail.name, 'TypeError');
    assert.match(detail.stack, /throws\.js/);
  });

  it('non-json-result: a BigInt or a cycle is result_not_json', async () => {
    const big = await pool.run(moduleJob('non-json-result.js'));
    assert.equal(big.status, 'failed');
    assert.equal(errorCode(big), 'result_not_json');
    const cycle = await pool.run(moduleJob('non-json-result.js', { payload: { cycle: true } }));
    assert.equal(errorCode(cycle), 'result_not_json');
  });

  it('huge-result: past resultMaxBytes is result_too_large; at the limit it passes', async () => {
    const o = await pool.run(moduleJob('huge-result.js'));
    assert.equal(o.status, 'failed');
    assert.equal(errorCode(o), 'result_too_large');
    assert.deepEqual(o.error!.detail, { bytes: 1024 * 1024 + '{"blob":""}'.length, limit: 64 * 1024 });
    const fits = await pool.run(moduleJob('huge-result.js', { payload: { bytes: 64 * 1024 - '{"blob":""}'.length } }));
    assert.equal(fits.status, 'succeeded');
  });

  it('bad-syntax: module_load_failed, and the pool keeps serving', async () => {
    const o = await pool.run(moduleJob('bad-syntax.js'));
    assert.equal(o.status, 'failed');
    assert.equal(errorCode(o), 'module_load_failed');
    assert.match(o.error!.message, /doesNotExist/);
    assert.match(String((o.error!.detail as { stack: string }).stack), /SyntaxError: The requested module/);
    assert.equal((await pool.run(moduleJob('ok.js', { payload: 1 }))).result, 1);
  });

  it('files outside the tasks directory or missing are refused before any child sees them', async () => {
    assert.equal(errorCode(await pool.run(moduleJob('../pool-harness.ts'))), 'module_outside_tasks_dir');
    assert.equal(errorCode(await pool.run(moduleJob(fileURLToPath(new URL('../../fixtures/tasks/ok.js', import.meta.url))))), 'module_outside_tasks_dir');
    assert.equal(errorCode(await pool.run(moduleJob('nope.js'))), 'module_not_found');
  });
});

describe('module pool: logs', () => {
  const { pool } = newPool({ logMaxBytes: 4096 });
  before(() => pool.ready());
  after(() => pool.close(1000));

  it('logs: console.* and ctx.log become the run’s lines, with levels, in order', async () => {
    const o = await pool.run(moduleJob('logs.js', { payload: { tag: 'A' } }));
    assert.equal(o.status, 'succeeded');
    assert.deepEqual(
      o.logs.map((l) => [l.level, l.message]),
      [
        ['info', 'log A'],
        ['info', 'info A'],
        ['warn', 'warn A'],
        ['error', 'error A'],
        ['debug', 'debug A'],
        ['info', 'ctx A'],
        ['warn', 'ctx-warn A'],
        ['info', "{ tag: 'A' }"],
      ],
    );
    assert.ok(o.logs.every((l) => typeof l.at === 'number' && l.at > 0));
  });

  it('logs: output of runs interleaved on the same children stays with its run', async () => {
    const tags = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const outs = await Promise.all(tags.map((tag) => pool.run(moduleJob('logs.js', { payload: { tag } }))));
    outs.forEach((o, i) => {
      assert.equal(o.result, tags[i]);
      assert.equal(o.logs.length, 8);
      for (const l of o.logs) assert.ok(l.message.includes(tags[i]!), `${l.message} belongs to ${tags[i]}`);
    });
  });

  it('huge-output: capped at logMaxBytes with a final [truncated] line', async () => {
    const o = await pool.run(moduleJob('huge-output.js'));
    assert.equal(o.status, 'succeeded');
    assert.equal(o.logsTruncated, true);
    const last = o.logs[o.logs.length - 1]!;
    assert.equal(last.message, TRUNCATED_MARKER);
    const kept = o.logs.slice(0, -1).reduce((n, l) => n + Buffer.byteLength(l.message), 0);
    assert.equal(kept, 4096);
  });
});

describe('module pool: live logs and resource use', () => {
  it('streams lines to onLogs while the run goes on, and leaves the outcome\'s logs empty', async () => {
    const got: { at: number; lines: string[] }[] = [];
    const { pool } = newPool({ workers: 1, onLogs: (job, lines) => got.push({ at: Date.now(), lines: lines.map((l) => `${job.runId}:${l.message}`) }) });
    try {
      const job = moduleJob('streams-logs.js', { payload: { lines: 3, gapMs: 300 } });
      const o = await pool.run(job);
      const endedAt = Date.now();
      // The first line arrived while the run went on: its two 300 ms gaps came after it.
      assert.ok(endedAt - got[0]!.at >= 500, `first line only ${endedAt - got[0]!.at} ms before the end`);
      assert.equal(o.status, 'succeeded');
      assert.deepEqual(o.logs, []);
      assert.deepEqual(got.flatMap((g) => g.lines), [0, 1, 2].map((i) => `${job.runId}:line ${i}`));
    } finally {
      await pool.close(1000);
    }
  });

  it('a run holding ~100 MB reports a peak between 100 and 200 MB over the idle worker, CPU and fsynced writes', async () => {
    const samples: { cpuMs: number; rssBytes: number }[] = [];
    const { pool } = newPool({ workers: 1, onSample: (_job, s) => samples.push(s) });
    try {
      await pool.ready();
      const idle = await pool.run(moduleJob('ok.js', { payload: 1 }));
      const file = fileURLToPath(new URL(`../../../data/test-uses-resources-${process.pid}.bin`, import.meta.url));
      const { mkdirSync } = await import('node:fs');
      mkdirSync(fileURLToPath(new URL('../../../data/', import.meta.url)), { recursive: true });
      const o = await pool.run(moduleJob('uses-resources.js', { payload: { mb: 100, holdMs: 1300, cpuMs: 300, writeMb: 8, file }, timeoutMs: 10_000 }));
      assert.equal(o.status, 'succeeded', JSON.stringify(o.error));
      const extra = o.peakRssBytes! - idle.peakRssBytes!;
      assert.ok(extra >= 100 * 1024 * 1024 * 0.95 && extra <= 200e6, `peak over idle: ${extra}`);
      assert.ok(o.cpuMs! >= 250 && o.cpuMs! < 3000, `cpuMs ${o.cpuMs}`);
      assert.ok(o.diskWriteBytes! >= 8 * 1024 * 1024, `diskWriteBytes ${o.diskWriteBytes}`);
      // Longer than a second: at least one sample, with the memory held.
      assert.ok(samples.length >= 1, 'no sample');
      assert.ok(samples[0]!.rssBytes > idle.peakRssBytes! + 90e6, `sample rss ${samples[0]!.rssBytes}`);
    } finally {
      await pool.close(1000);
    }
  });
});

describe('module pool: sinks that throw', () => {
  it('a log sink or sample sink that throws breaks neither the run nor the pool; the pool reports it on the bus', async () => {
    const bus = new EventBus();
    const warnings: SundialEvents['pool:warning'][] = [];
    bus.on('pool:warning', (w) => warnings.push(w));
    const { pool } = newPool({
      workers: 1,
      bus,
      onLogs: () => {
        throw new Error('log sink down');
      },
      onSample: () => {
        throw new Error('sample sink down');
      },
    });
    try {
      const o = await pool.run(moduleJob('logs.js', { payload: { tag: 'S' } }));
      assert.equal(o.status, 'succeeded', JSON.stringify(o.error));
      assert.equal(o.result, 'S');
      const long = await pool.run(moduleJob('streams-logs.js', { payload: { lines: 2, gapMs: 1300 } }));
      assert.equal(long.status, 'succeeded', JSON.stringify(long.error));
      assert.ok(warnings.some((w) => w.pool === 'module' && w.message === 'the log sink threw' && w.error?.message === 'log sink down'), JSON.stringify(warnings));
      assert.ok(warnings.some((w) => w.message === 'the sample sink threw' && w.error?.message === 'sample sink down'), JSON.stringify(warnings));
      assert.equal((await pool.run(moduleJob('ok.js', { payload: 'still serving' }))).result, 'still serving');
    } finally {
      await pool.close(1000);
    }
  });
});

describe('module pool: concurrency', () => {
  const { pool } = newPool({ workers: 2 });
  before(() => pool.ready());
  after(() => pool.close(1000));

  it('200 runs at once across 2 workers all succeed with their own results', async () => {
    const outs = await Promise.all(
      Array.from({ length: 200 }, (_, i) => pool.run(moduleJob('pid.js', { payload: { i } }))),
    );
    const pids = new Set<number>();
    outs.forEach((o, i) => {
      assert.equal(o.status, 'succeeded');
      const r = o.result as { pid: number; payload: { i: number } };
      assert.equal(r.payload.i, i);
      pids.add(r.pid);
    });
    assert.deepEqual([...pids].sort(), pool.pids().sort(), 'both children took runs');
  });
});

describe('module pool: timeouts, cancels, crashes', () => {
  it('slow-async past its timeout: timed_out, the signal stops it, the child survives', async () => {
    const { pool, exits } = newPool({ workers: 1 });
    await pool.ready();
    const [pid] = pool.pids();
    const t0 = Date.now();
    const o = await pool.run(moduleJob('slow-async.js', { timeoutMs: 150 }));
    assert.equal(o.status, 'timed_out');
    assert.equal(errorCode(o), 'timeout');
    assert.ok(Date.now() - t0 < 1000, 'no kill grace was needed');
    assert.deepEqual(pool.pids(), [pid]);
    assert.equal(exits.length, 0);
    await pool.close(1000);
  });

  it('cancel: cancelling by run id ends the run cancelled, promptly, without killing the child', async () => {
    const { pool } = newPool({ workers: 1 });
    await pool.ready();
    const [pid] = pool.pids();
    const t0 = Date.now();
    const job = moduleJob('slow-async.js');
    const running = pool.run(job);
    setTimeout(() => assert.equal(pool.cancel(job.runId), true), 50);
    const o = await running;
    assert.equal(o.status, 'cancelled');
    assert.equal(errorCode(o), 'cancelled');
    assert.ok(Date.now() - t0 < 1000);
    assert.deepEqual(pool.pids(), [pid]);
    assert.equal(pool.cancel(job.runId), false, 'an ended run cannot be cancelled');
    assert.equal(pool.cancel('no-such-run'), false);
    await pool.close(1000);
  });

  it('hangs: a synchronous loop past timeout + kill grace gets its child killed and replaced; its neighbours fail worker_lost', async () => {
    const { pool, exits } = newPool({ workers: 1, killGraceMs: 300 });
    await pool.ready();
    const [pid] = pool.pids();
    const neighbour = pool.run(moduleJob('slow-async.js', { payload: { ms: 60_000 }, timeoutMs: 60_000 }));
    const t0 = Date.now();
    const hung = await pool.run(moduleJob('hangs.js', { timeoutMs: 200 }));
    const took = Date.now() - t0;
    assert.equal(hung.status, 'timed_out');
    assert.equal(errorCode(hung), 'timeout');
    assert.ok(took >= 450 && took < 3000, `ended after timeout + grace (${took} ms)`);
    const n = await neighbour;
    assert.equal(n.status, 'failed');
    assert.equal(errorCode(n), 'worker_lost');
    assert.ok(await waitFor(() => !alive(pid!)), 'the hung child is gone');
    assert.deepEqual(exits.map((e) => [e.pid, e.signal, e.expected]), [[pid, 'SIGKILL', true]]);
    await pool.ready();
    assert.equal((await pool.run(moduleJob('ok.js', { payload: 'after' }))).result, 'after');
    assert.notDeepEqual(pool.pids(), [pid]);
    await pool.close(1000);
  });

  it('exits: a child that exits fails its in-flight runs worker_crashed, emits pool:child:exit, and is replaced', async () => {
    const { pool, exits } = newPool({ workers: 1 });
    await pool.ready();
    const [pid] = pool.pids();
    const neighbour = pool.run(moduleJob('slow-async.js', { payload: { ms: 60_000 }, timeoutMs: 60_000 }));
    const o = await pool.run(moduleJob('exits.js'));
    assert.equal(o.status, 'failed');
    assert.equal(errorCode(o), 'worker_crashed');
    assert.deepEqual((o.error!.detail as { code: number }).code, 3);
    assert.equal(errorCode(await neighbour), 'worker_crashed');
    assert.deepEqual(exits, [{ pid, code: 3, signal: null, expected: false }]);
    assert.equal((await pool.run(moduleJob('ok.js', { payload: 2 }))).result, 2, 'a replacement serves');
    assert.ok(!pool.pids().includes(pid!));
    await pool.close(1000);
  });

  it('a child that fails to start is not reused and restarts back off', async () => {
    const { pool, exits } = newPool({ workers: 1, workerEntry: fileURLToPath(new URL('../../fixtures/broken-worker.js', import.meta.url)) });
    const times: number[] = [];
    const seen = (): number => {
      while (times.length < exits.length) times.push(Date.now());
      return exits.length;
    };
    const o = await pool.run(moduleJob('ok.js'));
    assert.equal(o.status, 'failed');
    assert.equal(errorCode(o), 'worker_start_failed');
    assert.match(JSON.stringify(o.error!.detail), /failing on purpose/);
    assert.ok(await waitFor(() => seen() >= 3, 10_000), 'it keeps retrying');
    assert.ok(exits.every((e) => e.expected === false && e.code === 9));
    // Back-off 250 ms, then 500 ms (plus start-up time): a hot loop would restart within a few ms.
    assert.ok(times[1]! - times[0]! >= 240, `second start ${times[1]! - times[0]!} ms after the first failure`);
    assert.ok(times[2]! - times[1]! >= 490, `third start ${times[2]! - times[1]!} ms after the second failure`);
    const again = await pool.run(moduleJob('ok.js'));
    assert.equal(errorCode(again), 'worker_start_failed', 'runs fail fast while no child can start');
    await pool.close(0);
  });
});

describe('module pool: close', () => {
  it('waits for runs in flight up to the grace, then kills; no child is left behind', async () => {
    const { pool } = newPool({ workers: 2 });
    await pool.ready();
    const pids = pool.pids();
    assert.equal(pids.length, 2);
    const quick = pool.run(moduleJob('slow-async.js', { payload: { ms: 100 } }));
    const stuck = pool.run(moduleJob('hangs.js', { timeoutMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 20));
    await pool.close(400);
    assert.equal((await quick).status, 'succeeded', 'finished within the grace');
    const s = await stuck;
    assert.equal(s.status, 'failed');
    assert.equal(errorCode(s), 'worker_lost');
    for (const pid of pids) assert.equal(alive(pid), false, `child ${pid} is gone`);
    assert.deepEqual(pool.pids(), []);
    const late = await pool.run(moduleJob('ok.js'));
    assert.equal(errorCode(late), 'shutting_down');
  });

  it('an idle pool closes at once and leaves no process', async () => {
    const { pool } = newPool({ workers: 3 });
    await pool.ready();
    const pids = pool.pids();
    assert.equal(pids.length, 3);
    const t0 = Date.now();
    await pool.close(5000);
    assert.ok(Date.now() - t0 < 1000);
    for (const pid of pids) assert.equal(alive(pid), false);
  });

  it('children die with their parent even when stuck in a synchronous loop', async () => {
    const harness = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), fileURLToPath(new URL('../../fixtures/pool-harness.ts', import.meta.url))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      harness.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.trim());
      });
      harness.on('exit', () => reject(new Error('harness exited early')));
    });
    const pids = JSON.parse(line) as number[];
    assert.equal(pids.length, 2);
    harness.kill('SIGKILL');
    assert.ok(await waitFor(() => pids.every((p) => !alive(p)), 5000), `children ${pids.filter(alive).join(',')} outlived their parent`);
  });
});
