import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/core/duration.js';

test('parseDuration reads ISO-8601 durations', () => {
  const cases: [string, number][] = [
    ['PT5M', 300_000],
    ['P1DT2H', 93_600_000],
    ['PT0.5S', 500],
    ['PT0,5S', 500],
    ['PT1H30M', 5_400_000],
    ['P2D', 172_800_000],
    ['P1W', 604_800_000],
    ['pt30s', 30_000],
    ['PT0S', 0],
    ['PT1.5H', 5_400_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration refuses years, months and empty ISO forms', () => {
  for (const text of ['P1Y', 'P1M', 'P1Y2M', 'P', 'PT', 'P1DT', 'PT5', 'P-1D', 'PT5M3H']) {
    assert.equal(parseDuration(text), null, text);
  }
});

test('parseDuration reads shorthand', () => {
  const cases: [string, number][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5h', 5_400_000],
    ['0s', 0],
    ['1d2h3m4s5ms', 93_784_005],
    [' 10s ', 10_000],
    ['2w', 1_209_600_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration returns null for what is not a duration', () => {
  for (const text of ['', '  ', '5', '5x', '-5m', '5M', '30S', 'm5', '5m5m', '30s1m', '1h30', 'abc', '1e3s', '5 minutes']) {
    assert.equal(parseDuration(text), null, text);
  }
});

test('formatDuration writes the shortest shorthand', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [250, '250ms'],
    [1000, '1s'],
    [30_000, '30s'],
    [300_000, '5m'],
    [5_400_000, '1h30m'],
    [86_400_000, '1d'],
    [93_784_005, '1d2h3m4s5ms'],
    [1500, '1s500ms'],
    [-60_000, '-1m'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
});

test('formatDuration output parses back to the same milliseconds', () => {
  for (const ms of [0, 1, 999, 1000, 61_001, 3_600_000, 90_061_001, 604_800_000, 31_536_000_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});
