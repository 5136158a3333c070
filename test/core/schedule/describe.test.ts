import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSchedule } from '../../../src/core/schedule/describe.js';

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
