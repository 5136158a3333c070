// A quick check that nothing in the API's request path is slow: 32 concurrent clients create
// tasks through app.inject against the real SQLite store. The real benchmark lives in bench/;
// this guards against regressions such as a store read per request for auth or a schema
// compiled per request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpTask, startApi } from '../helpers/api-harness.js';

const CLIENTS = 32;
const PER_CLIENT = 100;
/**
 * Alone on a 2-core machine this measures 3,600-4,100/s; sharing the cores with the rest of the
 * suite, 850-2,200/s. The floor only catches the pathological (a schema compiled per request
 * costs two orders of magnitude); per-request store reads for auth are caught exactly below.
 */
const FLOOR_PER_SECOND = 400;

test(`${CLIENTS} concurrent clients create tasks quickly`, async () => {
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
    assert.ok(perSecond >= FLOOR_PER_SECOND, `${perSecond}/s is below ${FLOOR_PER_SECOND}/s`);
    assert.equal(authReads, 0, 'authentication read the store during the run');
    const page = await h.store.listTasks({ namespaces: '*', limit: 1 });
    assert.equal(page.items.length, 1);
  } finally {
    await h.close();
  }
});
