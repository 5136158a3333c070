// script and shell task bodies through the API: what is refused, with which code and where.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';

let h: ApiHarness;
before(async () => {
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_SHELL_TASKS: 'on' } });
  h = await startApi({
    config,
    // What the executor hands in; the real parser is tested with the script runner.
    checkScriptSyntax: (code) => (code.includes('@@') ? { message: "unexpected token '@'", line: 2, column: 7 } : null),
  });
});
after(async () => {
  await h.close();
});

interface Problem {
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

describe('shell tasks when the operator enabled them', () => {
  test('an admin creates one; an operator may neither create, change nor run one', async () => {
    const created = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'sh-1', kind: 'shell', spec: { command: ['echo', 'hi'], env: { GREETING: 'hi' } } } });
    assert.equal(created.statusCode, 201, created.body);
    const operator = await h.key('operator');
    const refused = await h.call({ method: 'POST', url: '/v1/tasks', token: operator, payload: { name: 'sh-2', kind: 'shell', spec: { command: ['id'] } } });
    assert.equal(refused.statusCode, 403);
    assert.equal((refused.json() as Problem).code, 'forbidden');
    const edit = await h.call({ method: 'PATCH', url: '/v1/tasks/sh-1', token: operator, payload: { payload: { evil: true } } });
    assert.equal(edit.statusCode, 403);
    // Its payload is the command's stdin: running it is as strong as changing it (test/api/shell-admin.test.ts).
    const run = await h.call({ method: 'POST', url: '/v1/tasks/sh-1/runs', token: operator, payload: {} });
    assert.equal(run.statusCode, 403, run.body);
    const toShell = await h.call({ method: 'POST', url: '/v1/tasks', token: operator, payload: { name: 'mod-1', kind: 'module', spec: { file: 'x.mjs' } } });
    assert.notEqual(toShell.statusCode, 500);
  });

  test('bad shell specs: a shell string, an escaping cwd, a bad env name, unknown limits', async () => {
    const cases: [unknown, string][] = [
      [{ command: 'rm -rf /' }, '/spec/command'],
      [{ command: [] }, '/spec/command'],
      [{ command: ['ls'], cwd: '../other-task' }, '/spec/cwd'],
      [{ command: ['ls'], cwd: '/etc' }, '/spec/cwd'],
      [{ command: ['ls'], env: { 'BAD-NAME': 'x' } }, '/spec/env'],
      [{ command: ['ls'], env: { SUNDIAL_RUN_ID: 'forged' } }, '/spec/env/SUNDIAL_RUN_ID'],
      [{ command: ['ls'], limits: { memory: 5 } }, '/spec/limits'],
    ];
    for (const [spec, path] of cases) {
      const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'sh-bad', kind: 'shell', spec } });
      assert.equal(res.statusCode, 400, `${JSON.stringify(spec)}: ${res.body}`);
      const p = res.json() as Problem;
      assert.equal(p.code, 'validation_failed');
      assert.ok(p.errors?.some((e) => e.path.startsWith(path)), `${JSON.stringify(spec)}: ${JSON.stringify(p.errors)}`);
    }
    const list = await h.call({ method: 'GET', url: '/v1/tasks?q=sh-bad' });
    assert.deepEqual((list.json() as { items: unknown[] }).items, []);
  });
});

describe('script tasks', () => {
  test('a syntax error is a 400 at /spec/code with its line and column', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'js-bad', kind: 'script', spec: { code: 'export default () => {\n  let @@ = 1;\n}' } } });
    assert.equal(res.statusCode, 400);
    const p = res.json() as Problem;
    assert.deepEqual(p.errors, [{ path: '/spec/code', message: "line 2, column 7: unexpected token '@'" }]);
  });

  test('a valid script is stored as given, and an operator may create one', async () => {
    const operator = await h.key('operator');
    const spec = { code: 'export default async (ctx) => ctx.payload', limits: { memoryBytes: 64 * 1024 * 1024 } };
    const res = await h.call({ method: 'POST', url: '/v1/tasks', token: operator, payload: { name: 'js-ok', kind: 'script', spec } });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual((res.json() as { spec: unknown }).spec, spec);
  });
});
