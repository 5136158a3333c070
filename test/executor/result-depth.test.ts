// Issue 12, hole 5 (executor side): a module or script result nested deeper than 64 levels fails
// the run with `result_too_deep`, the worker survives, and the next run on it succeeds.
import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import type { RunJob } from '../../src/executor/executor.js';
import { ModulePool } from '../../src/executor/module/module-pool.js';
import { ScriptPool } from '../../src/executor/script/script-pool.js';
import { FIXTURE_TASKS, moduleJob } from './helpers.js';

setMaxListeners(Infinity);

const DEEP_SCRIPT = 'export default (ctx) => { let v = []; for (let i = 1; i < ctx.payload.depth; i++) v = [v]; return v; }';

function scriptJob(depth: number): RunJob {
  return { ...moduleJob('unused.js'), kind: 'script', spec: { code: DEEP_SCRIPT } as RunJob['spec'], payload: { depth } };
}

describe('results nested too deeply', () => {
  const modules = new ModulePool({ tasksDir: FIXTURE_TASKS, workers: 1, logMaxBytes: 4096, resultMaxBytes: 1 << 20, killGraceMs: 300, clock: systemClock, bus: new EventBus(), onChildOutput: () => {} });
  const scripts = new ScriptPool({
    workers: 1,
    memoryMaxBytes: 256 * 1024 * 1024,
    defaultMemoryBytes: 64 * 1024 * 1024,
    logMaxBytes: 4096,
    resultMaxBytes: 1 << 20,
    outboundAllow: [],
    killGraceMs: 1000,
    clock: systemClock,
    bus: new EventBus(),
    onLogs: () => {},
    onSample: () => {},
    onChildOutput: () => {},
  });
  before(async () => {
    await modules.ready();
    await scripts.ready();
  });
  after(async () => {
    await modules.close(1000);
    await scripts.close(1000);
  });

  for (const depth of [65, 1000]) {
    it(`a module returning ${depth} levels fails result_too_deep; 64 levels succeed on the same worker`, async () => {
      const deep = await modules.run(moduleJob('deep-result.js', { payload: { depth } }));
      assert.equal(deep.status, 'failed');
      assert.equal(deep.error?.code, 'result_too_deep', JSON.stringify(deep.error));
      const ok = await modules.run(moduleJob('deep-result.js', { payload: { depth: 64 } }));
      assert.equal(ok.status, 'succeeded', JSON.stringify(ok.error));
    });

    it(`a script returning ${depth} levels fails result_too_deep; 64 levels succeed on the same worker`, async () => {
      const deep = await scripts.run(scriptJob(depth));
      assert.equal(deep.status, 'failed');
      assert.equal(deep.error?.code, 'result_too_deep', JSON.stringify(deep.error));
      const ok = await scripts.run(scriptJob(64));
      assert.equal(ok.status, 'succeeded', JSON.stringify(ok.error));
    });
  }
});
