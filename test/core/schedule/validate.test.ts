import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SundialError } from '../../../src/core/errors.js';
import { anchorSchedule, validateSchedule } from '../../../src/core/schedule/validate.js';
import type { Schedule } from '../../../src/core/types.js';

const t = (iso: string): number => {
  const ms = Date.parse(iso);
  assert.ok(!Number.isNaN(ms), iso);
  return ms;
};

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
