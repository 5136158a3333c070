// Secrets on the run path, through createExecutor: `{{secrets.NAME}}` reaches an http target in
// the URL, a header and the body (checked by a local receiver), a shell command in its env, and a
// script as ctx.secrets (only the names its spec lists); every value, and its encoded forms, is
// masked in the live lines (before they are published), the stored log, the result and the error;
// a missing or unreadable secret fails the run with its code before anything runs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import type { LogLine } from '../../src/core/types.js';
import { createExecutor } from '../../src/executor/create-executor.js';
import type { Executor, RunJob, RunOutcome, RunOutput } from '../../src/executor/executor.js';
import type { SecretLookup } from '../../src/executor/secret-binding.js';
import { FIXTURE_TASKS, httpJob, moduleJob } from './helpers.js';

const TOKEN = 'tok-9f8e7d6c5b4a/+=?&"x';
const OTHER = 'other-value-never-listed-42';
const SECRETS: Record<string, Record<string, string>> = { default: { TOKEN, OTHER }, team: { TOKEN: 'team-token-value-77' } };

/** Every line handed to the output while runs ran (what the bus and the store would get). */
const published: LogLine[] = [];
const lookups: { namespace: string; names: string[] }[] = [];

const output: RunOutput = (() => {
  const kept = new Map<string, LogLine[]>();
  return {
    lines(job, lines) {
      published.push(...lines);
      kept.set(job.runId, [...(kept.get(job.runId) ?? []), ...lines]);
    },
    sample() {},
    finish(job, outcome) {
      outcome.logs = [...(kept.get(job.runId) ?? []), ...outcome.logs];
      kept.delete(job.runId);
    },
  };
})();

let ex: Executor;
let server: Server;
let base: string;
let dataDir: string;
const received: { url: string; auth: string | undefined; body: string }[] = [];

function leaks(outcome: RunOutcome, values: string[]): string[] {
  const text = JSON.stringify({ logs: outcome.logs, result: outcome.result, error: outcome.error }) + JSON.stringify(published);
  const found: string[] = [];
  for (const v of values) {
    for (const form of [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('base64url'), encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]) {
      if (text.includes(form)) found.push(form);
    }
  }
  return found;
}

before(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ url: req.url ?? '', auth: req.headers.authorization, body });
      const ok = req.headers.authorization === `Bearer ${TOKEN}`;
      // Echoes what it got, the way a careless API does in its error pages.
      res.writeHead(req.url?.startsWith('/fail') ? 500 : ok ? 200 : 401, { 'content-type': 'text/plain' });
      res.end(`you sent ${req.headers.authorization ?? ''} and ${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dataDir = mkdtempSync(join(tmpdir(), 'sundial-secret-refs-'));
  ex = createExecutor({
    tasksDir: FIXTURE_TASKS,
    workers: 1,
    logMaxBytes: 65_536,
    resultMaxBytes: 65_536,
    httpBodyExcerptBytes: 4096,
    outboundAllow: ['127.0.0.1'],
    killGraceMs: 200,
    clock: systemClock,
    bus: new EventBus(),
    output,
    script: { workers: 1, defaultMemoryBytes: 64 * 1024 * 1024, memoryMaxBytes: 128 * 1024 * 1024 },
    shell: { enabled: true, dataDir, network: false, sandbox: 'auto', maxLimits: {} },
    secrets: async (namespace, names): Promise<SecretLookup> => {
      lookups.push({ namespace, names });
      const ns = SECRETS[namespace] ?? {};
      if (names.includes('BROKEN')) return { unreadable: ['BROKEN'], reason: 'sealed under key kek-x, which this node does not hold' };
      const missing = names.filter((n) => ns[n] === undefined);
      if (missing.length > 0) return { missing };
      return { values: new Map(names.map((n) => [n, ns[n]!])) };
    },
  });
});
after(async () => {
  await ex.close(1000);
  server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('secret references', () => {
  it('http: the value reaches the target in URL, header and body; the echo in the result is masked', async () => {
    const job = httpJob({
      url: `${base}/hook?k={{secrets.TOKEN}}`,
      method: 'POST',
      headers: { authorization: 'Bearer {{secrets.TOKEN}}' },
      body: { token: '{{secrets.TOKEN}}' },
    });
    const out = await ex.execute(job);
    assert.equal(out.status, 'succeeded', JSON.stringify(out.error));
    const got = received.at(-1)!;
    assert.equal(got.auth, `Bearer ${TOKEN}`);
    assert.equal(new URL(got.url, base).searchParams.get('k'), TOKEN);
    assert.deepEqual(JSON.parse(got.body), { token: TOKEN });
    const body = (out.result as { body: string }).body;
    assert.match(body, /you sent Bearer \[secret:TOKEN\] and \{"token":"\[secret:TOKEN\]"\}/);
    assert.deepEqual(leaks(out, [TOKEN]), []);
    // The job the dispatcher holds keeps its references.
    assert.equal((job.spec as { headers: Record<string, string> }).headers.authorization, 'Bearer {{secrets.TOKEN}}');
  });

  it('http: an error (status, URL in its detail, body in its result) is masked too', async () => {
    const out = await ex.execute(httpJob({ url: `${base}/fail/{{secrets.TOKEN}}`, headers: { authorization: 'Bearer {{secrets.TOKEN}}' } }));
    assert.equal(out.status, 'failed');
    assert.equal(out.error?.code, 'http_status');
    assert.match(JSON.stringify(out.error), /\[secret:TOKEN\]/);
    assert.deepEqual(leaks(out, [TOKEN]), []);
  });

  it('shell: the value is in the env; what the command prints of it (plain, base64) is masked', async () => {
    const out = await ex.execute({
      ...moduleJob('x'),
      kind: 'shell',
      spec: {
        command: ['sh', '-c', 'test "$TOKEN" = "$EXPECTED_NOT_SECRET" || exit 3; echo "token=$TOKEN"; printf %s "$TOKEN" | base64; echo "$TOKEN" >&2; exit 4'],
        env: { TOKEN: '{{secrets.TOKEN}}', EXPECTED_NOT_SECRET: TOKEN },
      },
    } as RunJob);
    // Exit 4 (not 3): the command saw the value; failing makes an error to check as well.
    assert.equal(out.status, 'failed', JSON.stringify(out));
    assert.equal((out.error?.detail as { exitCode?: number }).exitCode, 4, JSON.stringify(out.error));
    const lines = out.logs.map((l) => l.message);
    assert.ok(lines.includes('token=[secret:TOKEN]'), lines.join('\n'));
    assert.ok(lines.some((l) => l === '[secret:TOKEN]'), lines.join('\n'));
    assert.deepEqual(leaks(out, [TOKEN]), []);
  });

  it('script: ctx.secrets holds only the listed names; logs, result and error are masked', async () => {
    const code = `export default async (ctx) => {
      ctx.log('plain ' + ctx.secrets.TOKEN);
      console.log('encoded ' + encodeURIComponent(ctx.secrets.TOKEN) + ' json ' + JSON.stringify({ t: ctx.secrets.TOKEN }));
      if (ctx.payload === 'throw') throw new Error('bad token ' + ctx.secrets.TOKEN);
      return { t: ctx.secrets.TOKEN, names: Object.keys(ctx.secrets), other: ctx.secrets.OTHER === undefined, frozen: Object.isFrozen(ctx.secrets) };
    }`;
    const job = { ...moduleJob('x'), kind: 'script', spec: { code, secrets: ['TOKEN'] } } as RunJob;
    const out = await ex.execute(job);
    assert.equal(out.status, 'succeeded', JSON.stringify(out.error));
    assert.deepEqual(out.result, { t: '[secret:TOKEN]', names: ['TOKEN'], other: true, frozen: true });
    const lines = out.logs.map((l) => l.message);
    assert.ok(lines.includes('plain [secret:TOKEN]'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('encoded [secret:TOKEN] json {"t":"[secret:TOKEN]"}')), lines.join('\n'));
    const failed = await ex.execute({ ...job, runId: 'run-script-throw', payload: 'throw' });
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!.message, /bad token \[secret:TOKEN\]/);
    assert.deepEqual(leaks(out, [TOKEN, OTHER]), []);
    assert.deepEqual(leaks(failed, [TOKEN, OTHER]), []);
    // A script that lists no secrets gets an empty ctx.secrets and no lookup happens.
    const before = lookups.length;
    const plain = await ex.execute({ ...moduleJob('x'), kind: 'script', spec: { code: 'export default (ctx) => Object.keys(ctx.secrets).length' } } as RunJob);
    assert.equal(plain.result, 0);
    assert.equal(lookups.length, before);
  });

  it('secrets come from the run\'s own namespace', async () => {
    const out = await ex.execute({ ...moduleJob('x'), namespace: 'team', kind: 'script', spec: { code: 'export default (ctx) => ctx.secrets.TOKEN.length', secrets: ['TOKEN'] } } as RunJob);
    assert.equal(out.result, 'team-token-value-77'.length);
    assert.deepEqual(lookups.at(-1), { namespace: 'team', names: ['TOKEN'] });
  });

  it('a run cancelled while its secrets are read ends cancelled without running', async () => {
    const count = received.length;
    const job = httpJob({ url: `${base}/hook`, headers: { authorization: 'Bearer {{secrets.TOKEN}}' } });
    const pending = ex.execute(job);
    assert.equal(ex.cancel(job.runId), true);
    const out = await pending;
    assert.equal(out.status, 'cancelled');
    assert.equal(out.error?.code, 'cancelled');
    assert.equal(received.length, count, 'the target was never called');
  });

  it('a missing secret fails the run secret_missing, an unreadable one secret_unreadable, before anything runs', async () => {
    const count = received.length;
    const missing = await ex.execute(httpJob({ url: `${base}/hook`, headers: { authorization: 'Bearer {{secrets.NOT_SET}}' } }));
    assert.equal(missing.status, 'failed');
    assert.equal(missing.error?.code, 'secret_missing');
    assert.deepEqual(missing.error?.detail, { names: ['NOT_SET'] });
    assert.match(missing.error!.message, /"NOT_SET".*namespace "default"/);
    const broken = await ex.execute({ ...moduleJob('x'), kind: 'shell', spec: { command: ['true'], env: { A: '{{secrets.BROKEN}}' } } } as RunJob);
    assert.equal(broken.error?.code, 'secret_unreadable');
    assert.match(broken.error!.message, /kek-x/);
    assert.equal(received.length, count, 'the target was never called');
  });
});
