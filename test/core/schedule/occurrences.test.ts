import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PREVIEW_COUNT, nextOccurrence, previewSchedule, recentOccurrences } from '../../../src/core/schedule/occurrences.js';
import type { Schedule } from '../../../src/core/types.js';

const t = (iso: string): number => {
  const ms = Date.parse(iso);
  assert.ok(!Number.isNaN(ms), iso);
  return ms;
};
const isoList = (xs: number[]): string[] => xs.map((x) => new Date(x).toISOString());


test('once: the time itself, if it is strictly after', () => {
  const s: Schedule = { type: 'once', at: '2026-12-01T09:00:00Z' };
  const at = t('2026-12-01T09:00:00Z');
  assert.equal(nextOccurrence(s, at - 1), at);
  assert.equal(nextOccurrence(s, at), null);
  assert.equal(nextOccurrence(s, at + 1), null);
});

test('interval: startAt + k·every, startAt inclusive, endAt inclusive', () => {
  const s: Schedule = { type: 'interval', every: '5m', startAt: '2026-01-01T00:00:00Z', endAt: '2026-01-01T00:15:00Z' };
  const start = t('2026-01-01T00:00:00Z');
  assert.equal(nextOccurrence(s, start - 3_600_000), start);
  assert.equal(nextOccurrence(s, start - 1), start);
  assert.equal(nextOccurrence(s, start), start + 300_000);
  assert.equal(nextOccurrence(s, start + 299_999), start + 300_000);
  assert.equal(nextOccurrence(s, start + 600_000), start + 900_000);
  assert.equal(nextOccurrence(s, start + 900_000), null);
  assert.deepEqual(isoList(previewSchedule(s, start - 10, 10)), [
    '2026-01-01T00:00:00.000Z',
    '2026-01-01T00:05:00.000Z',
    '2026-01-01T00:10:00.000Z',
    '2026-01-01T00:15:00.000Z',
  ]);
});

test('interval arithmetic is O(1) far ahead', () => {
  const s: Schedule = { type: 'interval', every: '1s', startAt: '2026-01-01T00:00:00Z' };
  const start = t('2026-01-01T00:00:00Z');
  const began = performance.now();
  assert.equal(nextOccurrence(s, start + 1_000_000 * 1000 + 500), start + 1_000_001 * 1000);
  assert.equal(nextOccurrence(s, start + 10 ** 12), start + 10 ** 12 + 1000);
  assert.ok(performance.now() - began < 50);
  // An unanchored interval keeps the epoch's grid.
  assert.equal(nextOccurrence({ type: 'interval', every: '1h' }, t('2026-01-01T10:20:00Z')), t('2026-01-01T11:00:00Z'));
});

test('cron: strictly after, 5 fields at minute precision, 6 fields with seconds', () => {
  const five: Schedule = { type: 'cron', expression: '*/15 * * * *' };
  assert.equal(nextOccurrence(five, t('2026-01-01T00:00:00Z')), t('2026-01-01T00:15:00Z'));
  assert.equal(nextOccurrence(five, t('2026-01-01T00:00:00Z') - 1), t('2026-01-01T00:00:00Z'));
  assert.equal(nextOccurrence(five, t('2026-01-01T00:14:59.999Z')), t('2026-01-01T00:15:00Z'));
  const six: Schedule = { type: 'cron', expression: '*/10 * * * * *' };
  assert.equal(nextOccurrence(six, t('2026-01-01T12:00:05.500Z')), t('2026-01-01T12:00:10Z'));
  assert.equal(nextOccurrence(six, t('2026-01-01T12:00:10Z')), t('2026-01-01T12:00:20Z'));
  assert.deepEqual(isoList(previewSchedule({ type: 'cron', expression: '30 15 10 * * *' }, t('2026-01-01T10:15:30Z'), 2)), [
    '2026-01-01T10:15:30.000Z',
    '2026-01-02T10:15:30.000Z',
  ]);
});

test('cron: leap day and month ends', () => {
  assert.equal(nextOccurrence({ type: 'cron', expression: '0 0 29 2 *' }, t('2026-01-01T00:00:00Z')), t('2028-02-29T00:00:00Z'));
  assert.deepEqual(isoList(previewSchedule({ type: 'cron', expression: '0 0 31 * *' }, t('2026-01-31T00:00:01Z'), 3)), [
    '2026-03-31T00:00:00.000Z',
    '2026-05-31T00:00:00.000Z',
    '2026-07-31T00:00:00.000Z',
  ]);
  assert.deepEqual(isoList(previewSchedule({ type: 'cron', expression: '0 12 L * *' }, t('2027-12-01T00:00:00Z'), 4)), [
    '2027-12-31T12:00:00.000Z',
    '2028-01-31T12:00:00.000Z',
    '2028-02-29T12:00:00.000Z',
    '2028-03-31T12:00:00.000Z',
  ]);
});

test('cron: startAt and endAt bound the occurrences (both inclusive)', () => {
  const s: Schedule = { type: 'cron', expression: '0 * * * *', startAt: '2026-06-01T10:00:00Z', endAt: '2026-06-01T12:00:00Z' };
  assert.equal(nextOccurrence(s, t('2026-01-01T00:00:00Z')), t('2026-06-01T10:00:00Z'));
  assert.equal(nextOccurrence(s, t('2026-06-01T11:00:00Z')), t('2026-06-01T12:00:00Z'));
  assert.equal(nextOccurrence(s, t('2026-06-01T12:00:00Z')), null);
  assert.equal(previewSchedule(s, 0, 100).length, 3);
  const offGrid: Schedule = { type: 'cron', expression: '0 * * * *', startAt: '2026-06-01T10:30:00Z' };
  assert.equal(nextOccurrence(offGrid, 0), t('2026-06-01T11:00:00Z'));
});

test('cron: far-future searches stay cheap and end at the year 3000', () => {
  const s: Schedule = { type: 'cron', expression: '0 0 * * *', timezone: 'Europe/Berlin' };
  assert.equal(nextOccurrence(s, t('2900-06-01T12:00:00Z')), t('2900-06-01T22:00:00Z'));
  assert.equal(nextOccurrence(s, t('3000-01-01T00:00:00Z')), null);
  assert.equal(nextOccurrence(s, 8.64e15), null);
  assert.equal(nextOccurrence(s, Number.NaN), null);
  assert.equal(nextOccurrence({ type: 'interval', every: '1s' }, 9e15), null);
});

test('previewSchedule starts at `from` inclusive and caps the count', () => {
  const s: Schedule = { type: 'interval', every: '1s', startAt: '2026-01-01T00:00:00Z' };
  const start = t('2026-01-01T00:00:00Z');
  assert.equal(previewSchedule(s, start, 3)[0], start);
  assert.equal(previewSchedule(s, start, 5000).length, MAX_PREVIEW_COUNT);
  assert.deepEqual(previewSchedule(s, start, 0), []);
  assert.deepEqual(previewSchedule(s, start, -3), []);
  assert.deepEqual(previewSchedule({ type: 'once', at: '2026-01-01T00:00:00Z' }, start + 1, 5), []);
});

test('previewSchedule shows no more occurrences than maxRuns lets a task have (found by the API fuzz test)', () => {
  const start = t('2026-01-01T00:00:00Z');
  assert.equal(previewSchedule({ type: 'interval', every: '1s', maxRuns: 3 }, start, 10).length, 3);
  assert.equal(previewSchedule({ type: 'cron', expression: '*/10 * * * * *', maxRuns: 2 }, start, 100).length, 2);
  assert.equal(previewSchedule({ type: 'interval', every: '1s', maxRuns: 50 }, start, 4).length, 4);
});

test('recentOccurrences returns the newest ones in (after, upTo], bounded', () => {
  const s: Schedule = { type: 'interval', every: '1s', startAt: '2026-01-01T00:00:00Z' };
  const start = t('2026-01-01T00:00:00Z');
  const r = recentOccurrences(s, start, start + 2_592_000_000, 5);
  assert.equal(r.total, 2_592_000);
  assert.deepEqual(r.occurrences, [4, 3, 2, 1, 0].map((k) => start + 2_592_000_000 - k * 1000));
  const cron: Schedule = { type: 'cron', expression: '0 * * * *' };
  const c = recentOccurrences(cron, start, start + 5 * 3_600_000, 100);
  assert.deepEqual(c, { occurrences: [1, 2, 3, 4, 5].map((h) => start + h * 3_600_000), total: 5 });
  const capped = recentOccurrences(cron, start, start + 500 * 3_600_000, 10);
  assert.equal(capped.total, null);
  assert.equal(capped.occurrences.length, 10);
  assert.equal(capped.occurrences[9], start + 500 * 3_600_000);
});
