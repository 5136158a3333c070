import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanCell, formatKeyValues, formatTable } from '../../src/cli/format/table.js';
import { fmtDuration, fmtSchedule, fmtTime, fmtTimeWithOffset, fmtUtc, str } from '../../src/cli/format/values.js';
import { flatten, fmtBytes, RUN_COLUMNS, TASK_COLUMNS } from '../../src/cli/format/views.js';

describe('formatTable', () => {
  it('pads columns to the widest cell, right-aligns numbers, and leaves no trailing blanks', () => {
    const out = formatTable(
      [
        { header: 'NAME', value: (r: { n: string; c: number }) => r.n },
        { header: 'COUNT', value: (r) => String(r.c), align: 'right' },
        { header: 'NOTE', value: () => '' },
      ],
      [
        { n: 'a', c: 1 },
        { n: 'longer', c: 1234 },
      ],
    );
    assert.equal(out, ['NAME    COUNT  NOTE', 'a           1', 'longer   1234'].join('\n'));
  });

  it('cuts cells at their maximum with an ellipsis and counts code points, not UTF-16 units', () => {
    const out = formatTable(
      [
        { header: 'X', value: (r: string) => r, max: 5 },
        { header: 'Y', value: () => '|' },
      ],
      ['abcdefgh', '🙂🙂'],
    );
    assert.equal(out, ['X      Y', 'abcd…  |', '🙂🙂     |'].join('\n'));
  });

  it('neutralises control characters from the server', () => {
    assert.equal(cleanCell('evil\u001b[2Jname\nnext\ttab'), 'evil?[2Jname next tab');
  });

  it('prints only headers for no rows', () => {
    assert.equal(formatTable([{ header: 'A', value: () => 'x' }], []), 'A');
  });
});

describe('formatKeyValues', () => {
  it('aligns keys', () => {
    assert.equal(formatKeyValues([['id', '1'], ['long key', 'v'], ['empty', '']]), ['id        1', 'long key  v', 'empty'].join('\n'));
  });
});

describe('values', () => {
  it('formats durations for people', () => {
    assert.deepEqual(
      [0, 850, 1234, 9999, 42_000, 185_000, 7_800_000, 90_000_000, -1500, null, undefined].map(fmtDuration),
      ['0ms', '850ms', '1.2s', '10.0s', '42s', '3m05s', '2h10m', '1d01h', '-1.5s', '-', '-'],
    );
  });

  it('formats times in a zone, with offsets, and as UTC; accepts ISO strings and milliseconds', () => {
    assert.equal(fmtTime('2026-03-29T01:30:00Z', 'Europe/Berlin'), '2026-03-29 03:30:00');
    assert.equal(fmtTime(Date.UTC(2026, 0, 2, 3, 4, 5), 'UTC'), '2026-01-02 03:04:05');
    assert.equal(fmtTimeWithOffset('2026-03-29T01:30:00Z', 'Europe/Berlin'), '2026-03-29 03:30:00 +02:00');
    assert.equal(fmtTimeWithOffset('2026-01-01T00:00:00Z', 'UTC'), '2026-01-01 00:00:00 +00:00');
    assert.equal(fmtUtc(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000Z');
    assert.equal(fmtTime(null), '-');
    assert.equal(fmtTime('not a time'), 'not a time');
  });

  it('describes schedules in a few words', () => {
    assert.equal(fmtSchedule({ type: 'interval', every: '5m' }), 'every 5m');
    assert.equal(fmtSchedule({ type: 'cron', expression: '0 9 * * 1', timezone: 'Europe/Berlin' }), 'cron 0 9 * * 1 Europe/Berlin');
    assert.equal(fmtSchedule({ type: 'cron', expression: '* * * * *' }), 'cron * * * * *');
    assert.match(fmtSchedule({ type: 'once', at: '2026-12-01T09:00:00Z' }), /^once 2026-12-0\d \d\d:00:00$/);
    assert.equal(fmtSchedule(null), '-');
  });

  it('str shows nothing as a dash and objects as JSON', () => {
    assert.deepEqual([str(null), str(''), str(3), str({ a: 1 })], ['-', '-', '3', '{"a":1}']);
  });

  it('flattens nested objects into dotted keys and formats bytes', () => {
    assert.deepEqual(flatten('policies', { retry: { maxAttempts: 3 }, timeout: '5m', list: [1] }), [
      ['policies.retry.maxAttempts', '3'],
      ['policies.timeout', '5m'],
      ['policies.list', '[1]'],
    ]);
    assert.deepEqual([fmtBytes(512), fmtBytes(1536), fmtBytes(5 * 1024 * 1024), fmtBytes(null)], ['512 B', '1.5 KiB', '5.0 MiB', '-']);
  });
});

describe('list columns', () => {
  it('tasks: NAME KIND SCHEDULE STATUS NEXT RUN LAST', () => {
    const out = formatTable(TASK_COLUMNS, [
      { name: 'nightly', kind: 'module', schedule: { type: 'cron', expression: '0 3 * * *' }, status: 'active', nextRunAt: null, lastRunStatus: 'succeeded' },
    ]);
    assert.equal(out.split('\n')[0], 'NAME     KIND    SCHEDULE        STATUS  NEXT RUN  LAST');
    assert.equal(out.split('\n')[1], 'nightly  module  cron 0 3 * * *  active  -         succeeded');
  });

  it('runs: ID TASK STATUS ATTEMPT SCHEDULED LATE DURATION', () => {
    const out = formatTable(RUN_COLUMNS, [{ id: 'r1', taskName: 't', status: 'failed', attempt: 2, scheduledFor: null, lateMs: 12, durationMs: 1500 }]);
    assert.deepEqual(out.split('\n'), ['ID  TASK  STATUS  ATTEMPT  SCHEDULED  LATE  DURATION', 'r1  t     failed        2  -          12ms      1.5s']);
  });
});
