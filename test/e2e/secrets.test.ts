// Secrets end to end, through a real `sundial serve` on SQLite: a secret is set through the API
// with an operator key, used by an http task (header, URL, body, at a local receiver that checks
// it and echoes it back), a shell task (env) and script tasks (ctx.secrets), in runs that succeed
// and runs that fail. Then a byte scan: neither the secret (nor its base64, base64url or
// percent-encoded forms) nor the operator key's token appears in the SQLite file and its WAL,
// the server's output, any API answer (but the one that created the key), the event stream,
// the run logs or the results; the masks are there instead. The server generated its key file
// (0600) and said so.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase } from '../helpers/postgres.js';
import { openSse, type SseStream } from '../helpers/sse.js';
import { HttpReceiver } from '../helpers/receivers.js';
import { ADMIN_TOKEN, eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

const SECRET = `e2e-S3cret/${randomBytes(12).toString('hex')}+x=`;
const FORMS = [SECRET, Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET).toString('base64url'), encodeURIComponent(SECRET)];

interface RunView {
  id: string;
  status: string;
  result: unknown;
  error: { code: string; message: string; detail?: unknown } | null;
}

let server: ServerProcess;
let dataDir: string;
let receiver: HttpReceiver;
let events: SseStream;
let token = '';
/** Every API answer (status line, headers and body) except the one that showed the new key. */
const answers: string[] = [];

async function api<T>(method: string, path: string, body?: unknown, as = token): Promise<{ status: number; body: T }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${as}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  answers.push(`${res.status} ${JSON.stringify([...res.headers])}\n${text}`);
  const ct = res.headers.get('content-type') ?? '';
  return { status: res.status, body: (ct.includes('json') && !ct.includes('ndjson') && text ? JSON.parse(text) : text) as T };
}

async function runToEnd(task: string, as = token): Promise<RunView> {
  const started = await api<{ id: string }>('POST', `/v1/tasks/${task}/runs`, {}, as);
  assert.equal(started.status, 201, JSON.stringify(started.body));
  return eventually(async () => {
    const r = (await api<RunView>('GET', `/v1/runs/${started.body.id}`, undefined, as)).body;
    return ['succeeded', 'failed', 'timed_out'].includes(r.status) ? r : null;
  }, 30_000);
}

before(async () => {
  receiver = await new HttpReceiver().start();
  const dirs = makeDirs();
  dataDir = dirs.dataDir;
  server = await startServerProcess({
    ...dirs,
    env: { SUNDIAL_OUTBOUND_ALLOW: '127.0.0.1', SUNDIAL_SHELL_TASKS: 'on', SUNDIAL_LOG_LEVEL: 'debug', SUNDIAL_SCRIPT_WORKERS: '1' },
  });
  events = await openSse(`${server.url}/v1/events`, ADMIN_TOKEN);
  const key = await fetch(`${server.url}/v1/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'e2e-operator', role: 'operator', namespaces: ['default'] }),
  });
  assert.equal(key.status, 201);
  token = ((await key.json()) as { secret: string }).secret;
});
after(async () => {
  events?.close();
  await server?.kill('SIGTERM');
  await receiver?.stop();
});

describe('secrets end to end', () => {
  const runs: RunView[] = [];

  it('the first start made a 0600 key file and said so', () => {
    const file = join(dataDir, 'secrets.key');
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(server.output.some((l) => l.includes('generated a key-encryption key') && l.includes(file)), server.output.join('\n'));
  });

  it('an operator sets the secret; tasks reference it', async () => {
    assert.equal((await api('PUT', '/v1/secrets/TOKEN', { value: SECRET })).status, 201);
    const url = `${receiver.url}?k={{secrets.TOKEN}}`;
    const tasks = [
      { name: 'http-ok', kind: 'http', spec: { url, method: 'POST', headers: { authorization: 'Bearer {{secrets.TOKEN}}' }, body: { token: '{{secrets.TOKEN}}' } } },
      { name: 'http-fail', kind: 'http', spec: { url, method: 'POST', headers: { authorization: 'Bearer {{secrets.TOKEN}}' }, body: 'raw {{secrets.TOKEN}}', expectStatus: 299 } },
      {
        name: 'script-ok',
        kind: 'script',
        spec: {
          secrets: ['TOKEN'],
          code: `export default async (ctx) => {
            ctx.log('plain ' + ctx.secrets.TOKEN);
            console.log('uri ' + encodeURIComponent(ctx.secrets.TOKEN), JSON.stringify({ t: ctx.secrets.TOKEN }));
            return { echo: ctx.secrets.TOKEN };
          }`,
        },
      },
      { name: 'script-fail', kind: 'script', spec: { secrets: ['TOKEN'], code: 'export default async (ctx) => { throw new Error("bad " + ctx.secrets.TOKEN); }' } },
    ];
    for (const t of tasks) assert.equal((await api('POST', '/v1/tasks', t)).status, 201, t.name);
    // Shell tasks are admin-only.
    const shell = {
      name: 'shell-env',
      kind: 'shell',
      spec: { command: ['sh', '-c', 'echo "token=$TOKEN"; printf %s "$TOKEN" | base64 -w0; echo; echo "$TOKEN" >&2; exit 7'], env: { TOKEN: '{{secrets.TOKEN}}' } },
    };
    assert.equal((await api('POST', '/v1/tasks', shell, ADMIN_TOKEN)).status, 201);
    // A reference to a secret that does not exist is refused.
    const refused = await api<{ type: string }>('POST', '/v1/tasks', { name: 'nope', kind: 'http', spec: { url, headers: { a: '{{secrets.NOPE}}' } } });
    assert.equal(refused.status, 400);
    assert.match(refused.body.type, /secret_unknown/);
  });

  it('runs use the value; the receiver got it; logs, results and errors show the mask', async () => {
    for (const name of ['http-ok', 'http-fail', 'script-ok', 'script-fail']) runs.push(await runToEnd(name));
    runs.push(await runToEnd('shell-env', ADMIN_TOKEN));
    const [httpOk, httpFail, scriptOk, scriptFail, shell] = runs;
    assert.equal(httpOk!.status, 'succeeded', JSON.stringify(httpOk));
    assert.equal(receiver.received[0]!.headers.authorization, `Bearer ${SECRET}`);
    assert.deepEqual(JSON.parse(receiver.received[0]!.body), { token: SECRET });
    assert.equal(httpFail!.status, 'failed');
    assert.equal(httpFail!.error!.code, 'http_status');
    assert.match(JSON.stringify(httpFail!.error), /\[secret:TOKEN\]/, 'the URL in the error detail is masked');
    assert.equal(scriptOk!.status, 'succeeded', JSON.stringify(scriptOk!.error));
    assert.deepEqual(scriptOk!.result, { echo: '[secret:TOKEN]' });
    assert.equal(scriptFail!.status, 'failed');
    assert.match(scriptFail!.error!.message, /bad \[secret:TOKEN\]/);
    assert.equal(shell!.status, 'failed', JSON.stringify(shell));
    assert.equal((shell!.error!.detail as { exitCode: number }).exitCode, 7);
    const scriptLog = (await api<string>('GET', `/v1/runs/${scriptOk!.id}/logs`)).body;
    assert.match(scriptLog, /plain \[secret:TOKEN\]/);
    assert.match(scriptLog, /uri \[secret:TOKEN\] \{\\"t\\":\\"\[secret:TOKEN\]\\"\}/);
    const shellLog = (await api<string>('GET', `/v1/runs/${shell!.id}/logs`, undefined, ADMIN_TOKEN)).body;
    assert.equal((shellLog.match(/\[secret:TOKEN\]/g) ?? []).length, 3, shellLog);
    for (const r of runs) await api('GET', `/v1/runs/${r.id}/logs`, undefined, ADMIN_TOKEN);
    // Every read path an operator or admin has: tasks, runs, secrets, audit, stats.
    for (const path of ['/v1/tasks', '/v1/runs?limit=100', '/v1/secrets', '/v1/secrets/TOKEN', '/v1/audit?limit=500', '/v1/stats']) await api('GET', path, undefined, ADMIN_TOKEN);
    await api('GET', '/v1/secrets/TOKEN');
    // The event stream saw the runs end.
    await events.next((f) => f.includes(shell!.id) && f.includes('failed'), 10_000);
  });

  it('byte scan: no secret form and no key token in the database, WAL, server output, answers, events, logs or results', async () => {
    const places: [string, string][] = [
      ['server output', server.output.join('\n')],
      ['API answers', answers.join('\n')],
      ['event stream', events.text()],
    ];
    for (const f of readdirSync(dataDir)) {
      if (f.startsWith('sundial.db')) places.push([`data file ${f}`, readFileSync(join(dataDir, f)).toString('latin1')]);
    }
    assert.ok(places.some(([p]) => p.endsWith('sundial.db-wal')) || places.some(([p]) => p.endsWith('sundial.db')), 'the database files were scanned');
    assert.ok(events.text().includes('run'), 'the event stream carried run events');
    assert.ok(answers.join('\n').includes('[secret:TOKEN]'), 'the masks are in the answers');
    for (const [where, text] of places) {
      for (const form of FORMS) assert.ok(!text.includes(form), `${where} contains the secret (${form === SECRET ? 'plain' : 'encoded'})`);
      assert.ok(!text.includes(token), `${where} contains the operator key's token`);
      assert.ok(!text.includes(ADMIN_TOKEN), `${where} contains the admin token`);
    }
    // After a clean stop (WAL checkpointed into the main file) the files are still clean.
    events.close();
    await server.kill('SIGTERM');
    for (const f of readdirSync(dataDir).filter((n) => n.startsWith('sundial.db'))) {
      const bytes = readFileSync(join(dataDir, f)).toString('latin1');
      for (const form of FORMS) assert.ok(!bytes.includes(form), `${f} contains the secret after shutdown`);
      assert.ok(!bytes.includes(token), `${f} contains the token after shutdown`);
    }
    const output = server.output.join('\n');
    for (const form of FORMS) assert.ok(!output.includes(form), 'the server output contains the secret after shutdown');
  });
});

describe('secrets on PostgreSQL (a cluster)', () => {
  it('without SUNDIAL_SECRETS_KEY a node refuses secret writes (501, saying what to set) and logs why; with it, a run uses the secret', async () => {
    const db = await createTestDatabase('sundial_e2e_secrets');
    let node: ServerProcess | null = null;
    try {
      node = await startServerProcess({ ...makeDirs(), env: { SUNDIAL_DATABASE_URL: db.url } });
      const refused = await node.api<{ type: string; detail: string }>('PUT', '/v1/secrets/TOKEN', { value: SECRET });
      assert.equal(refused.status, 501);
      assert.match(refused.body.type, /secrets_key_missing/);
      assert.match(refused.body.detail, /SUNDIAL_SECRETS_KEY.*every node/);
      assert.ok(node.output.some((l) => l.includes('SUNDIAL_SECRETS_KEY') && l.includes('every node')), node.output.join('\n'));
      await node.kill('SIGTERM');
      const dirs = makeDirs();
      assert.ok(!existsSync(join(dirs.dataDir, 'secrets.key')));

      node = await startServerProcess({ ...dirs, env: { SUNDIAL_DATABASE_URL: db.url, SUNDIAL_SECRETS_KEY: randomBytes(32).toString('base64') } });
      assert.equal((await node.api('PUT', '/v1/secrets/TOKEN', { value: SECRET })).status, 201);
      const task = { name: 'pg-script', kind: 'script', spec: { secrets: ['TOKEN'], code: 'export default (ctx) => ctx.secrets.TOKEN.length' } };
      assert.equal((await node.api('POST', '/v1/tasks', task)).status, 201);
      const run = (await node.api<{ id: string }>('POST', '/v1/tasks/pg-script/runs', {})).body;
      const done = await eventually(async () => {
        const r = (await node!.api<RunView>('GET', `/v1/runs/${run.id}`)).body;
        return ['succeeded', 'failed'].includes(r.status) ? r : null;
      }, 30_000);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      assert.equal(done.result, SECRET.length);
      assert.ok(!existsSync(join(dirs.dataDir, 'secrets.key')), 'a cluster node never writes a key file');
    } finally {
      await node?.kill('SIGTERM');
      await db.drop();
    }
  });
});

describe('key rotation on a single node', () => {
  it('a new key rewraps at start (the generated file read as the previous key); without the old key afterwards runs still work; with a wrong key they fail secret_unreadable', async () => {
    const dirs = makeDirs();
    const keyFile = join(dirs.dataDir, 'secrets.key');
    const newKey = randomBytes(32).toString('base64');
    let node: ServerProcess | null = null;
    const runOnce = async (): Promise<RunView> => {
      const run = (await node!.api<{ id: string }>('POST', '/v1/tasks/len/runs', {})).body;
      return eventually(async () => {
        const r = (await node!.api<RunView>('GET', `/v1/runs/${run.id}`)).body;
        return ['succeeded', 'failed'].includes(r.status) ? r : null;
      }, 30_000);
    };
    try {
      node = await startServerProcess(dirs);
      assert.equal((await node.api('PUT', '/v1/secrets/TOKEN', { value: SECRET })).status, 201);
      const task = { name: 'len', kind: 'script', spec: { secrets: ['TOKEN'], code: 'export default (ctx) => ctx.secrets.TOKEN.length' } };
      assert.equal((await node.api('POST', '/v1/tasks', task)).status, 201);
      assert.equal((await runOnce()).result, SECRET.length);
      await node.kill('SIGTERM');

      node = await startServerProcess({ ...dirs, env: { SUNDIAL_SECRETS_KEY: newKey } });
      assert.ok(node.output.some((l) => l.includes('rewrapped secrets') && l.includes('"rewrapped":1')), node.output.join('\n'));
      assert.equal((await runOnce()).result, SECRET.length);
      await node.kill('SIGTERM');

      rmSync(keyFile);
      node = await startServerProcess({ ...dirs, env: { SUNDIAL_SECRETS_KEY: newKey } });
      assert.ok(!node.output.some((l) => l.includes('rewrapped secrets')), 'nothing left to rewrap');
      assert.equal((await runOnce()).result, SECRET.length, 'the old key is no longer needed');
      assert.ok(!existsSync(keyFile), 'a node given a key writes no key file');
      await node.kill('SIGTERM');

      node = await startServerProcess({ ...dirs, env: { SUNDIAL_SECRETS_KEY: randomBytes(32).toString('base64') } });
      assert.ok(node.output.some((l) => l.includes('does not hold') && l.includes('TOKEN')), node.output.join('\n'));
      const failed = await runOnce();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.code, 'secret_unreadable');
      for (const line of node.output) assert.ok(!line.includes(newKey) && !line.includes(SECRET));
    } finally {
      await node?.kill('SIGTERM');
    }
  });
});
