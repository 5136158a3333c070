// Bad input: a clear 400 (or 413) problem with per-field errors, and nothing changed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { httpTask, startApi, type ApiHarness } from '../helpers/api-harness.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  errors?: { path: string; message: string }[];
}

let h: ApiHarness;
before(async () => {
  h = await startApi();
});
after(async () => {
  await h.close();
});

async function createTask(body: unknown): Promise<{ status: number; problem: Problem; contentType: string | undefined }> {
  const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: body as Record<string, unknown> });
  return { status: res.statusCode, problem: res.json() as Problem, contentType: res.headers['content-type'] as string | undefined };
}

function paths(p: Problem): string[] {
  return (p.errors ?? []).map((e) => e.path);
}

function messageAt(p: Problem, path: string): string {
  const e = p.errors?.find((x) => x.path === path);
  assert.ok(e, `no error at ${path}: ${JSON.stringify(p.errors)}`);
  return e.message;
}

describe('problem documents', () => {
  test('have the RFC 9457 shape and content type', async () => {
    const { status, problem, contentType } = await createTask(httpTask('bad name!'));
    assert.equal(status, 400);
    assert.equal(contentType, 'application/problem+json; charset=utf-8');
    assert.deepEqual(Object.keys(problem).sort(), ['code', 'detail', 'errors', 'instance', 'status', 'title', 'type']);
    assert.equal(problem.type, 'https://sundial.dev/problems/validation_failed');
    assert.equal(problem.code, 'validation_failed');
    assert.equal(problem.status, 400);
    assert.equal(problem.title, 'The request is not valid');
    assert.equal(problem.instance, '/v1/tasks');
    assert.match(messageAt(problem, '/name'), /1 to 200 characters of A-Z, a-z, 0-9/);
  });

  test('unknown routes are a 404 problem', async () => {
    const res = await h.call({ method: 'GET', url: '/v2/whatever' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(res.json().code, 'not_found');
  });

  test('an unexpected error is a 500 internal problem without a stack', async () => {
    const original = h.store.listAudit.bind(h.store);
    h.store.listAudit = () => Promise.reject(new Error('disk on fire at /srv/db.js:12'));
    try {
      const res = await h.call({ method: 'GET', url: '/v1/audit' });
      assert.equal(res.statusCode, 500);
      const p = res.json() as Problem;
      assert.equal(p.code, 'internal');
      assert.doesNotMatch(res.body, /disk on fire|srv|stack/);
    } finally {
      h.store.listAudit = original;
    }
  });
});

describe('task bodies', () => {
  test('unknown fields are refused by name', async () => {
    const { status, problem } = await createTask({ ...httpTask('unknown-1'), colour: 'blue' });
    assert.equal(status, 400);
    assert.deepEqual(paths(problem), ['/colour']);
    assert.equal(messageAt(problem, '/colour'), 'is not a known field');
  });

  test('missing required fields are listed one by one', async () => {
    const { status, problem } = await createTask({});
    assert.equal(status, 400);
    assert.deepEqual(paths(problem).sort(), ['/kind', '/name', '/spec']);
  });

  test('a kind that does not exist is a validation error; shell tasks are off unless the operator enables them', async () => {
    const foo = await createTask({ ...httpTask('kind-1'), kind: 'cobol' });
    assert.equal(foo.status, 400);
    assert.equal(foo.problem.code, 'validation_failed');
    assert.match(messageAt(foo.problem, '/kind'), /must be one of "http", "module", "script", "shell"/);
    const shell = await createTask({ name: 'kind-shell', kind: 'shell', spec: { command: ['echo', 'hi'] } });
    assert.equal(shell.status, 400);
    assert.equal(shell.problem.code, 'unsupported_task_kind');
    assert.equal(shell.problem.type, 'https://sundial.dev/problems/unsupported_task_kind');
    assert.match(shell.problem.detail, /SUNDIAL_SHELL_TASKS=on/);
  });

  test('a script spec is checked: code required, no unknown fields, memory within the operator maximum', async () => {
    const empty = await createTask({ name: 'script-1', kind: 'script', spec: { code: '' } });
    assert.equal(empty.status, 400);
    assert.deepEqual(paths(empty.problem), ['/spec/code']);
    const extra = await createTask({ name: 'script-2', kind: 'script', spec: { code: 'export default () => 1', file: 'x.js' } });
    assert.equal(extra.status, 400);
    assert.ok(paths(extra.problem).some((p) => p.startsWith('/spec')), JSON.stringify(extra.problem.errors));
    const big = await createTask({ name: 'script-3', kind: 'script', spec: { code: 'export default () => 1', limits: { memoryBytes: 2 ** 40 } } });
    assert.equal(big.status, 400);
    assert.match(messageAt(big.problem, '/spec/limits/memoryBytes'), /at most 536870912 \(SUNDIAL_SCRIPT_MEMORY_MAX\)/);
  });

  test('an http spec is checked (paths under /spec)', async () => {
    const { status, problem } = await createTask({ name: 'spec-1', kind: 'http', spec: { url: 'ftp://example.com', method: 'BREW' } });
    assert.equal(status, 400);
    assert.ok(paths(problem).includes('/spec/url'), JSON.stringify(problem));
    assert.ok(paths(problem).includes('/spec/method'), JSON.stringify(problem));
  });

  test('a module spec is checked, and checkModuleFile runs', async () => {
    const noFile = await createTask({ name: 'mod-1', kind: 'module', spec: { export: 'run' } });
    assert.equal(noFile.status, 400);
    assert.deepEqual(paths(noFile.problem), ['/spec/file']);
    const calls: string[] = [];
    const strict = await startApi({
      checkModuleFile: (file) => {
        calls.push(file);
        if (file.startsWith('..')) throw new Error('outside the tasks directory');
      },
    });
    try {
      const bad = await strict.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'mod-2', kind: 'module', spec: { file: '../etc/passwd' } } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().errors[0].path, '/spec/file');
      const ok = await strict.call({ method: 'POST', url: '/v1/tasks', payload: { name: 'mod-3', kind: 'module', spec: { file: 'jobs/report.js', export: 'run' } } });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.deepEqual(calls, ['../etc/passwd', 'jobs/report.js']);
    } finally {
      await strict.close();
    }
  });
});

describe('schedules', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['an unknown zone', { type: 'cron', expression: '0 9 * * *', timezone: 'Mars/Olympus' }, '/schedule/timezone', /unknown time zone/],
    ['an abbreviation', { type: 'cron', expression: '0 9 * * *', timezone: 'CEST' }, '/schedule/timezone', /abbreviation/],
    ['a cron that never fires', { type: 'cron', expression: '0 0 30 2 *' }, '/schedule/expression', /never fires/],
    ['a cron with 4 fields', { type: 'cron', expression: '0 0 * *' }, '/schedule/expression', /5 fields/],
    ['a bad interval', { type: 'interval', every: 'often' }, '/schedule/every', /duration/],
    ['a bad jitter', { type: 'interval', every: '5m', jitter: 'lots' }, '/schedule/jitter', /duration/],
    ['an at without a zone', { type: 'once', at: '2026-12-01T09:00:00' }, '/schedule/at', /time zone/],
  ];
  for (const [what, schedule, path, message] of cases) {
    test(`${what} is a 400 invalid_schedule at ${path}`, async () => {
      const { status, problem } = await createTask(httpTask(`sched-${path.replaceAll('/', '-')}`, { schedule }));
      assert.equal(status, 400, JSON.stringify(problem));
      assert.equal(problem.code, 'invalid_schedule');
      assert.match(messageAt(problem, path), message);
    });
  }

  test('an unknown schedule type is refused by the schema', async () => {
    const { status, problem } = await createTask(httpTask('sched-type', { schedule: { type: 'sometimes' } }));
    assert.equal(status, 400);
    assert.match(messageAt(problem, '/schedule/type'), /one of "once", "interval", "cron"/);
  });

  test('bad durations in policies are reported with their paths, all at once', async () => {
    const { status, problem } = await createTask(
      httpTask('pol-1', { schedule: { type: 'cron', expression: '0 9 * * *', timezone: 'PST' }, policies: { timeout: 'forever', retry: { backoff: { initial: 'soon' } } } }),
    );
    assert.equal(status, 400);
    assert.deepEqual(paths(problem).sort(), ['/policies/retry/backoff/initial', '/policies/timeout', '/schedule/timezone']);
    assert.equal(problem.code, 'validation_failed', 'mixed errors keep the general code');
  });

  test('the preview refuses what creation refuses', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/schedules/preview', payload: { schedule: { type: 'cron', expression: '0 9 * * *', timezone: 'CEST' } } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'invalid_schedule');
  });
});

describe('transport errors', () => {
  test('malformed JSON is a 400 problem', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', headers: { 'content-type': 'application/json' }, payload: '{"name": "x",' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(res.json().code, 'validation_failed');
    assert.match(res.json().detail, /not valid JSON/);
  });

  test('a body over the limit is 413 payload_too_large', async () => {
    const big = { ...httpTask('big'), payload: { blob: 'x'.repeat(1_100_000) } };
    const res = await h.call({ method: 'POST', url: '/v1/tasks', payload: big });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'payload_too_large');
  });

  test('a body that is not JSON is a 400', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'validation_failed');
  });

  test('bad query parameters name the parameter', async () => {
    const limit = await h.call({ method: 'GET', url: '/v1/tasks?limit=0' });
    assert.equal(limit.statusCode, 400);
    assert.deepEqual(limit.json().errors.map((e: { path: string }) => e.path), ['/query/limit']);
    const tooMany = await h.call({ method: 'GET', url: '/v1/runs?limit=501' });
    assert.equal(tooMany.statusCode, 400);
    const status = await h.call({ method: 'GET', url: '/v1/runs?status=scheduled,bogus' });
    assert.equal(status.statusCode, 400);
    assert.match(status.json().errors[0].message, /unknown status "bogus"/);
    const from = await h.call({ method: 'GET', url: '/v1/runs?from=yesterday&to=2026-01-01' });
    assert.equal(from.statusCode, 400);
    assert.deepEqual(from.json().errors.map((e: { path: string }) => e.path), ['/query/from', '/query/to']);
    const extra = await h.call({ method: 'GET', url: '/v1/tasks?colour=blue' });
    assert.equal(extra.statusCode, 400);
  });

  test('a malformed If-Match is a 400', async () => {
    await createTask(httpTask('ifm'));
    const res = await h.call({ method: 'PATCH', url: '/v1/tasks/ifm', headers: { 'if-match': 'W/"x"' }, payload: { description: 'd' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].path, '/headers/if-match');
  });
});

describe('bad input changes nothing', () => {
  test('tasks, runs and the audit log are as before after a series of bad requests', async () => {
    const fresh = await startApi();
    try {
      const ok = await fresh.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('keep', { schedule: { type: 'interval', every: '1h' } }) });
      assert.equal(ok.statusCode, 201);
      const snapshot = async () => ({
        tasks: (await fresh.store.listTasks({ namespaces: '*', limit: 500 })).items,
        runs: (await fresh.store.listRuns({ namespaces: '*', limit: 500 })).items,
        audit: (await fresh.store.listAudit({ namespaces: '*', limit: 500 })).items.length,
      });
      const before = await snapshot();
      const bad: { method: 'POST' | 'PATCH'; url: string; payload: unknown; headers?: Record<string, string> }[] = [
        { method: 'POST', url: '/v1/tasks', payload: httpTask('new-1', { schedule: { type: 'cron', expression: '0 0 30 2 *' } }) },
        { method: 'POST', url: '/v1/tasks', payload: httpTask('new-2', { schedule: { type: 'cron', expression: '0 9 * * *', timezone: 'CEST' } }) },
        { method: 'POST', url: '/v1/tasks', payload: httpTask('new-3', { policies: { timeout: 'x' } }) },
        { method: 'POST', url: '/v1/tasks', payload: { name: 'new-4', kind: 'shell', spec: { command: ['true'] } } },
        { method: 'POST', url: '/v1/tasks', payload: { name: 'new-5', kind: 'script', spec: { code: '' } } },
        { method: 'POST', url: '/v1/tasks', payload: { ...httpTask('new-5'), extra: true } },
        { method: 'POST', url: '/v1/tasks', payload: httpTask('keep') },
        { method: 'PATCH', url: '/v1/tasks/keep', payload: { schedule: { type: 'interval', every: 'never' } } },
        { method: 'PATCH', url: '/v1/tasks/keep', payload: { description: 'x' }, headers: { 'if-match': '"99"' } },
        { method: 'PATCH', url: '/v1/tasks/keep', payload: { name: 'bad name' } },
        { method: 'POST', url: '/v1/tasks/keep/schedule', payload: { at: 'tomorrow' } },
        { method: 'POST', url: '/v1/tasks/keep/runs', payload: { idempotencyKey: '' } },
        { method: 'POST', url: '/v1/tasks/keep/runs', payload: { surprise: 1 } },
      ];
      for (const req of bad) {
        const res = await fresh.call({ method: req.method, url: req.url, payload: req.payload as Record<string, unknown>, ...(req.headers && { headers: req.headers }) });
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${req.method} ${req.url} ${JSON.stringify(req.payload)} answered ${res.statusCode}`);
        assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      }
      assert.deepEqual(await snapshot(), before);
    } finally {
      await fresh.close();
    }
  });
});
