import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SundialError } from '../../src/core/errors.js';
import { DEFAULT_POLICIES, normalizePolicies, policiesToView } from '../../src/core/policies.js';
import type { Policies } from '../../src/core/types.js';

/** The field errors a call throws, as `path: message` lines. */
function errorsOf(fn: () => unknown): { code: string; paths: string[] } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SundialError);
    assert.equal(err.status, 400);
    return { code: err.code, paths: (err.errors ?? []).map((e) => e.path) };
  }
  assert.fail('expected a SundialError');
}

test('absent or empty input gives the defaults (a copy, not the shared object)', () => {
  const a = normalizePolicies(undefined);
  assert.deepEqual(a, DEFAULT_POLICIES);
  assert.notEqual(a, DEFAULT_POLICIES);
  assert.notEqual(a.retry, DEFAULT_POLICIES.retry);
  assert.deepEqual(normalizePolicies({}), DEFAULT_POLICIES);
});

test('a full input is read into stored form', () => {
  const p = normalizePolicies({
    retry: { maxAttempts: 4, backoff: { type: 'fixed', initial: '2s', max: 'PT1M', jitter: false } },
    timeout: '90s',
    overlap: 'buffer_one',
    misfire: { policy: 'run_all', catchupWindow: '2h' },
    priority: -5,
    concurrency: 3,
    concurrencyKey: 'billing',
  });
  assert.deepEqual(p, {
    retry: { maxAttempts: 4, backoff: { type: 'fixed', initialMs: 2000, maxMs: 60_000, jitter: false } },
    timeoutMs: 90_000,
    overlap: 'buffer_one',
    misfire: { policy: 'run_all', catchupWindowMs: 7_200_000 },
    priority: -5,
    concurrency: 3,
    concurrencyKey: 'billing',
  } satisfies Policies);
});

test('input merges over base field by field, nested objects too', () => {
  const base = normalizePolicies({
    retry: { maxAttempts: 3, backoff: { type: 'fixed', initial: '10s', max: '1m', jitter: false } },
    misfire: { policy: 'skip', catchupWindow: '10m' },
    concurrency: 2,
    concurrencyKey: 'k',
  });
  const p = normalizePolicies({ retry: { backoff: { max: '2m' } }, misfire: { catchupWindow: '5m' }, concurrency: null }, base);
  assert.deepEqual(p.retry, { maxAttempts: 3, backoff: { type: 'fixed', initialMs: 10_000, maxMs: 120_000, jitter: false } });
  assert.deepEqual(p.misfire, { policy: 'skip', catchupWindowMs: 300_000 });
  assert.equal(p.concurrency, null);
  assert.equal(p.concurrencyKey, 'k');
  assert.equal(p.timeoutMs, DEFAULT_POLICIES.timeoutMs);
});

test('ranges are enforced', () => {
  const bad: [unknown, string][] = [
    [{ retry: { maxAttempts: 0 } }, '/policies/retry/maxAttempts'],
    [{ retry: { maxAttempts: 101 } }, '/policies/retry/maxAttempts'],
    [{ retry: { maxAttempts: 2.5 } }, '/policies/retry/maxAttempts'],
    [{ timeout: '500ms' }, '/policies/timeout'],
    [{ timeout: '25h' }, '/policies/timeout'],
    [{ timeout: 300 }, '/policies/timeout'],
    [{ priority: 1001 }, '/policies/priority'],
    [{ priority: -1001 }, '/policies/priority'],
    [{ concurrency: 0 }, '/policies/concurrency'],
    [{ concurrency: '2' }, '/policies/concurrency'],
    [{ concurrencyKey: '' }, '/policies/concurrencyKey'],
    [{ overlap: 'queue' }, '/policies/overlap'],
    [{ misfire: { policy: 'later' } }, '/policies/misfire/policy'],
    [{ misfire: { catchupWindow: 'P1M' } }, '/policies/misfire/catchupWindow'],
    [{ retry: { backoff: { type: 'linear' } } }, '/policies/retry/backoff/type'],
    [{ retry: { backoff: { jitter: 'yes' } } }, '/policies/retry/backoff/jitter'],
    [{ retry: { backoff: { initial: '10m' } } }, '/policies/retry/backoff/initial'],
    [{ retry: { backoff: { max: '500ms' } } }, '/policies/retry/backoff/max'],
  ];
  for (const [input, path] of bad) {
    const e = errorsOf(() => normalizePolicies(input));
    assert.equal(e.code, 'validation_failed');
    assert.deepEqual(e.paths, [path], JSON.stringify(input));
  }
});

test('unknown fields are refused at every level, under the given path', () => {
  const e = errorsOf(() =>
    normalizePolicies({ retries: 3, retry: { tries: 1, backoff: { base: '1s' } }, misfire: { window: '1h' } }, DEFAULT_POLICIES, '/task/policies'),
  );
  assert.deepEqual(e.paths.sort(), [
    '/task/policies/misfire/window',
    '/task/policies/retries',
    '/task/policies/retry/backoff/base',
    '/task/policies/retry/tries',
  ]);
});

test('input that is not an object is refused', () => {
  for (const input of [null, 5, 'fast', []]) {
    assert.deepEqual(errorsOf(() => normalizePolicies(input)).paths, ['/policies']);
  }
  assert.deepEqual(errorsOf(() => normalizePolicies({ retry: 3 })).paths, ['/policies/retry']);
});

test('policiesToView writes durations as shorthand', () => {
  assert.deepEqual(policiesToView(DEFAULT_POLICIES), {
    retry: { maxAttempts: 1, backoff: { type: 'exponential', initial: '1s', max: '5m', jitter: true } },
    timeout: '5m',
    overlap: 'skip',
    misfire: { policy: 'run_once', catchupWindow: '1h' },
    priority: 0,
    concurrency: null,
    concurrencyKey: null,
    notify: [],
  });
});

test('policies.notify: rules of known events, stored only when there are some, kept by a PATCH without them', () => {
  const withRules = normalizePolicies({ notify: [{ on: ['failed', 'failed', 'recovered'], channel: 'ops' }] });
  assert.deepEqual(withRules.notify, [{ on: ['failed', 'recovered'], channel: 'ops' }]);
  assert.equal('notify' in normalizePolicies({ notify: [] }), false, 'no rules: no field (the scheduler tests its presence)');
  assert.equal('notify' in normalizePolicies({ timeout: '1m' }), false);
  assert.deepEqual(normalizePolicies({ timeout: '1m' }, withRules).notify, withRules.notify, 'a PATCH of another field keeps the rules');
  assert.equal('notify' in normalizePolicies({ notify: [] }, withRules), false, '[] removes them');
  const bad = errorsOf(() => normalizePolicies({ notify: [{ on: [], channel: 'ops' }, { on: ['exploded'], channel: '' }, { on: ['failed'], channel: 'x', to: 1 }, 'x'] }));
  assert.deepEqual(bad.paths, ['/policies/notify/0/on', '/policies/notify/1/on', '/policies/notify/1/channel', '/policies/notify/2/to', '/policies/notify/3']);
  assert.deepEqual(errorsOf(() => normalizePolicies({ notify: 'ops' })).paths, ['/policies/notify']);
});

test('view and normalize round-trip', () => {
  const samples: Policies[] = [
    DEFAULT_POLICIES,
    {
      retry: { maxAttempts: 7, backoff: { type: 'fixed', initialMs: 1500, maxMs: 3_661_001, jitter: false } },
      timeoutMs: 3_723_000,
      overlap: 'cancel_other',
      misfire: { policy: 'run_all', catchupWindowMs: 0 },
      priority: 1000,
      concurrency: 12,
      concurrencyKey: 'shared',
      notify: [{ on: ['timed_out', 'lost'], channel: 'pager' }],
    },
  ];
  for (const p of samples) {
    assert.deepEqual(normalizePolicies(policiesToView(p)), p);
    // A view is also a valid PATCH over any base.
    assert.deepEqual(normalizePolicies(policiesToView(p), samples[1]), p);
  }
});
