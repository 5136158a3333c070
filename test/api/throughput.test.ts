// 32 concurrent clients create tasks through app.inject against the real SQLite store: every
// one is stored, and authentication never reads the store per request (its cache holds). Speed
// itself is measured by the benchmark (S4 in bench/run.ts), not asserted here: a timed floor in a
// test that shares two cores with the rest of the suite fails on a slow day, not on slow code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpTask, startApi } from '../helpers/api-harness.js';

const CLIENTS = 32;
const PER_CLIENT = 100;

test(`${CLIENTS} concurrent clients create tasks: all stored, no store read for auth per request`, async () => {
  const h = await startApi();
  try {
    // Warm up: the first request reads the key once; the JIT likes a lap too.
    for (let i = 0; i < 50; i++) await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask(`warm-${i}`) });
    let authReads = 0;
    const find = h.store.findApiKeyByHash.bind(h.store);
    h.store.findApiKeyByHash = (hash) => {
      authReads++;
      return find(hash);
    };

    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < PER_CLIENT; i++) {
          const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask(`c${c}-t${i}`, { schedule: { type: 'interval', every: '1h' } }) });
          if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${res.body}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const perSecond = Math.round((CLIENTS * PER_CLIENT) / seconds);
    console.log(`${CLIENTS * PER_CLIENT} task creations by ${CLIENTS} clients in ${seconds.toFixed(2)} s: ${perSecond}/s`);
    assert.equal(authReads, 0, 'authentication read the store during the run');
    const counts = await h.store.countTasks('*');
    assert.equal(counts.active, 50 + CLIENTS * PER_CLIENT);
  } finally {
    await h.close();
  }
});
