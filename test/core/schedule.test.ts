import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SundialError } from '../../src/core/errors.js';
import {
  anchorSchedule,
  describeSchedule,
  MAX_PREVIEW_COUNT,
  nextOccurrence,
  parseInstant,
  previewSchedule,
  recentOccurrences,
  validateInstant,
  validateSchedule,
} from '../../src/core/schedule.js';
import type { Schedule } from '../../src/core/types.js';

const t = (iso: string): number => {
  const ms = Date.parse(iso);
  assert.ok(!Number.isNaN(ms), iso);
  return ms;
};
const isoList = (xs: number[]): string[] => xs.map((x) => new Date(x).toISOString());

/** Field errors of a refused schedule as `path` → message. */
function refusal(input: unknown, path?: string): Map<string, string> {
  try {
    validateSchedule(input, path);
  } catch (err) {
    assert.ok(err instanceof SundialError, String(err));
    assert.equal(err.code, 'invalid_schedule');
    assert.equal(err.status, 400);
    return new Map((err.errors ?? []).map((e) => [e.path, e.message]));
  }
  assert.fail(`expected ${JSON.stringify(input)} to be refused`);
}

// ---- validation ------------------------------------------------------------------------------

test('valid schedules come back normalized', () => {
  assert.deepEqual(validateSchedule({ type: 'once', at: '2026-12-01T10:00:00+01:00' }), {
    type: 'once',
    at: '2026-12-01T09:00:00.000Z',
  });
  assert.deepEqual(
    validateSchedule({ type: 'interval', every: 'PT5M', startAt: '2026-01-01T00:00:00Z', endAt: '2026-02-01T00:00:00Z', maxRuns: 3, jitter: '5s' }),
    { type: 'interval', every: 'PT5M', startAt: '2026-01-01T00:00:00.000Z', endAt: '2026-02-01T00:00:00.000Z', maxRuns: 3, jitter: '5s' },
  );
  assert.deepEqual(validateSchedule({ type: 'cron', expression: '  */10   * * * * * ', timezone: 'Europe/Berlin' }), {
    type: 'cron',
    expression: '*/10 * * * * *',
    timezone: 'Europe/Berlin',
  });
  assert.deepEqual(validateSchedule({ type: 'cron', expression: '0 9 * * 1-5' }), { type: 'cron', expression: '0 9 * * 1-5' });
});

test('dates need Z or an offset; zone-less local times are refused by name', () => {
  const m = refusal({ type: 'once', at: '2026-12-01T09:00:00' });
  assert.match(m.get('/schedule/at') ?? '', /no time zone/);
  assert.match(refusal({ type: 'once', at: '2026-12-01' }).get('/schedule/at') ?? '', /without a time and a zone/);
  assert.match(refusal({ type: 'once', at: 'tomorrow' }).get('/schedule/at') ?? '', /not an ISO-8601/);
  assert.match(refusal({ type: 'once', at: '2026-02-30T09:00:00Z' }).get('/schedule/at') ?? '', /no day 30/);
  assert.match(refusal({ type: 'once', at: '2026-01-01T24:00:00Z' }).get('/schedule/at') ?? '', /out of range/);
  assert.match(refusal({ type: 'once', at: 1767225600000 }).get('/schedule/at') ?? '', /string/);
  assert.ok(refusal({ type: 'once' }).has('/schedule/at'));
});

test('parseInstant and validateInstant read zoned ISO-8601', () => {
  assert.equal(parseInstant('2026-03-29T03:00:00+02:00'), t('2026-03-29T01:00:00Z'));
  assert.equal(parseInstant('2026-03-29T01:00:00.123456Z'), t('2026-03-29T01:00:00.123Z'));
  assert.equal(parseInstant('2026-03-29T01:00Z'), t('2026-03-29T01:00:00Z'));
  assert.equal(parseInstant('2026-03-28T20:00:00-0500'), t('2026-03-29T01:00:00Z'));
  assert.equal(parseInstant('2026-03-29T01:00:00'), null);
  assert.equal(validateInstant('2024-02-29T00:00:00Z', '/at'), t('2024-02-29T00:00:00Z'));
  assert.throws(() => validateInstant('2025-02-29T00:00:00Z', '/at'), (e: unknown) => e instanceof SundialError && e.code === 'validation_failed');
});

test('interval rules: every ≥ 1s, a real duration, endAt after startAt', () => {
  assert.match(refusal({ type: 'interval', every: '500ms' }).get('/schedule/every') ?? '', /at least 1s/);
  assert.match(refusal({ type: 'interval', every: 'P1M' }).get('/schedule/every') ?? '', /months/);
  assert.match(refusal({ type: 'interval', every: 5 }).get('/schedule/every') ?? '', /duration/);
  assert.ok(refusal({ type: 'interval' }).has('/schedule/every'));
  const m = refusal({ type: 'interval', every: '1m', startAt: '2026-01-02T00:00:00Z', endAt: '2026-01-01T00:00:00Z' });
  assert.match(m.get('/schedule/endAt') ?? '', /after startAt/);
  assert.ok(refusal({ type: 'interval', every: '1m', startAt: '2026-01-01T00:00:00Z', endAt: '2026-01-01T00:00:00Z' }).has('/schedule/endAt'));
});

test('maxRuns, jitter and unknown fields', () => {
  for (const maxRuns of [0, -1, 1.5, '3']) assert.ok(refusal({ type: 'interval', every: '1m', maxRuns }).has('/schedule/maxRuns'));
  assert.ok(refusal({ type: 'interval', every: '1m', jitter: 'soon' }).has('/schedule/jitter'));
  assert.ok(refusal({ type: 'interval', every: '1m', jitter: '2d' }).has('/schedule/jitter'));
  const m = refusal({ type: 'once', at: '2026-01-01T00:00:00Z', every: '1m', timezone: 'UTC' });
  assert.deepEqual([...m.keys()].sort(), ['/schedule/every', '/schedule/timezone']);
  assert.ok(refusal({ type: 'interval', every: '1m', timezone: 'UTC' }).has('/schedule/timezone'));
  assert.ok(refusal({ type: 'weekly' }).has('/schedule/type'));
  assert.ok(refusal('0 * * * *').has('/schedule'));
  assert.ok(refusal(null, '/task/schedule').has('/task/schedule'));
});

test('all problems are reported together', () => {
  const m = refusal({ type: 'cron', expression: '0 0 30 2 *', timezone: 'CEST', maxRuns: 0, color: 'red' });
  assert.deepEqual([...m.keys()].sort(), ['/schedule/color', '/schedule/expression', '/schedule/maxRuns', '/schedule/timezone']);
});

test('time zones: IANA names only', () => {
  for (const tz of ['Europe/Berlin', 'America/New_York', 'UTC', 'Etc/UTC', 'Asia/Kolkata', 'Asia/Calcutta', 'Europe/Kyiv', 'America/Argentina/Buenos_Aires']) {
    assert.equal(validateSchedule({ type: 'cron', expression: '0 * * * *', timezone: tz }).type, 'cron', tz);
  }
  for (const tz of ['CEST', 'EST', 'PST', 'CET', 'EST5EDT']) {
    assert.match(refusal({ type: 'cron', expression: '0 * * * *', timezone: tz }).get('/schedule/timezone') ?? '', /abbreviation/, tz);
  }
  for (const tz of ['Mars/Olympus_Mons', 'Europe/Berln', 'US/Eastern', '', 'GMT+2']) {
    assert.ok(refusal({ type: 'cron', expression: '0 * * * *', timezone: tz }).has('/schedule/timezone'), tz);
  }
  assert.match(refusal({ type: 'cron', expression: '0 * * * *', timezone: 'europe/berlin' }).get('/schedule/timezone') ?? '', /did you mean 'Europe\/Berlin'/);
});

test('cron expressions: 5 or 6 fields, parseable, able to fire', () => {
  const msg = (expression: unknown): string => refusal({ type: 'cron', expression }).get('/schedule/expression') ?? '';
  assert.match(msg('0 0 30 2 *'), /never fires/);
  assert.match(msg('0 0 31 4 *'), /never fires/);
  assert.match(msg('garbage'), /5 fields .* or 6/);
  assert.match(msg('* * * *'), /it has 4/);
  assert.match(msg('0 0 0 1 1 * 2030'), /it has 7/);
  assert.match(msg('61 * * * *'), /minute: 61/);
  assert.match(msg('*/0 * * * *'), /stepping/);
  assert.match(msg('0 25 * * *'), /hour/);
  assert.match(msg(''), /cron expression/);
  assert.match(msg(undefined), /required/);
  for (const ok of ['0 0 29 2 *', '0 9 * * MON-FRI', '*/10 * * * * *', '0 0 L * *', '@daily']) {
    assert.equal(validateSchedule({ type: 'cron', expression: ok }).type, 'cron', ok);
  }
});

test('a cron window with no occurrence inside is refused', () => {
  const m = refusal({ type: 'cron', expression: '0 0 29 2 *', startAt: '2026-03-01T00:00:00Z', endAt: '2027-12-31T00:00:00Z' });
  assert.match(m.get('/schedule/endAt') ?? '', /no occurrence/);
  assert.equal(
    validateSchedule({ type: 'cron', expression: '0 0 29 2 *', startAt: '2026-03-01T00:00:00Z', endAt: '2028-03-01T00:00:00Z' }).type,
    'cron',
  );
});

// ---- anchoring -------------------------------------------------------------------------------

test('anchorSchedule gives an unanchored interval startAt = now + every', () => {
  const now = t('2026-05-05T10:00:00.250Z');
  assert.deepEqual(anchorSchedule({ type: 'interval', every: '5m' }, now), { type: 'interval', every: '5m', startAt: '2026-05-05T10:05:00.250Z' });
  const anchored: Schedule = { type: 'interval', every: '5m', startAt: '2026-01-01T00:00:00.000Z' };
  assert.equal(anchorSchedule(anchored, now), anchored);
  const cron: Schedule = { type: 'cron', expression: '0 * * * *' };
  assert.equal(anchorSchedule(cron, now), cron);
});

// ---- occurrences -----------------------------------------------------------------------------

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

test('describeSchedule says it briefly', () => {
  assert.equal(describeSchedule({ type: 'once', at: '2026-12-01T09:00:00.000Z' }), 'once at 2026-12-01 09:00 UTC');
  assert.equal(describeSchedule({ type: 'interval', every: 'PT5M' }), 'every 5m');
  assert.equal(
    describeSchedule({ type: 'interval', every: '90m', startAt: '2026-01-01T00:00:00.000Z', maxRuns: 3, jitter: '5s' }),
    'every 1h30m, from 2026-01-01 00:00 UTC, at most 3 runs, jitter 5s',
  );
  assert.equal(describeSchedule({ type: 'cron', expression: '*/10 * * * * *', timezone: 'Europe/Berlin' }), 'cron `*/10 * * * * *` (Europe/Berlin)');
  assert.equal(describeSchedule({ type: 'cron', expression: '0 9 * * 1' , timezone: 'Europe/Berlin' }), 'at 09:00 on Monday (Europe/Berlin)');
  assert.equal(describeSchedule({ type: 'cron', expression: '30 2 * * *' }), 'at 02:30 every day (UTC)');
  assert.equal(describeSchedule({ type: 'cron', expression: '*/15 * * * *' }), 'every 15 minutes (UTC)');
  assert.equal(describeSchedule({ type: 'cron', expression: '5 * * * *' }), 'every hour at :05 (UTC)');
  assert.equal(describeSchedule({ type: 'once', at: '2026-12-01T09:00:30.000Z', maxRuns: 1 }), 'once at 2026-12-01 09:00:30 UTC, at most 1 run');
});
