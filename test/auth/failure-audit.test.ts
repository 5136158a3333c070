// auth.failed rows (issue 12, item 3): at most one per address per window, with a count; a flood
// from many addresses is bounded too; never a token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureAudit } from '../../src/auth/failure-audit.js';
import { ManualClock } from '../../src/core/clock.js';
import type { NewAudit } from '../../src/store/store.js';

function setup(maxAddresses = 100) {
  const rows: NewAudit[] = [];
  const clock = new ManualClock('2026-03-02T10:00:00Z');
  const audit = new FailureAudit({ store: { appendAudit: async (e) => void rows.push(e) }, clock, maxAddresses, flushEveryMs: 0 });
  return { rows, clock, audit };
}

test('a flood from one address is one row at once and one row a minute with its count', () => {
  const { rows, clock, audit } = setup();
  for (let i = 0; i < 1000; i++) audit.record('192.0.2.1', i % 2 === 0 ? 'unknown' : 'expired', i % 2 === 0 ? 'sdl_abcdefgh' : null);
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0]!.detail, { count: 1, reasons: ['unknown'], prefixes: ['sdl_abcdefgh'] });
  audit.flush();
  assert.equal(rows.length, 1, 'nothing more before the minute ends');
  clock.advance(60_000);
  audit.flush();
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1]!.detail, { count: 999, reasons: ['expired', 'unknown'], prefixes: ['sdl_abcdefgh'] });
  assert.equal(rows[1]!.ip, '192.0.2.1');
  assert.equal(rows[1]!.action, 'auth.failed');
  // The next minute's failures are counted, not written at once: still one row a minute.
  audit.record('192.0.2.1', 'unknown', null);
  assert.equal(rows.length, 2);
  clock.advance(60_000);
  audit.flush();
  assert.equal(rows.length, 3);
  assert.equal((rows[2]!.detail as { count: number }).count, 1);
  // A quiet minute forgets the address; its next failure is written at once again.
  clock.advance(60_000);
  audit.flush();
  audit.record('192.0.2.1', 'malformed', null);
  assert.equal(rows.length, 4);
});

test('addresses beyond the bound share one counter', () => {
  const { rows, clock, audit } = setup(3);
  for (let i = 0; i < 50; i++) audit.record(`198.51.100.${i}`, 'unknown', null);
  // Three addresses, then the overflow bucket's first row: four rows, not fifty.
  assert.equal(rows.length, 4);
  assert.equal(rows[3]!.ip, null);
  assert.deepEqual(rows[3]!.detail, { count: 1, reasons: ['unknown'], prefixes: [], addresses: 'many' });
  clock.advance(60_000);
  audit.close();
  assert.equal(rows.length, 5);
  assert.equal((rows[4]!.detail as { count: number }).count, 46);
});
