import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunLog, TRUNCATED_MARKER, toLevel, utf8Prefix } from '../../src/executor/log-capture.js';

describe('run log capture', () => {
  it('keeps lines in order with their level', () => {
    const log = new RunLog(100);
    log.push('info', 'one');
    log.push('error', 'two');
    assert.deepEqual(log.lines?.map(([, level, m]) => [level, m]), [
      ['info', 'one'],
      ['error', 'two'],
    ]);
    assert.equal(log.truncated, false);
  });

  it('cuts at the byte cap, keeps the part that fits, adds one marker, drops the rest', () => {
    const log = new RunLog(10);
    log.push('info', '123456');
    log.push('info', 'abcdefgh');
    log.push('info', 'dropped');
    assert.deepEqual(log.lines?.map(([, , m]) => m), ['123456', 'abcd', TRUNCATED_MARKER]);
    assert.equal(log.truncated, true);
  });

  it('counts UTF-8 bytes and never splits a character', () => {
    const log = new RunLog(5);
    log.push('info', 'ééé'); // 6 bytes
    assert.deepEqual(log.lines?.map(([, , m]) => m), ['éé', TRUNCATED_MARKER]);
    assert.equal(utf8Prefix('a😀b', 3), 'a');
    assert.equal(utf8Prefix('a😀b', 5), 'a😀');
    assert.equal(utf8Prefix('abc', 10), 'abc');
  });

  it('drops lines after the run sealed its log', () => {
    const log = new RunLog(100);
    log.push('info', 'kept');
    log.seal();
    log.push('info', 'late');
    assert.equal(log.lines?.length, 1);
  });

  it('unknown levels become info', () => {
    assert.equal(toLevel('warn'), 'warn');
    assert.equal(toLevel('fatal'), 'info');
    assert.equal(toLevel(undefined), 'info');
  });
});
