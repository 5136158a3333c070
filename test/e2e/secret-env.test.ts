// Issue 12, hole 2, end to end: a real `sundial serve` started with secrets in its environment
// runs a module task that prints every variable it can see: none of the secrets is there, and the
// server still authenticates with the admin token it read before removing it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_TOKEN, eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

let server: ServerProcess;
before(async () => {
  const dirs = makeDirs({ 'env.mjs': 'export default () => ({ env: { ...process.env } });\n' });
  server = await startServerProcess({ ...dirs, env: { SUNDIAL_INFLUX_TOKEN: 'influx-secret-token', SUNDIAL_SMTP_URL: 'smtp://user:smtp-secret@127.0.0.1:2525', OTHER_SECRET: 'not-for-modules' } });
});
after(async () => {
  await server?.kill('SIGTERM');
});

test('a module task sees none of the server’s secrets in process.env', async () => {
  assert.equal((await server.api('POST', '/v1/tasks', { name: 'env', kind: 'module', spec: { file: 'env.mjs' } })).status, 201);
  const run = (await server.api<{ id: string }>('POST', '/v1/tasks/env/runs', {})).body;
  const done = await eventually(async () => {
    const r = (await server.api<{ status: string; result: { env: Record<string, string> } | null; error: unknown }>('GET', `/v1/runs/${run.id}`)).body;
    return r.status === 'succeeded' || r.status === 'failed' ? r : null;
  });
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  const env = done.result!.env;
  assert.equal(env.SUNDIAL_ADMIN_TOKEN, undefined);
  const text = JSON.stringify(env);
  for (const secret of [ADMIN_TOKEN, 'influx-secret-token', 'smtp-secret', 'not-for-modules']) assert.ok(!text.includes(secret), `the module saw ${secret}`);
  assert.deepEqual(Object.keys(env).filter((k) => k.startsWith('SUNDIAL_')), []);
});
