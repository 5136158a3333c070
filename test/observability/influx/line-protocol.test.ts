// Line protocol escaping and unique nanosecond timestamps (the real InfluxDB reads these back in
// test/e2e/influx-sink.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_STRING_FIELD_BYTES,
  escapeKey,
  escapeMeasurement,
  formatFieldValue,
  formatPoint,
  int,
  quoteString,
  truncateUtf8,
} from '../../../src/observability/influx/line-protocol.js';
import { SeriesClock, formatNs } from '../../../src/observability/influx/series-clock.js';

describe('line protocol escaping', () => {
  it('escapes commas and spaces in measurements, and equals signs too in keys and tag values', () => {
    assert.equal(escapeMeasurement('task schedule,x=1'), 'task\\ schedule\\,x=1');
    assert.equal(escapeKey('task schedule,x=1'), 'task\\ schedule\\,x\\=1');
    assert.equal(escapeKey('plain-name_1.2:3'), 'plain-name_1.2:3');
  });

  it('writes newlines and carriage returns in names and tags as \\n and \\r, so a point stays one line', () => {
    assert.equal(escapeKey('two\nlines\r'), 'two\\nlines\\r');
    assert.ok(!escapeMeasurement('a\nb').includes('\n'));
  });

  it('doubles a backslash only where it would swallow a separator', () => {
    assert.equal(escapeKey('C:\\dir\\file'), 'C:\\dir\\file');
    assert.equal(escapeKey('ends\\'), 'ends\\\\');
    assert.equal(escapeKey('a\\,b'), 'a\\\\\\,b');
    assert.equal(escapeKey('a\\ b'), 'a\\\\\\ b');
  });

  it('keeps unicode as it is', () => {
    assert.equal(escapeKey('Zürich 日本 🚀'), 'Zürich\\ 日本\\ 🚀');
    assert.equal(quoteString('naïve ☃ 🚀'), '"naïve ☃ 🚀"');
  });

  it('quotes string fields, escaping double quotes and backslashes and keeping newlines', () => {
    assert.equal(quoteString('say "hi"'), '"say \\"hi\\""');
    assert.equal(quoteString('C:\\temp\\'), '"C:\\\\temp\\\\"');
    assert.equal(quoteString('line one\nline two, a=b c'), '"line one\nline two, a=b c"');
    assert.equal(quoteString(''), '""');
  });

  it('formats floats, integers and booleans; drops what line protocol cannot carry', () => {
    assert.equal(formatFieldValue(0.25), '0.25');
    assert.equal(formatFieldValue(3), '3');
    assert.equal(formatFieldValue(int(3)), '3i');
    assert.equal(formatFieldValue(int(-7.9)), '-7i');
    assert.equal(formatFieldValue(true), 'true');
    assert.equal(formatFieldValue(false), 'false');
    assert.equal(formatFieldValue(NaN), null);
    assert.equal(formatFieldValue(Infinity), null);
    assert.equal(formatFieldValue(int(NaN)), null);
  });

  it('formats a whole point: tags in order, empty tags and missing fields left out', () => {
    const line = formatPoint({
      measurement: 'task_logs',
      tags: { namespace: 'default', task_id: 'tsk 1', empty: '' },
      fields: { log_message: 'a "quoted"\nline', n: int(2), x: undefined, bad: NaN, ok: true },
      time: '1700000000000000001',
    });
    assert.equal(line, 'task_logs,namespace=default,task_id=tsk\\ 1 log_message="a \\"quoted\\"\nline",n=2i,ok=true 1700000000000000001');
  });

  it('makes no line for a point without a field', () => {
    assert.equal(formatPoint({ measurement: 'm', tags: {}, fields: { a: undefined, b: NaN }, time: '1' }), null);
  });

  it('cuts string fields below InfluxDB’s 64 KiB, never inside a character', () => {
    const short = 'x'.repeat(1000);
    assert.equal(truncateUtf8(short), short);
    const long = '🚀'.repeat(40_000); // 160,000 bytes
    const cut = truncateUtf8(long);
    assert.ok(Buffer.byteLength(cut) <= MAX_STRING_FIELD_BYTES);
    assert.ok(cut.endsWith('…[truncated]'));
    assert.ok(!cut.includes('\uFFFD'));
    assert.match(cut.slice(0, -'…[truncated]'.length), /^(🚀)+$/u);
    // 20 bytes into 18: 4 bytes of room cut the first € in half, which goes.
    assert.equal(truncateUtf8('ab€€€€€€', 18), 'ab…[truncated]');
  });
});

describe('unique nanosecond timestamps', () => {
  it('writes milliseconds and the nanoseconds inside them as one decimal number', () => {
    assert.equal(formatNs(1_700_000_000_123, 0), '1700000000123000000');
    assert.equal(formatNs(1_700_000_000_123, 45), '1700000000123000045');
    assert.equal(formatNs(1_700_000_000_123, 999_999), '1700000000123999999');
  });

  it('gives points of one series in the same millisecond distinct, increasing times', () => {
    const clock = new SeriesClock({ offsetNs: 0 });
    const at = 1_700_000_000_000;
    const times = Array.from({ length: 10_000 }, () => clock.next('task_schedule\0t1', at));
    assert.equal(new Set(times).size, times.length);
    for (let i = 1; i < times.length; i++) assert.ok(BigInt(times[i]!) > BigInt(times[i - 1]!));
    assert.equal(times[0], '1700000000000000000');
    assert.equal(times[9999], '1700000000000009999');
  });

  it('lets other series use the same instant, and later milliseconds their own time', () => {
    const clock = new SeriesClock({ offsetNs: 5000 });
    const at = 1_700_000_000_000;
    assert.equal(clock.next('a', at), '1700000000000005000');
    assert.equal(clock.next('b', at), '1700000000000005000');
    assert.equal(clock.next('a', at + 1), '1700000000001005000');
  });

  it('moves a point that arrives out of order to just after its series’ last one', () => {
    const clock = new SeriesClock({ offsetNs: 0 });
    const at = 1_700_000_000_010;
    assert.equal(clock.next('s', at), '1700000000010000000');
    assert.equal(clock.next('s', at - 5), '1700000000010000001');
  });

  it('carries into the next millisecond when a millisecond is full', () => {
    const clock = new SeriesClock({ offsetNs: 999_998 });
    const at = 1_700_000_000_000;
    assert.deepEqual([clock.next('s', at), clock.next('s', at), clock.next('s', at)], [
      '1700000000000999998',
      '1700000000000999999',
      '1700000000001000000',
    ]);
    // The next millisecond's own first point takes its own time, still after it.
    assert.equal(clock.next('s', at + 1), '1700000000001999998');
    assert.equal(clock.next('s', at + 1), '1700000000001999999');
  });

  it('remembers a bounded number of series', () => {
    const clock = new SeriesClock({ maxSeries: 100 });
    for (let i = 0; i < 1000; i++) clock.next(`series-${i}`, 1_700_000_000_000 + i);
    assert.ok(clock.size <= 100);
  });
});
