// DST rules of DESIGN.md "Schedules", pinned on exact UTC instants:
// - a fixed local time inside a spring-forward gap fires once, at the first instant after the gap;
// - a fixed local time inside a fall-back overlap fires once, on its first pass;
// - expressions that step through hours fire on every real instant (23 or 25 hourly firings).
// Transitions used: Europe/Berlin 2026-03-29 01:00Z (02:00 CET → 03:00 CEST) and 2026-10-25
// 01:00Z (03:00 CEST → 02:00 CET); America/New_York 2026-03-08 07:00Z (02:00 EST → 03:00 EDT)
// and 2026-11-01 06:00Z (02:00 EDT → 01:00 EST).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextOccurrence, previewSchedule, recentOccurrences } from '../../../src/core/schedule/occurrences.js';
import type { Schedule } from '../../../src/core/types.js';

const t = (iso: string): number => Date.parse(iso);
const cron = (expression: string, timezone: string): Schedule => ({ type: 'cron', expression, timezone });
const isoList = (xs: number[]): string[] => xs.map((x) => new Date(x).toISOString());

/** Occurrences in [from, to). */
function between(s: Schedule, from: string, to: string): number[] {
  const end = t(to);
  return previewSchedule(s, t(from), 1000).filter((x) => x < end);
}

const BERLIN_SPRING_DAY = ['2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'] as const; // 23 h long
const BERLIN_FALL_DAY = ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'] as const; // 25 h long
const NY_SPRING_DAY = ['2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z'] as const;
const NY_FALL_DAY = ['2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'] as const;

test('Berlin spring forward: 02:30 does not exist, the daily job fires once at 03:00 CEST', () => {
  assert.deepEqual(isoList(previewSchedule(cron('30 2 * * *', 'Europe/Berlin'), t('2026-03-27T12:00:00Z'), 4)), [
    '2026-03-28T01:30:00.000Z', // 02:30 CET
    '2026-03-29T01:00:00.000Z', // the first instant after the gap: 03:00 CEST
    '2026-03-30T00:30:00.000Z', // 02:30 CEST
    '2026-03-31T00:30:00.000Z',
  ]);
});

test('Berlin fall back: 02:30 happens twice, the daily job fires on the first pass only', () => {
  assert.deepEqual(isoList(previewSchedule(cron('30 2 * * *', 'Europe/Berlin'), t('2026-10-23T12:00:00Z'), 4)), [
    '2026-10-24T00:30:00.000Z', // 02:30 CEST
    '2026-10-25T00:30:00.000Z', // 02:30 CEST, first pass; not 01:30Z (02:30 CET)
    '2026-10-26T01:30:00.000Z', // 02:30 CET
    '2026-10-27T01:30:00.000Z',
  ]);
  // Asked from between the two passes, the second pass is still not an occurrence.
  assert.equal(nextOccurrence(cron('30 2 * * *', 'Europe/Berlin'), t('2026-10-25T00:45:00Z')), t('2026-10-26T01:30:00Z'));
});

test('New York spring forward: 02:30 fires once at 03:00 EDT', () => {
  assert.deepEqual(isoList(previewSchedule(cron('30 2 * * *', 'America/New_York'), t('2026-03-06T12:00:00Z'), 4)), [
    '2026-03-07T07:30:00.000Z', // 02:30 EST
    '2026-03-08T07:00:00.000Z', // 03:00 EDT
    '2026-03-09T06:30:00.000Z', // 02:30 EDT
    '2026-03-10T06:30:00.000Z',
  ]);
});

test('New York fall back: 01:30 fires on the first pass; 02:30 is not in the overlap', () => {
  assert.deepEqual(isoList(previewSchedule(cron('30 1 * * *', 'America/New_York'), t('2026-10-31T00:00:00Z'), 3)), [
    '2026-10-31T05:30:00.000Z', // 01:30 EDT
    '2026-11-01T05:30:00.000Z', // 01:30 EDT, first pass; not 06:30Z (01:30 EST)
    '2026-11-02T06:30:00.000Z', // 01:30 EST
  ]);
  assert.deepEqual(isoList(previewSchedule(cron('30 2 * * *', 'America/New_York'), t('2026-10-31T00:00:00Z'), 3)), [
    '2026-10-31T06:30:00.000Z',
    '2026-11-01T07:30:00.000Z', // 02:30 EST, once
    '2026-11-02T07:30:00.000Z',
  ]);
});

test('hourly jobs fire on every real hour: 23 on the spring day, 25 on the fall day', () => {
  const hourlyBerlin = cron('0 * * * *', 'Europe/Berlin');
  const spring = between(hourlyBerlin, ...BERLIN_SPRING_DAY);
  assert.equal(spring.length, 23);
  assert.deepEqual(isoList(spring.slice(0, 4)), [
    '2026-03-28T23:00:00.000Z', // 00:00 CET
    '2026-03-29T00:00:00.000Z', // 01:00 CET
    '2026-03-29T01:00:00.000Z', // 03:00 CEST (02:00 does not exist)
    '2026-03-29T02:00:00.000Z', // 04:00 CEST
  ]);
  const fall = between(hourlyBerlin, ...BERLIN_FALL_DAY);
  assert.equal(fall.length, 25);
  assert.deepEqual(isoList(fall.slice(1, 5)), [
    '2026-10-24T23:00:00.000Z', // 01:00 CEST
    '2026-10-25T00:00:00.000Z', // 02:00 CEST
    '2026-10-25T01:00:00.000Z', // 02:00 CET, the second pass fires too
    '2026-10-25T02:00:00.000Z', // 03:00 CET
  ]);
  // Every firing is exactly one real hour after the previous one.
  for (const day of [spring, fall]) {
    for (let i = 1; i < day.length; i++) assert.equal(day[i]! - day[i - 1]!, 3_600_000);
  }
  const hourlyNy = cron('0 * * * *', 'America/New_York');
  assert.equal(between(hourlyNy, ...NY_SPRING_DAY).length, 23);
  assert.equal(between(hourlyNy, ...NY_FALL_DAY).length, 25);
});

test('*/15 fires on every real quarter hour: 92 and 100 on the transition days', () => {
  const q = cron('*/15 * * * *', 'Europe/Berlin');
  const spring = between(q, ...BERLIN_SPRING_DAY);
  const fall = between(q, ...BERLIN_FALL_DAY);
  assert.equal(spring.length, 92);
  assert.equal(fall.length, 100);
  for (const day of [spring, fall]) {
    for (let i = 1; i < day.length; i++) assert.equal(day[i]! - day[i - 1]!, 900_000);
  }
  assert.equal(between(cron('*/15 * * * *', 'America/New_York'), ...NY_FALL_DAY).length, 100);
  // A 6-field expression steps through the repeated hour too.
  assert.equal(between(cron('0 */30 * * * *', 'Europe/Berlin'), ...BERLIN_FALL_DAY).length, 50);
});

test('lists of fixed times follow the fixed-time rules (Vixie cron)', () => {
  const s = cron('0,30 2 * * *', 'Europe/Berlin');
  // Both 02:00 and 02:30 fall in the gap: one firing at 03:00 CEST.
  assert.deepEqual(isoList(between(s, ...BERLIN_SPRING_DAY)), ['2026-03-29T01:00:00.000Z']);
  // Both happen twice in the overlap: each fires on its first pass.
  assert.deepEqual(isoList(between(s, ...BERLIN_FALL_DAY)), ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z']);
});

test('a gap at midnight (America/Santiago) moves midnight jobs to 01:00 the same day', () => {
  // 2026-09-06 00:00 -04 does not exist; the clock jumps to 01:00 -03 at 04:00Z.
  assert.deepEqual(isoList(previewSchedule(cron('0 0 * * *', 'America/Santiago'), t('2026-09-05T00:00:00Z'), 3)), [
    '2026-09-05T04:00:00.000Z',
    '2026-09-06T04:00:00.000Z',
    '2026-09-07T03:00:00.000Z',
  ]);
});

test('a half-hour shift (Australia/Lord_Howe) follows the same rules', () => {
  // 2026-10-04 02:00 +10:30 → 02:30 +11: 02:15 fires at 02:30 +11.
  assert.equal(nextOccurrence(cron('15 2 * * *', 'Australia/Lord_Howe'), t('2026-10-03T00:00:00Z')), t('2026-10-03T15:30:00Z'));
  // 2026-04-05 02:00 +11 → 01:30 +10:30: 01:45 fires on the first pass only.
  assert.deepEqual(isoList(previewSchedule(cron('45 1 * * *', 'Australia/Lord_Howe'), t('2026-04-04T00:00:00Z'), 2)), [
    '2026-04-04T14:45:00.000Z',
    '2026-04-05T15:15:00.000Z',
  ]);
});

test('the backward search the planner uses for misfires agrees with the forward one', () => {
  const cases: [string, string, readonly [string, string]][] = [
    ['0 * * * *', 'Europe/Berlin', BERLIN_SPRING_DAY],
    ['0 * * * *', 'Europe/Berlin', BERLIN_FALL_DAY],
    ['*/15 * * * *', 'America/New_York', NY_FALL_DAY],
    ['*/15 * * * *', 'America/New_York', NY_SPRING_DAY],
    ['30 2 * * *', 'Europe/Berlin', ['2026-03-20T00:00:00Z', '2026-04-05T00:00:00Z']],
    ['30 2 * * *', 'Europe/Berlin', ['2026-10-20T00:00:00Z', '2026-11-05T00:00:00Z']],
    ['30 1 * * *', 'America/New_York', ['2026-10-25T00:00:00Z', '2026-11-08T00:00:00Z']],
    ['0,30 2 * * *', 'Europe/Berlin', ['2026-03-25T00:00:00Z', '2026-04-02T00:00:00Z']],
    ['0,30 2 * * *', 'Europe/Berlin', ['2026-10-20T00:00:00Z', '2026-10-30T00:00:00Z']],
  ];
  for (const [expression, tz, [from, to]] of cases) {
    const s = cron(expression, tz);
    const forward = between(s, from, to);
    const backward = recentOccurrences(s, t(from) - 1, t(to) - 1, 1000).occurrences;
    assert.deepEqual(isoList(backward), isoList(forward), `${expression} ${tz} ${from}`);
  }
});
