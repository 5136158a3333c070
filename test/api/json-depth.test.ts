// Issue 12, hole 5 (API side): deeply nested JSON is refused at the edge with a 400 problem, for
// every body (payload, spec, an http task's body), before anything recursive walks it. Before the
// fix a 4,800-level array answered 500 (JSON.stringify overflowed the stack) and shallower ones
// were stored and later crashed the shared script worker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { httpTask, startApi, type ApiHarness } from '../helpers/api-harness.js';

let h: ApiHarness;
before(async () => {
  h = await startApi();
});
after(async () => {
  await h.close();
});

/** JSON text of arrays nested `n` levels deep. */
function nested(n: number): string {
  return '['.repeat(n) + ']'.repeat(n);
}

async function send(method: 'POST' | 'PATCH', url: string, body: string): Promise<{ status: number; type: string; code: string }> {
  const res = await h.call({ method, url, payload: body, headers: { 'content-type': 'application/json' } });
  const problem = String(res.headers['content-type']).startsWith('application/problem+json') ? (res.json() as { code: string }) : { code: '' };
  return { status: res.statusCode, type: String(res.headers['content-type']), code: problem.code };
}

describe('JSON nesting depth at the API', () => {
  test('a 4,800-level payload, spec or http body is a 400 problem, never a 500, and nothing is stored', async () => {
    const task = (await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('depth-target') })).json() as { id: string };
    const deep = nested(4800);
    const cases: ['POST' | 'PATCH', string, string][] = [
      ['POST', '/v1/tasks', `{"name":"deep-1","kind":"http","spec":{"url":"https://example.com/","method":"POST"},"payload":${deep}}`],
      ['POST', '/v1/tasks', `{"name":"deep-2","kind":"http","spec":{"url":"https://example.com/","method":"POST","body":${deep}}}`],
      ['POST', '/v1/tasks', `{"name":"deep-3","kind":"http","spec":${deep}}`],
      ['POST', `/v1/tasks/${task.id}/runs`, `{"payload":${deep}}`],
      ['PATCH', `/v1/tasks/${task.id}`, `{"payload":${deep}}`],
      ['POST', `/v1/tasks/${task.id}/runs`, `{"payload":${nested(65)}}`],
    ];
    for (const [method, url, body] of cases) {
      const r = await send(method, url, body);
      assert.equal(r.status, 400, `${method} ${url} ${body.slice(0, 60)}: ${r.status}`);
      assert.match(r.type, /^application\/problem\+json/);
      assert.equal(r.code, 'validation_failed');
    }
    const list = (await h.call({ method: 'GET', url: '/v1/tasks?q=deep-' })).json() as { items: unknown[] };
    assert.deepEqual(list.items, []);
    const runs = (await h.call({ method: 'GET', url: `/v1/runs?task=${task.id}` })).json() as { items: unknown[] };
    assert.deepEqual(runs.items, []);
  });

  test('brackets inside strings do not count, and 63 levels of payload (64 with the body) are accepted', async () => {
    const ok = await send('POST', '/v1/tasks', `{"name":"shallow","kind":"http","spec":{"url":"https://example.com/","method":"POST"},"payload":{"s":"${'['.repeat(500)}\\"${'{'.repeat(500)}","v":${nested(63)}}}`);
    assert.equal(ok.status, 400, 'the payload object adds a level: 1 + 1 + 63 = 65');
    const fits = await send('POST', '/v1/tasks', `{"name":"shallow","kind":"http","spec":{"url":"https://example.com/","method":"POST"},"payload":{"s":"${'['.repeat(500)}\\"${'{'.repeat(500)}","v":${nested(62)}}}`);
    assert.equal(fits.status, 201);
  });

  test('malformed and empty JSON bodies are still the same 400s as before', async () => {
    assert.equal((await send('POST', '/v1/tasks', '{"name":')).status, 400);
    const poisoned = await send('POST', '/v1/tasks', '{"name":"p","kind":"http","spec":{"url":"https://example.com/"},"__proto__":{"x":1}}');
    assert.equal(poisoned.status, 400);
  });
});
