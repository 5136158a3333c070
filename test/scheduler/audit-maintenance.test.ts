// The audit maintenance loop: signs the chain's head at start and each round (only when it moved),
// prunes rows past the retention a batch at a time behind signed checkpoints (verify stays OK),
// and with no key does nothing.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import { AuditMaintenance } from '../../src/scheduler/audit-maintenance.js';
import { verifyAuditChain } from '../../src/services/audit-verify.js';
import { checkpointSigned } from '../../src/store/audit-chain.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const KEY = 'maintenance-audit-key-0123456789-abcdefgh';
const DAY = 86_400_000;

describe('AuditMaintenance', () => {
  let temp: TempStore;
  let clock: ManualClock;
  const errors: Error[] = [];
  const bus = new EventBus();
  bus.on('scheduler:error', (e) => errors.push(e.error));

  beforeEach(async () => {
    temp = await openTempStore('sundial-auditmaint-');
    clock = new ManualClock('2026-03-02T10:00:00Z');
    errors.length = 0;
  });
  afterEach(async () => {
    await temp.cleanup();
  });

  const row = (at: number, i: number) =>
    temp.store.appendAudit({ namespace: 'default', at, actor: 'key:k', ip: null, action: 'task.create', targetType: 'task', targetId: `t${i}` });

  it('signs the head at start and again only once it moved', async () => {
    for (let i = 0; i < 3; i++) await row(clock.now(), i);
    const m = new AuditMaintenance({ key: KEY, node: 'n1', retentionMs: 0, signIntervalMs: 0 }, { chain: temp.store.auditChain, clock, bus });
    assert.deepEqual(await m.start(), { pruned: 0, signed: 3 });
    assert.deepEqual(await m.runOnce(), { pruned: 0, signed: null });
    await row(clock.now(), 3);
    assert.deepEqual(await m.runOnce(), { pruned: 0, signed: 4 });
    await m.stop();
    const cps = await temp.store.auditChain.checkpoints();
    assert.deepEqual(cps.map((c) => [c.kind, c.seq, c.node]), [['head', 3, 'n1'], ['head', 4, 'n1']]);
    assert.ok(cps.every((c) => checkpointSigned(c, KEY)));
    const v = await verifyAuditChain(temp.store.auditChain, { key: KEY });
    assert.deepEqual([v.ok, v.signedHeads, v.lastSignedHead?.seq], [true, 2, 4]);
    assert.deepEqual(errors, []);
  });

  it('prunes rows past the retention in batches, each behind a signed checkpoint, and verify starts there', async () => {
    const now = clock.now();
    for (let i = 0; i < 7; i++) await row(now - 40 * DAY + i, i);
    for (let i = 7; i < 10; i++) await row(now - DAY, i);
    const m = new AuditMaintenance({ key: KEY, node: 'n1', retentionMs: 30 * DAY, signIntervalMs: 0, batch: 3 }, { chain: temp.store.auditChain, clock, bus });
    assert.deepEqual(await m.runOnce(), { pruned: 7, signed: 10 });
    const rows = await temp.store.auditChain.rows(0, 100);
    assert.deepEqual(rows.map((r) => r.seq), [8, 9, 10]);
    const v = await verifyAuditChain(temp.store.auditChain, { key: KEY });
    assert.deepEqual([v.ok, v.count, v.from.seq, v.from.checkpoint, v.head.seq], [true, 3, 7, true, 10]);
    assert.deepEqual(errors, []);
  });

  it('without a key signs and prunes nothing', async () => {
    await row(clock.now() - 40 * DAY, 0);
    const m = new AuditMaintenance({ key: null, node: 'n1', retentionMs: 30 * DAY, signIntervalMs: 1000 }, { chain: temp.store.auditChain, clock, bus });
    assert.deepEqual(await m.start(), { pruned: 0, signed: null });
    await m.stop();
    assert.equal((await temp.store.auditChain.rows(0, 10)).length, 1);
    assert.deepEqual(await temp.store.auditChain.checkpoints(), []);
  });
});
