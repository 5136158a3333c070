import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/cli-errors.js';
import {
  buildCreateBody,
  buildScheduleRequest,
  buildUpdateBody,
  parsePairs,
  parseTimeFlag,
  policiesFromFlags,
  scheduleFromFlags,
  updateNeedsCurrent,
} from '../../src/cli/task-input.js';

const NOW = new Date('2026-11-28T12:00:00.000Z');

describe('buildCreateBody', () => {
  it('builds an http task with schedule, policies and payload from flags', () => {
    const body = buildCreateBody(
      {
        name: 'ping',
        description: 'pings',
        kind: 'http',
        urlTarget: 'https://example.com/hook',
        method: 'post',
        header: ['X-Token: abc:def', 'Accept:application/json'],
        body: '{"hello":"world"}',
        expectStatus: '200,204',
        every: '5m',
        start: '2026-12-01T00:00:00Z',
        maxRuns: 10,
        jitter: '5s',
        maxAttempts: 3,
        backoff: 'fixed',
        backoffInitial: '2s',
        backoffMax: '1m',
        timeout: '30s',
        overlap: 'buffer_one',
        misfire: 'skip',
        catchupWindow: '2h',
        priority: -5,
        concurrency: 2,
        payload: '{"n":1}',
      },
      { now: NOW },
    );
    assert.deepEqual(body, {
      name: 'ping',
      description: 'pings',
      kind: 'http',
      spec: {
        url: 'https://example.com/hook',
        method: 'POST',
        headers: { 'X-Token': 'abc:def', Accept: 'application/json' },
        body: { hello: 'world' },
        expectStatus: [200, 204],
      },
      schedule: { type: 'interval', every: '5m', startAt: '2026-12-01T00:00:00Z', maxRuns: 10, jitter: '5s' },
      policies: {
        retry: { maxAttempts: 3, backoff: { type: 'fixed', initial: '2s', max: '1m' } },
        timeout: '30s',
        overlap: 'buffer_one',
        misfire: { policy: 'skip', catchupWindow: '2h' },
        priority: -5,
        concurrency: 2,
      },
      payload: { n: 1 },
    });
  });

  it('infers the kind from the spec flags and leaves out everything not given', () => {
    assert.deepEqual(buildCreateBody({ name: 'm', file: 'jobs/report.js', export: 'run' }), {
      name: 'm',
      kind: 'module',
      spec: { file: 'jobs/report.js', export: 'run' },
    });
    assert.deepEqual(buildCreateBody({ name: 's', code: 'return 1' }), { name: 's', kind: 'script', spec: { code: 'return 1' } });
    assert.deepEqual(buildCreateBody({ name: 'sh', argv: ['/bin/echo', '-n', 'hi'], env: ['A=b=c'], cwd: '/tmp' }), {
      name: 'sh',
      kind: 'shell',
      spec: { command: ['/bin/echo', '-n', 'hi'], cwd: '/tmp', env: { A: 'b=c' } },
    });
  });

  it('keeps a body that is not JSON as text and a single expected status as a number', () => {
    const body = buildCreateBody({ name: 'h', urlTarget: 'https://x.test', body: 'plain text', expectStatus: '202' });
    assert.deepEqual(body.spec, { url: 'https://x.test', body: 'plain text', expectStatus: 202 });
  });

  it('builds cron and once schedules', () => {
    assert.deepEqual(buildCreateBody({ name: 'c', code: 'x', cron: '0 9 * * 1', tz: 'Europe/Berlin', end: '2027-01-01T00:00:00Z' }).schedule, {
      type: 'cron',
      expression: '0 9 * * 1',
      timezone: 'Europe/Berlin',
      endAt: '2027-01-01T00:00:00Z',
    });
    assert.deepEqual(buildCreateBody({ name: 'o', code: 'x', at: '+1h' }, { now: NOW }).schedule, {
      type: 'once',
      at: '2026-11-28T13:00:00.000Z',
    });
  });

  it('lays flags over a file body: scalars replaced, policies merged, spec merged for the same kind', () => {
    const base = {
      name: 'from-file',
      kind: 'http',
      spec: { url: 'https://a.test', method: 'GET', headers: { A: '1' } },
      policies: { timeout: '1m', retry: { maxAttempts: 2 } },
      payload: { x: 1 },
    };
    const body = buildCreateBody({ name: 'override', method: 'put', header: ['B: 2'], maxAttempts: 5 }, { base });
    assert.deepEqual(body, {
      name: 'override',
      kind: 'http',
      spec: { url: 'https://a.test', method: 'PUT', headers: { A: '1', B: '2' } },
      policies: { timeout: '1m', retry: { maxAttempts: 5 } },
      payload: { x: 1 },
    });
  });

  it('replaces the file spec when the flags change the kind', () => {
    const base = { name: 'n', kind: 'http', spec: { url: 'https://a.test' } };
    assert.deepEqual(buildCreateBody({ kind: 'module', file: 'a.js' }, { base }).spec, { file: 'a.js' });
  });

  it('refuses command lines that cannot make a task, naming the flag', () => {
    const cases: [Parameters<typeof buildCreateBody>[0], RegExp][] = [
      [{ kind: 'http', urlTarget: 'https://a.test' }, /--name/],
      [{ name: 'x' }, /--kind/],
      [{ name: 'x', kind: 'http' }, /--url-target/],
      [{ name: 'x', kind: 'module', urlTarget: 'https://a.test' }, /--url-target is for http tasks, not module/],
      [{ name: 'x', urlTarget: 'https://a.test', file: 'a.js' }, /different task kinds/],
      [{ name: 'x', code: 'x', every: '5m', cron: '* * * * *' }, /only one of --every, --cron/],
      [{ name: 'x', code: 'x', tz: 'UTC' }, /--tz need --at, --every or --cron/],
      [{ name: 'x', code: 'x', every: '5m', tz: 'UTC' }, /--tz applies to --cron/],
      [{ name: 'x', code: 'x', at: '+1m', start: 'now' }, /--start and --end apply/],
      [{ name: 'x', code: 'x', payload: '{bad' }, /--payload is not valid JSON/],
      [{ name: 'x', urlTarget: 'https://a.test', header: ['nocolon'] }, /--header "nocolon" must look like name:value/],
      [{ name: 'x', urlTarget: 'https://a.test', expectStatus: '2xx' }, /--expect-status/],
      [{ name: 'x', urlTarget: 'https://a.test', body: '{"a":' }, /--body is not valid JSON/],
    ];
    for (const [flags, message] of cases) {
      assert.throws(() => buildCreateBody(flags, { now: NOW }), (err: unknown) => err instanceof UsageError && message.test(err.message), JSON.stringify(flags));
    }
  });
});

describe('buildUpdateBody', () => {
  it('sends only the fields the flags change', () => {
    assert.deepEqual(buildUpdateBody({ timeout: '10s' }), { policies: { timeout: '10s' } });
    assert.deepEqual(buildUpdateBody({ description: 'new', payload: 'null' }), { description: 'new', payload: null });
    assert.deepEqual(buildUpdateBody({ cron: '*/5 * * * *', tz: 'UTC' }), {
      schedule: { type: 'cron', expression: '*/5 * * * *', timezone: 'UTC' },
    });
    assert.deepEqual(buildUpdateBody({ clearSchedule: true }), { schedule: null });
  });

  it('needs the current task for partial spec or schedule changes, and merges into it', () => {
    assert.equal(updateNeedsCurrent({ timeout: '1s' }), false);
    assert.equal(updateNeedsCurrent({ every: '1m', jitter: '1s' }), false);
    assert.equal(updateNeedsCurrent({ method: 'POST' }), true);
    assert.equal(updateNeedsCurrent({ tz: 'UTC' }), true);
    const current = {
      kind: 'http',
      spec: { url: 'https://a.test', method: 'GET', headers: { A: '1' } },
      schedule: { type: 'cron', expression: '0 * * * *', timezone: 'UTC' },
    };
    assert.deepEqual(buildUpdateBody({ method: 'post', header: ['B:2'], tz: 'Europe/Berlin', maxRuns: 3 }, { current }), {
      spec: { url: 'https://a.test', method: 'POST', headers: { A: '1', B: '2' } },
      schedule: { type: 'cron', expression: '0 * * * *', timezone: 'Europe/Berlin', maxRuns: 3 },
    });
  });

  it('changes the kind only when asked, with a fresh spec', () => {
    const current = { kind: 'http', spec: { url: 'https://a.test' } };
    assert.deepEqual(buildUpdateBody({ kind: 'module', file: 'a.js' }, { current }), { kind: 'module', spec: { file: 'a.js' } });
    assert.throws(() => buildUpdateBody({ file: 'a.js' }, { current }), /--file is for module tasks; this task is http \(add --kind module/);
  });

  it('refuses an empty update, modifiers on a task without a schedule, and clear plus set', () => {
    assert.throws(() => buildUpdateBody({}), /nothing to change/);
    assert.throws(() => buildUpdateBody({ tz: 'UTC' }, { current: { kind: 'script', schedule: null } }), /no schedule to change/);
    assert.throws(() => buildUpdateBody({ clearSchedule: true, every: '5m' }), /--clear-schedule cannot be combined/);
  });
});

describe('buildScheduleRequest', () => {
  it('asks for one run with --at and for a recurrence otherwise', () => {
    assert.deepEqual(buildScheduleRequest({ at: '2026-12-01T09:00:00Z' }, NOW), { at: '2026-12-01T09:00:00Z' });
    assert.deepEqual(buildScheduleRequest({ every: '1h', maxRuns: 2 }, NOW), { schedule: { type: 'interval', every: '1h', maxRuns: 2 } });
    assert.throws(() => buildScheduleRequest({}, NOW), UsageError);
    assert.throws(() => buildScheduleRequest({ at: 'now', jitter: '1s' }, NOW), /--jitter make a recurrence/);
  });
});

describe('parseTimeFlag', () => {
  it('accepts ISO with a zone as written, now, and offsets from now', () => {
    assert.equal(parseTimeFlag('--at', '2026-12-01T09:00:00+01:00', NOW), '2026-12-01T09:00:00+01:00');
    assert.equal(parseTimeFlag('--at', '2026-12-01T09:00:00.5Z', NOW), '2026-12-01T09:00:00.5Z');
    assert.equal(parseTimeFlag('--at', 'now', NOW), NOW.toISOString());
    assert.equal(parseTimeFlag('--at', '+1h30m', NOW), '2026-11-28T13:30:00.000Z');
    assert.equal(parseTimeFlag('--at', '-2d', NOW), '2026-11-26T12:00:00.000Z');
    assert.equal(parseTimeFlag('--at', '+250ms', NOW), '2026-11-28T12:00:00.250Z');
  });

  it('reads a time without a zone as local time', () => {
    assert.equal(parseTimeFlag('--at', '2026-12-01 09:30', NOW), new Date(2026, 11, 1, 9, 30).toISOString());
    assert.equal(parseTimeFlag('--at', '2026-12-01T09:30:15', NOW), new Date(2026, 11, 1, 9, 30, 15).toISOString());
    assert.equal(parseTimeFlag('--at', '2026-12-01', NOW), new Date(2026, 11, 1).toISOString());
  });

  it('refuses what is not a time, naming the flag', () => {
    for (const bad of ['tomorrow', '2026-02-30', '2026-12-01T25:00', '2026-12-01 12:60', '12:00', '+5', '5m', '']) {
      assert.throws(() => parseTimeFlag('--start', bad, NOW), (e: unknown) => e instanceof UsageError && e.message.startsWith('--start '), bad);
    }
  });
});

describe('small helpers', () => {
  it('policiesFromFlags is undefined without policy flags', () => {
    assert.equal(policiesFromFlags({ name: 'x' }), undefined);
    assert.deepEqual(policiesFromFlags({ backoffMax: '1m' }), { retry: { backoff: { max: '1m' } } });
  });

  it('scheduleFromFlags is undefined without schedule flags', () => {
    assert.equal(scheduleFromFlags({}, NOW), undefined);
  });

  it('parsePairs splits on the first separator and trims header names and values', () => {
    assert.deepEqual(parsePairs('--header', [' A : x:y '], ':'), { A: 'x:y' });
    assert.deepEqual(parsePairs('--env', ['K= v '], '='), { K: ' v ' });
  });
});
