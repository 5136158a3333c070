// SUNDIAL_QUOTAS parsed (src/core/quotas.ts): a namespace's own fields over the default's, and the
// lookups admission and the script pool get only when some namespace has that quota.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { namespaceCap, namespaceScriptMemory, parseQuotas, quotaOf } from '../../src/core/quotas.js';

it('a namespace’s own fields override the default’s one by one; unnamed namespaces get the default', () => {
  const { quotas, errors } = parseQuotas('{"*": {"tasks": 100, "concurrentRuns": 10}, "team-a": {"tasks": 5, "runsPerMinute": 60}}');
  assert.deepEqual(errors, []);
  assert.deepEqual(quotaOf(quotas, 'team-a'), { tasks: 5, concurrentRuns: 10, runsPerMinute: 60 });
  assert.deepEqual(quotaOf(quotas, 'team-b'), { tasks: 100, concurrentRuns: 10 });
  const { quotas: own } = parseQuotas('{"team-a": {"tasks": 5}}');
  assert.deepEqual(quotaOf(own, 'team-b'), {});
});

it('no quotas: empty text, and no lookups for admission or the script pool', () => {
  const { quotas, errors } = parseQuotas('  ');
  assert.deepEqual(errors, []);
  assert.equal(quotas.size, 0);
  assert.equal(namespaceCap(quotas), undefined);
  assert.equal(namespaceScriptMemory(quotas), undefined);
  assert.equal(namespaceCap(parseQuotas('{"*": {"tasks": 1}}').quotas), undefined, 'only a quota of that kind brings a lookup');
});

it('lookups answer per namespace', () => {
  const { quotas } = parseQuotas('{"*": {"concurrentRuns": 3}, "big": {"concurrentRuns": 50, "scriptMemoryBytes": 2097152}}');
  assert.equal(namespaceCap(quotas)!('big'), 50);
  assert.equal(namespaceCap(quotas)!('any'), 3);
  assert.equal(namespaceScriptMemory(quotas)!('big'), 2097152);
  assert.equal(namespaceScriptMemory(quotas)!('any'), undefined);
});

it('every error is reported, and none of a bad document is used', () => {
  const { quotas, errors } = parseQuotas('{"*": {"tasks": 1.5, "nope": 1}, "ok": {"tasks": 1}}');
  assert.equal(quotas.size, 0);
  assert.deepEqual(errors.map((e) => e.path), ['quotas.*.tasks', 'quotas.*.nope']);
});
