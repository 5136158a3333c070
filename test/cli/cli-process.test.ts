// The CLI as a user runs it: a real process against a stub API, checking what goes over the
// wire (method, path, query, headers, body) and what comes out (stdout, stderr, exit code).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closedPort, runCli, startStub, type Routes, type Stub } from './cli-harness.js';

const TASK_ID = '0193a1b2-0000-7000-8000-000000000001';
const TASK = {
  id: TASK_ID,
  namespace: 'default',
  name: 'nightly report',
  description: null,
  kind: 'http',
  spec: { url: 'https://example.com/hook', method: 'POST' },
  schedule: { type: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' },
  policies: { retry: { maxAttempts: 3, backoff: { type: 'exponential', initial: '1s', max: '5m', jitter: true } }, timeout: '5m' },
  payload: null,
  status: 'active',
  firedCount: 0,
  nextRunAt: '2026-12-01T02:00:00.000Z',
  lastRunAt: null,
  lastRunStatus: null,
  version: 4,
  createdAt: '2026-11-28T12:00:00.000Z',
  updatedAt: '2026-11-28T12:00:00.000Z',
  createdBy: 'key:admin',
  updatedBy: 'key:admin',
};
const RUN = {
  id: 'run-1',
  namespace: 'default',
  taskId: TASK_ID,
  taskName: 'nightly report',
  status: 'succeeded',
  attempt: 1,
  retryOf: null,
  trigger: 'manual',
  scheduledFor: '2026-11-28T12:00:00.000Z',
  queuedAt: '2026-11-28T12:00:00.002Z',
  startedAt: '2026-11-28T12:00:00.012Z',
  finishedAt: '2026-11-28T12:00:01.512Z',
  lateMs: 12,
  durationMs: 1500,
  node: 'node-a',
  result: { ok: true },
  error: null,
  reason: null,
  idempotencyKey: 'idem-1',
  payload: null,
  cpuMs: 40,
  peakRssBytes: 52_428_800,
  diskWriteBytes: 0,
  logsTruncated: false,
};
const VALIDATION_PROBLEM = {
  type: 'https://sundial.dev/problems/validation_failed',
  title: 'The request is not valid',
  status: 400,
  detail: '2 fields are not valid',
  errors: [
    { path: '/schedule/timezone', message: 'unknown time zone "CEST"; use an IANA name' },
    { path: '/name', message: 'is required' },
  ],
};

/** Starts a stub, runs the CLI against it (with --url), closes the stub. */
async function withStub(routes: Routes, args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const stub: Stub = await startStub(routes);
  try {
    const result = await runCli(['--url', stub.url, ...args], opts);
    return { ...result, requests: stub.requests };
  } finally {
    await stub.close();
  }
}

describe('sundial task', { concurrency: 8 }, () => {
  it('create: flags become the body, the key the bearer token, and a confirmation is printed', async () => {
    const r = await withStub({ 'POST /v1/tasks': { status: 201, json: { ...TASK, name: 'ping' } } }, [
      '--token',
      'sk_test',
      'task',
      'create',
      '--name',
      'ping',
      '--url-target',
      'https://example.com/hook',
      '--method',
      'post',
      '--header',
      'X-Sig: abc',
      '--cron',
      '0 3 * * *',
      '--tz',
      'Europe/Berlin',
      '--max-attempts',
      '3',
      '--timeout',
      '30s',
      '--payload',
      '{"a":1}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.requests.length, 1);
    const req = r.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/tasks');
    assert.equal(req.headers.authorization, 'Bearer sk_test');
    assert.match(String(req.headers['content-type']), /^application\/json/);
    assert.deepEqual(req.body, {
      name: 'ping',
      kind: 'http',
      spec: { url: 'https://example.com/hook', method: 'POST', headers: { 'X-Sig': 'abc' } },
      schedule: { type: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' },
      policies: { retry: { maxAttempts: 3 }, timeout: '30s' },
      payload: { a: 1 },
    });
    assert.equal(r.stdout, `created task ping (${TASK_ID}); next run 2026-12-01 02:00:00\n`);
    assert.equal(r.stderr, '');
  });

  it('create --from-file - reads the task from stdin, flags win, --namespace goes into the body', async () => {
    const file = { name: 'from-file', kind: 'module', spec: { file: 'report.js' }, schedule: { type: 'interval', every: '1h' } };
    const r = await withStub(
      { 'POST /v1/tasks': { status: 201, json: TASK } },
      ['--namespace', 'team-a', 'task', 'create', '--from-file', '-', '--name', 'renamed', '--jitter', '5s'],
      { input: JSON.stringify(file) },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.requests[0]!.body, {
      name: 'renamed',
      kind: 'module',
      spec: { file: 'report.js' },
      schedule: { type: 'interval', every: '1h', jitter: '5s' },
      namespace: 'team-a',
    });
    assert.equal(r.requests[0]!.query.get('namespace'), 'team-a');
    assert.equal(r.requests[0]!.headers.authorization, undefined);
  });

  it('create of a shell task takes its argv after --', async () => {
    const r = await withStub({ 'POST /v1/tasks': { status: 201, json: TASK } }, [
      'task',
      'create',
      '--name',
      'backup',
      '--every',
      '1d',
      '--',
      '/usr/bin/backup',
      '--full',
      '-v',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.requests[0]!.body, {
      name: 'backup',
      kind: 'shell',
      spec: { command: ['/usr/bin/backup', '--full', '-v'] },
      schedule: { type: 'interval', every: '1d' },
    });
  });

  it('list: filters as query parameters and an aligned table; a further page is hinted on stderr', async () => {
    const paused = { ...TASK, name: 'ping', kind: 'script', schedule: { type: 'interval', every: '5m' }, status: 'paused', nextRunAt: null, lastRunStatus: 'failed' };
    const r = await withStub({ 'GET /v1/tasks': { json: { items: [TASK, paused], nextCursor: 'c2' } } }, [
      'task',
      'list',
      '--status',
      'active',
      '--q',
      'report',
      '--limit',
      '2',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const q = r.requests[0]!.query;
    assert.deepEqual([q.get('status'), q.get('q'), q.get('limit'), q.get('cursor')], ['active', 'report', '2', null]);
    assert.equal(
      r.stdout,
      [
        'NAME            KIND    SCHEDULE                      STATUS  NEXT RUN             LAST',
        'nightly report  http    cron 0 3 * * * Europe/Berlin  active  2026-12-01 02:00:00  -',
        'ping            script  every 5m                      paused  -                    failed',
        '',
      ].join('\n'),
    );
    assert.equal(r.stderr, 'more tasks: add --all, or --cursor c2\n');
  });

  it('list --all --json follows the cursors and prints one JSON document', async () => {
    const r = await withStub(
      {
        'GET /v1/tasks': (req) =>
          req.query.get('cursor') === 'c2' ? { json: { items: [{ name: 'b' }], nextCursor: null } } : { json: { items: [{ name: 'a' }], nextCursor: 'c2' } },
      },
      ['task', 'list', '--all', '--json'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.requests.length, 2);
    assert.deepEqual(JSON.parse(r.stdout), { items: [{ name: 'a' }, { name: 'b' }], nextCursor: null });
  });

  it('get: the name is one encoded path segment; --json prints the API JSON as-is; global flags work after the command', async () => {
    const r = await withStub({ 'GET /v1/tasks/nightly%20report': { json: TASK } }, ['task', 'get', 'nightly report', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), TASK);

    const people = await withStub({ 'GET /v1/tasks/nightly%20report': { json: TASK } }, ['task', 'get', 'nightly report']);
    assert.equal(people.code, 0, people.stderr);
    assert.match(people.stdout, /^id +0193a1b2-0000-7000-8000-000000000001$/m);
    assert.match(people.stdout, /^spec\.url +https:\/\/example\.com\/hook$/m);
    assert.match(people.stdout, /^schedule +cron 0 3 \* \* \* Europe\/Berlin$/m);
    assert.match(people.stdout, /^policies\.retry\.maxAttempts +3$/m);
    assert.match(people.stdout, /^next run +2026-12-01 02:00:00$/m);
  });

  it('update: a policy flag alone is one PATCH with only that field', async () => {
    const r = await withStub({ 'PATCH /v1/tasks/nightly': { json: TASK } }, ['task', 'update', 'nightly', '--timeout', '10s', '--priority', '-3']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.requests.length, 1);
    assert.deepEqual(r.requests[0]!.body, { policies: { timeout: '10s', priority: -3 } });
    assert.equal(r.requests[0]!.headers['if-match'], undefined);
    assert.equal(r.stdout, 'updated task nightly report; next run 2026-12-01 02:00:00\n');
  });

  it('update: a partial spec change reads the task and writes the merged spec with If-Match', async () => {
    const r = await withStub(
      {
        [`GET /v1/tasks/${TASK_ID}`]: { json: TASK, headers: { etag: '"4"' } },
        [`PATCH /v1/tasks/${TASK_ID}`]: { json: TASK },
      },
      ['task', 'update', TASK_ID, '--method', 'put', '--tz', 'UTC'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.requests.map((q) => q.method), ['GET', 'PATCH']);
    assert.equal(r.requests[1]!.headers['if-match'], '"4"');
    assert.deepEqual(r.requests[1]!.body, {
      spec: { url: 'https://example.com/hook', method: 'PUT' },
      schedule: { type: 'cron', expression: '0 3 * * *', timezone: 'UTC' },
    });
  });

  it('update: a stale If-Match comes back as the server\'s 412 problem', async () => {
    const r = await withStub(
      {
        'GET /v1/tasks/x': { json: TASK, headers: { etag: '"4"' } },
        'PATCH /v1/tasks/x': { status: 412, problem: { title: 'The task changed since you read it', detail: 'the task is at version 5, not 4; read it again', status: 412 } },
      },
      ['task', 'update', 'x', '--url-target', 'https://other.test'],
    );
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: The task changed since you read it: the task is at version 5, not 4; read it again\n');
  });

  it('delete, pause and resume hit their routes', async () => {
    const del = await withStub({ 'DELETE /v1/tasks/x': { status: 204 } }, ['task', 'delete', 'x']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, 'deleted task x\n');
    const pause = await withStub({ 'POST /v1/tasks/x/pause': { json: { ...TASK, status: 'paused' } } }, ['task', 'pause', 'x']);
    assert.equal(pause.stdout, 'paused task nightly report\n');
    assert.equal(pause.requests[0]!.body, undefined);
    const resume = await withStub({ 'POST /v1/tasks/x/resume': { json: TASK } }, ['task', 'resume', 'x']);
    assert.equal(resume.stdout, 'resumed task nightly report\n');
  });

  it('run: posts payload and idempotency key and prints only the run id', async () => {
    const r = await withStub({ 'POST /v1/tasks/x/runs': { status: 201, json: { ...RUN, status: 'scheduled' } } }, [
      'task',
      'run',
      'x',
      '--payload',
      '{"date":"2026-11-28"}',
      '--idempotency-key',
      'k1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.requests[0]!.body, { payload: { date: '2026-11-28' }, idempotencyKey: 'k1' });
    assert.equal(r.stdout, 'run-1\n');
  });

  it('run --wait polls until the run ends and exits 0 when it succeeded', async () => {
    const r = await withStub(
      {
        'POST /v1/tasks/x/runs': { status: 201, json: { ...RUN, status: 'scheduled' } },
        'GET /v1/runs/run-1': (_req, n) => ({ json: n < 3 ? { ...RUN, status: n === 1 ? 'queued' : 'running' } : RUN }),
      },
      ['task', 'run', 'x', '--wait'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.requests.filter((q) => q.path === '/v1/runs/run-1').length, 3);
    assert.equal(r.stdout, 'run-1\n');
    assert.equal(r.stderr, 'run run-1 succeeded in 1.5s\n');
  });

  it('run --wait exits 3 with the run\'s error when it did not succeed', async () => {
    const failed = { ...RUN, status: 'failed', error: { code: 'http_status', message: 'got 500 from https://example.com/hook' } };
    const r = await withStub(
      { 'POST /v1/tasks/x/runs': { status: 201, json: RUN }, 'GET /v1/runs/run-1': { json: failed } },
      ['task', 'run', 'x', '--wait', '--json'],
    );
    assert.equal(r.code, 3);
    assert.deepEqual(JSON.parse(r.stdout), failed);
    assert.equal(r.stderr, 'error: run run-1 failed in 1.5s: http_status: got 500 from https://example.com/hook\n');
  });

  it('schedule: --at asks for one run, --every for a recurrence', async () => {
    const once = await withStub({ 'POST /v1/tasks/x/schedule': { status: 201, json: { ...RUN, status: 'scheduled', scheduledFor: '2026-12-01T09:00:00.000Z' } } }, [
      'task',
      'schedule',
      'x',
      '--at',
      '2026-12-01T09:00:00Z',
    ]);
    assert.equal(once.code, 0, once.stderr);
    assert.deepEqual(once.requests[0]!.body, { at: '2026-12-01T09:00:00Z' });
    assert.equal(once.stdout, 'run-1\n');
    assert.equal(once.stderr, 'scheduled run run-1 for 2026-12-01 09:00:00\n');

    const every = await withStub({ 'POST /v1/tasks/x/schedule': { status: 201, json: { ...TASK, schedule: { type: 'interval', every: '15m' } } } }, [
      'task',
      'schedule',
      'x',
      '--every',
      '15m',
      '--end',
      '2027-01-01T00:00:00Z',
    ]);
    assert.deepEqual(every.requests[0]!.body, { schedule: { type: 'interval', every: '15m', endAt: '2027-01-01T00:00:00Z' } });
    assert.equal(every.stdout, 'scheduled task nightly report: every 15m; next run 2026-12-01 02:00:00\n');
  });
});

describe('sundial run, schedule, key and admin commands', { concurrency: 8 }, () => {
  it('run list: filters and the runs table', async () => {
    const retry = { ...RUN, id: 'run-2', status: 'failed', attempt: 2, lateMs: 250, durationMs: 185_000 };
    const r = await withStub({ 'GET /v1/runs': { json: { items: [RUN, retry], nextCursor: null } } }, [
      'run',
      'list',
      '--task',
      'nightly',
      '--status',
      'failed,succeeded',
      '--from',
      '2026-11-01T00:00:00Z',
      '--to',
      '2026-12-01',
      '--limit',
      '50',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const q = r.requests[0]!.query;
    assert.deepEqual(
      [q.get('task'), q.get('status'), q.get('from'), q.get('to'), q.get('limit')],
      ['nightly', 'failed,succeeded', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00.000Z', '50'],
    );
    assert.equal(
      r.stdout,
      [
        'ID     TASK            STATUS     ATTEMPT  SCHEDULED             LATE  DURATION',
        'run-1  nightly report  succeeded        1  2026-11-28 12:00:00   12ms      1.5s',
        'run-2  nightly report  failed           2  2026-11-28 12:00:00  250ms     3m05s',
        '',
      ].join('\n'),
    );
  });

  it('run get, logs, reschedule and cancel', async () => {
    const get = await withStub({ 'GET /v1/runs/run-1': { json: RUN } }, ['run', 'get', 'run-1']);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^status +succeeded$/m);
    assert.match(get.stdout, /^late +12ms$/m);
    assert.match(get.stdout, /^result +\{"ok":true\}$/m);
    assert.match(get.stdout, /^peak memory +50\.0 MiB$/m);

    const ndjson =
      '{"at":"2026-11-28T12:00:00.120Z","level":"info","message":"starting"}\n{"at":"2026-11-28T12:00:01.005Z","level":"error","message":"boom\\u001b[31m"}\n';
    const logsRoute = { 'GET /v1/runs/run-1/logs': { text: ndjson, headers: { 'content-type': 'application/x-ndjson; charset=utf-8' } } };
    const logs = await withStub(logsRoute, ['run', 'logs', 'run-1']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, '2026-11-28 12:00:00.120 INFO  starting\n2026-11-28 12:00:01.005 ERROR boom?[31m\n');
    const logsJson = await withStub(logsRoute, ['run', 'logs', 'run-1', '--json']);
    assert.equal(logsJson.stdout, ndjson);

    const resched = await withStub({ 'POST /v1/runs/run-1/reschedule': { json: { ...RUN, status: 'scheduled', scheduledFor: '2026-12-24T18:00:00.000Z' } } }, [
      'run',
      'reschedule',
      'run-1',
      '--at',
      '2026-12-24T18:00:00Z',
    ]);
    assert.deepEqual(resched.requests[0]!.body, { at: '2026-12-24T18:00:00Z' });
    assert.equal(resched.stdout, 'rescheduled run run-1 for 2026-12-24 18:00:00\n');

    const cancel = await withStub({ 'POST /v1/runs/run-1/cancel': { json: { ...RUN, status: 'cancelled' } } }, ['run', 'cancel', 'run-1']);
    assert.equal(cancel.stdout, 'cancelled run run-1\n');
  });

  it('run logs --follow prints server-sent log lines until the end event', async () => {
    const sse = [
      'event: log\ndata: {"at":"2026-11-28T12:00:00.000Z","level":"info","message":"one"}\n\n',
      ': keep-alive\n\n',
      'event: log\ndata: {"at":"2026-11-28T12:00:00.500Z","level":"warn","message":"two"}\n\n',
      'event: end\ndata: {"status":"succeeded"}\n\n',
    ].join('');
    const r = await withStub({ 'GET /v1/runs/run-1/logs': { text: sse, headers: { 'content-type': 'text/event-stream' } } }, ['run', 'logs', 'run-1', '--follow']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.requests[0]!.query.get('follow'), '1');
    assert.equal(r.stdout, '2026-11-28 12:00:00.000 INFO  one\n2026-11-28 12:00:00.500 WARN  two\n');
  });

  it('run logs --follow polls the run and its log where the server has no live stream (501)', async () => {
    const line = (i: number) => JSON.stringify({ at: `2026-11-28T12:00:0${i}.000Z`, level: 'info', message: `line ${i}` });
    const r = await withStub(
      {
        'GET /v1/runs/run-1/logs': (req, n) =>
          req.query.get('follow') === '1'
            ? { status: 501, problem: { title: 'Not implemented yet', status: 501 } }
            : { text: [line(1), ...(n >= 3 ? [line(2)] : []), ''].join('\n'), headers: { 'content-type': 'application/x-ndjson' } },
        'GET /v1/runs/run-1': (_req, n) => ({ json: { ...RUN, status: n < 2 ? 'running' : 'succeeded' } }),
      },
      ['run', 'logs', 'run-1', '-f'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2026-11-28 12:00:01.000 INFO  line 1\n2026-11-28 12:00:02.000 INFO  line 2\n');
  });

  it('schedule preview: sends the schedule and prints local (the cron zone) and UTC times', async () => {
    const times = ['2026-03-29T00:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-29T23:30:00.000Z'];
    const r = await withStub(
      { 'POST /v1/schedules/preview': { json: { times, description: 'at 01:30 and 03:30 (Europe/Berlin)' } } },
      ['schedule', 'preview', '--cron', '30 1,3 * * *', '--tz', 'Europe/Berlin', '--count', '3', '--from', '2026-03-28T00:00:00Z'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.requests[0]!.body, {
      schedule: { type: 'cron', expression: '30 1,3 * * *', timezone: 'Europe/Berlin' },
      count: 3,
      from: '2026-03-28T00:00:00Z',
    });
    assert.equal(
      r.stdout,
      [
        'at 01:30 and 03:30 (Europe/Berlin)',
        '#  LOCAL (Europe/Berlin)       UTC',
        '1  2026-03-29 01:30:00 +01:00  2026-03-29T00:30:00.000Z',
        '2  2026-03-29 03:30:00 +02:00  2026-03-29T01:30:00.000Z',
        '3  2026-03-30 01:30:00 +02:00  2026-03-29T23:30:00.000Z',
        '',
      ].join('\n'),
    );
  });

  it('secret set reads the value from stdin (never argv), list shows no value, delete', async () => {
    const view = { name: 'API_TOKEN', namespace: 'team-a', version: 2, createdAt: '2026-11-28T12:00:00.000Z', createdBy: 'key:a', updatedAt: '2026-11-28T13:00:00.000Z', updatedBy: 'key:b' };
    const set = await withStub({ 'PUT /v1/secrets/API_TOKEN': { status: 200, json: view } }, ['--namespace', 'team-a', 'secret', 'set', 'API_TOKEN'], { input: 's3cr3t value\n' });
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(set.requests[0]!.body, { value: 's3cr3t value', namespace: 'team-a' });
    assert.equal(set.stdout, '');
    assert.match(set.stderr, /updated secret API_TOKEN in team-a \(version 2\)/);
    assert.ok(!set.stderr.includes('s3cr3t'));
    const empty = await withStub({}, ['secret', 'set', 'API_TOKEN'], { input: '' });
    assert.equal(empty.code, 2);
    assert.equal(empty.requests.length, 0);

    const list = await withStub({ 'GET /v1/secrets': { json: { items: [view], nextCursor: null } } }, ['secret', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'NAME       NAMESPACE  VERSION  UPDATED              BY\nAPI_TOKEN  team-a     2        2026-11-28 13:00:00  key:b\n');

    const del = await withStub({ 'DELETE /v1/secrets/API_TOKEN': { status: 204 } }, ['secret', 'delete', 'API_TOKEN']);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stderr, /deleted secret API_TOKEN/);
  });

  it('key create prints only the secret on stdout; list and revoke', async () => {
    const key = { id: 'k1', name: 'ci', role: 'operator', namespaces: ['team-a'], prefix: 'sk_abcd', createdAt: '2026-11-28T12:00:00.000Z', createdBy: 'key:admin', lastUsedAt: null, revokedAt: null };
    const created = await withStub({ 'POST /v1/api-keys': { status: 201, json: { key, secret: 'sk_abcdSECRET' } } }, [
      'key',
      'create',
      '--name',
      'ci',
      '--role',
      'operator',
      '--namespaces',
      'team-a, team-b',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(created.requests[0]!.body, { name: 'ci', role: 'operator', namespaces: ['team-a', 'team-b'] });
    assert.equal(created.stdout, 'sk_abcdSECRET\n');
    assert.match(created.stderr, /created key ci \(k1, operator\)/);

    const list = await withStub({ 'GET /v1/api-keys': { json: { items: [key], nextCursor: null } } }, ['key', 'list']);
    assert.equal(
      list.stdout,
      'ID  NAME  ROLE      NAMESPACES  PREFIX   CREATED              LAST USED  EXPIRES  REVOKED\nk1  ci    operator  team-a      sk_abcd  2026-11-28 12:00:00  -          -        -\n',
    );

    const scoped = await withStub({ 'POST /v1/api-keys': { status: 201, json: { ...key, secret: 'sk_abcdSECRET2' } } }, [
      'key', 'create', '--name', 'ci', '--expires-in', '30d', '--scopes', 'tasks:write:http, runs:write',
    ]);
    assert.equal(scoped.code, 0, scoped.stderr);
    assert.deepEqual(scoped.requests[0]!.body, { name: 'ci', role: 'viewer', expiresIn: '30d', scopes: ['tasks:write:http', 'runs:write'] });

    const rotated = await withStub(
      { 'POST /v1/api-keys/k1/rotate': { status: 201, json: { ...key, id: 'k2', secret: 'sk_newSECRET', previous: { ...key, expiresAt: '2026-11-29T12:00:00.000Z', replacedBy: 'k2' } } } },
      ['key', 'rotate', 'k1', '--grace-period', '2h'],
    );
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.deepEqual(rotated.requests[0]!.body, { gracePeriod: '2h' });
    assert.equal(rotated.stdout, 'sk_newSECRET\n');
    assert.match(rotated.stderr, /rotated key k1 to k2.*works until 2026-11-29T12:00:00.000Z/);

    const revoke = await withStub({ 'DELETE /v1/api-keys/k1': { json: { ...key, revokedAt: '2026-11-28T13:00:00.000Z' } } }, ['key', 'revoke', 'k1']);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal(revoke.stdout, 'revoked key k1\n');
  });

  it('audit list, nodes and stats', async () => {
    const audit = await withStub(
      {
        'GET /v1/audit': {
          json: { items: [{ id: 'a1', namespace: 'default', at: '2026-11-28T12:00:00.000Z', actor: 'key:k1', ip: null, action: 'task.create', targetType: 'task', targetId: 't1', detail: { name: 'x' } }], nextCursor: null },
        },
      },
      ['audit', 'list', '--action', 'task.create', '--target', 't1'],
    );
    assert.equal(audit.code, 0, audit.stderr);
    assert.equal(audit.requests[0]!.query.get('action'), 'task.create');
    assert.equal(audit.requests[0]!.query.get('target'), 't1');
    assert.equal(
      audit.stdout,
      'AT                   NAMESPACE  ACTOR   ACTION       TARGET   DETAIL\n2026-11-28 12:00:00  default    key:k1  task.create  task t1  {"name":"x"}\n',
    );

    const nodes = await withStub(
      { 'GET /v1/cluster/nodes': { json: [{ id: 'node-a', host: 'h1', pid: 42, version: '0.1.0', roles: ['api', 'scheduler'], startedAt: '2026-11-28T12:00:00.000Z', lastHeartbeatAt: '2026-11-28T12:00:05.000Z', status: 'up', runsInFlight: 3 }] } },
      ['nodes'],
    );
    assert.equal(
      nodes.stdout,
      'ID      HOST  PID  VERSION  ROLES          STARTED              STATUS  RUNS  HEARTBEAT\nnode-a  h1     42  0.1.0    api,scheduler  2026-11-28 12:00:00  up         3  2026-11-28 12:00:05\n',
    );

    const stats = await withStub({ 'GET /v1/stats': { json: { runs: { byStatus: { succeeded: 10 }, backlog: 0 }, tasks: { total: 2 } } } }, ['stats']);
    assert.equal(stats.stdout, 'runs.byStatus.succeeded  10\nruns.backlog             0\ntasks.total              2\n');
  });
});

describe('errors and exit codes', { concurrency: 8 }, () => {
  it('a 4xx problem prints title, detail and each field error on stderr and exits 1', async () => {
    const r = await withStub({ 'POST /v1/tasks': { status: 400, problem: VALIDATION_PROBLEM } }, [
      'task',
      'create',
      '--name',
      'x',
      '--code',
      'return 1',
      '--cron',
      '0 9 * * *',
      '--tz',
      'CEST',
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'error: The request is not valid: 2 fields are not valid\n  /schedule/timezone: unknown time zone "CEST"; use an IANA name\n  /name: is required\n',
    );
  });

  it('a single field error that is already the detail is not printed twice', async () => {
    const problem = { title: 'The request is not valid', status: 400, detail: '/name: is too long', errors: [{ path: '/name', message: 'is too long' }] };
    const r = await withStub({ 'POST /v1/tasks': { status: 400, problem } }, ['task', 'create', '--name', 'x', '--file', 'a.js']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: The request is not valid: /name: is too long\n');
  });

  it('a 401 adds a hint about the key', async () => {
    const r = await withStub({ 'GET /v1/tasks': { status: 401, problem: { title: 'Authentication is required', status: 401 } } }, ['task', 'list']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: Authentication is required\nhint: give an API key with --token or SUNDIAL_TOKEN\n');
  });

  it('an answer that is not a problem (a proxy\'s page) still gives a clear error', async () => {
    const r = await withStub({ 'GET /v1/stats': { status: 502, text: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } } }, ['stats']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: HTTP 502 Bad Gateway\n  <html>Bad Gateway</html>\n');
  });

  it('connection refused names the URL and exits 1', async () => {
    const port = await closedPort();
    const r = await runCli(['--url', `http://127.0.0.1:${port}`, 'task', 'list']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^error: cannot connect to Sundial at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\n`));
  });

  it('SUNDIAL_URL and SUNDIAL_TOKEN are read from the environment', async () => {
    const stub = await startStub({ 'GET /v1/stats': { json: { ok: 1 } } });
    try {
      const r = await runCli(['stats', '--json'], { env: { SUNDIAL_URL: `${stub.url}/`, SUNDIAL_TOKEN: 'sk_env' } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(stub.requests[0]!.headers.authorization, 'Bearer sk_env');
      assert.equal(stub.requests[0]!.path, '/v1/stats');
      assert.deepEqual(JSON.parse(r.stdout), { ok: 1 });
    } finally {
      await stub.close();
    }
  });

  const usageCases: [string, string[], RegExp][] = [
    ['an unknown option', ['task', 'list', '--bogus'], /unknown option '--bogus'/],
    ['a missing argument', ['task', 'get'], /missing required argument 'idOrName'/],
    ['a number flag that is not a number', ['task', 'create', '--name', 'x', '--code', 'y', '--every', '5m', '--max-runs', 'ten'], /--max-runs <n>' argument 'ten' is invalid/],
    ['two schedule types', ['task', 'create', '--name', 'x', '--code', 'y', '--at', 'now', '--every', '5m'], /option '--at <time>' cannot be used with option '--every <duration>'/],
    ['a task without a kind', ['task', 'create', '--name', 'x'], /^error: task create needs --kind/],
    ['a bad time', ['run', 'reschedule', 'r1', '--at', 'tomorrow'], /^error: --at "tomorrow" is not a time/],
    ['a URL that is not http', ['--url', 'ftp://x', 'stats'], /^error: --url must be http/],
    ['an unknown command', ['tsak', 'list'], /unknown command 'tsak'/],
  ];
  for (const [what, args, message] of usageCases) {
    it(`a usage error exits 2 without calling the server: ${what}`, async () => {
      const r = await withStub({}, args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.requests.length, 0);
    });
  }

  it('--help exits 0', async () => {
    const r = await runCli(['task', 'create', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--url-target <url>/);
  });

  it('serve with a bad option prints the configuration error and exits 2', async () => {
    const r = await runCli(['serve', '--port', 'eighty', '--log-level', 'loud']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: invalid configuration\n  port (flag): must be a whole number\n  logLevel (flag): must be one of fatal, error, warn, info, debug, trace, silent\n');
  });

  it('serve with an unreadable config file exits 2', async () => {
    const r = await runCli(['serve', '--config', '/nonexistent/sundial.json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: cannot read config file \/nonexistent\/sundial\.json/);
  });
});
