import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SundialError } from '../../../src/core/errors.js';
import { parseInstant, validateInstant } from '../../../src/core/schedule/instant.js';

const t = (iso: string): number => {
  const ms = Date.parse(iso);
  assert.ok(!Number.isNaN(ms), iso);
  return ms;
};

test('parseInstant and validateInstant read zoned ISO-8601', () => {
  assert.equal(parseInstant('2026-03-29T03:00:00+02:00'), t('2026-03-29T01:00:00Z'));
  assert.equal(parseInstant('2026-03-29T01:00:00.123456Z'), t('2026-03-29T01:00:00.123Z'));
  assert.equal(parseInstant('2026-03-29T01:00Z'), t('2026-03-29T01:00:00Z'));
  assert.equal(parseInstant('2026-03-28T20:00:00-0500'), t('2026-03-29T01:00:00Z'));
  assert.equal(parseInstant('2026-03-29T01:00:00'), null);
  assert.equal(validateInstant('2024-02-29T00:00:00Z', '/at'), t('2024-02-29T00:00:00Z'));
  assert.throws(() => validateInstant('2025-02-29T00:00:00Z', '/at'), (e: unknown) => e instanceof SundialError && e.code === 'validation_failed');
});
