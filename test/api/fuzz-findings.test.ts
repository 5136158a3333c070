// What the schema-driven fuzz test (test/api/fuzz.test.ts) found, each kept as a plain
// regression test so it stays fixed whatever seed the fuzz test runs with.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApi, type ApiHarness } from '../helpers/api-harness.js';

let h: ApiHarness;

before(async () => {
  h = await startApi();
});
after(async () => {
  await h.close();
});

/** Asserts a 400 validation_failed problem at /params. */
function assertParamsProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, what: string): void {
  assert.equal(res.statusCode, 400, what);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  const body = res.json() as { code: string; errors: { path: string }[] };
  assert.equal(body.code, 'validation_failed', what);
  assert.equal(body.errors[0]?.path, '/params', what);
}

test('a path segment that is not UTF-8 when decoded answers a problem, not Fastify\'s own JSON (finding 1)', async () => {
  // A lone surrogate as WTF-8, and a truncated sequence.
  for (const url of ['/v1/tasks/%ED%A0%80/pause', '/v1/channels/%E0%A4%A', '/v1/runs/%QA']) {
    assertParamsProblem(await h.call({ method: url.endsWith('pause') ? 'POST' : 'GET', url }), url);
  }
});

test('a path segment over the router\'s 100 characters answers 400 validation_failed, not a bare 414 (finding 1)', async () => {
  const url = `/v1/tasks/${'x'.repeat(101)}`;
  assertParamsProblem(await h.call({ method: 'GET', url }), url);
  assertParamsProblem(await h.call({ method: 'DELETE', url }), url);
});

test('integers in query strings are written as integers: "1.5", "0x10", "1e2", "true" and "" are refused, not read as 1, 16, 100, 1 and 0 (finding 2)', async () => {
  for (const url of ['/v1/tasks?limit=1.5', '/v1/tasks?limit=0x10', '/v1/runs?limit=1e2', '/v1/stats/runs?minutes=true', '/v1/api-keys?limit=', '/v1/tasks?recentRuns=%201']) {
    const res = await h.call({ method: 'GET', url });
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    const body = res.json() as { code: string; errors: { path: string; message: string }[] };
    assert.equal(body.code, 'validation_failed', url);
    assert.match(body.errors[0]!.path, /^\/query\/(limit|minutes|recentRuns)$/, url);
  }
  // Integers still are integers.
  for (const url of ['/v1/tasks?limit=2', '/v1/stats/runs?minutes=5', '/v1/tasks?recentRuns=0']) {
    assert.equal((await h.call({ method: 'GET', url })).statusCode, 200, url);
  }
});
