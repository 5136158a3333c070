// The audit hash chain (issue 12) on a real store: rows written through every audited path are
// chained gapless, verification says OK with the count and head, and tampering with the database
// directly (as someone with write access to it would) is detected at the row it touched: a
// changed field, a deleted row, two rows' contents swapped, a forged row slipped in or appended,
// a row rewritten with its hash recomputed, a tail cut off, a whole suffix rewritten behind a
// signed head. Pruning leaves a signed checkpoint that verification starts from; a checkpoint
// whose HMAC is wrong (or made with another key) is named. Run by audit-chain-{sqlite,postgres}.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { GENESIS_HASH, auditRowHash, signCheckpoint, type AuditChainRow } from '../../src/store/audit-chain.js';
import type { Store } from '../../src/store/store.js';
import { verifyAuditChain, type AuditVerification } from '../../src/services/audit-verify.js';
import { T0, audit, newRun, newTask } from './store-fixtures.js';

/** A store, and a way to write to its database behind its back (SQL with $1… placeholders). */
export interface ChainHarness {
  readonly store: Store;
  tamper(sql: string, params?: unknown[]): Promise<void>;
  cleanup(): Promise<void>;
}

export type OpenChainHarness = () => Promise<ChainHarness>;

export const KEY = 'test-audit-key-0123456789-abcdefghijklmnop';
const OTHER_KEY = 'another-audit-key-0123456789-ABCDEFGHIJKLMN';

const COLUMNS = ['id', 'namespace', 'at', 'actor', 'ip', 'action', 'target_type', 'target_id', 'detail', 'seq', 'prev_hash', 'hash'] as const;
const values = (r: AuditChainRow) => [r.id, r.namespace, r.at, r.actor, r.ip, r.action, r.targetType, r.targetId, r.detail, r.seq, r.prevHash, r.hash];

/** Every row of the chain, in order. */
export async function allRows(store: Store): Promise<AuditChainRow[]> {
  const out: AuditChainRow[] = [];
  for (let page = await store.auditChain.rows(0, 3); page.length > 0; page = await store.auditChain.rows(page[page.length - 1]!.seq, 3)) out.push(...page);
  return out;
}

/** A verification with small pages, so a walk always spans several. */
export const verify = (store: Store, key: string | null = KEY): Promise<AuditVerification> => verifyAuditChain(store.auditChain, { key, pageSize: 2 });

export function runAuditChainConformance(label: string, open: OpenChainHarness): void {
  describe(`audit hash chain: ${label}`, () => {
    let h: ChainHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** Six rows at T0 + 1…6 s through appendAudit. */
    async function sixRows(): Promise<AuditChainRow[]> {
      for (let i = 1; i <= 6; i++) await h.store.appendAudit(audit('api_key.use', `k${i}`, { at: T0 + i * 1000, detail: { n: i, note: 'ünïcode ✓' } }));
      const rows = await allRows(h.store);
      assert.equal(rows.length, 6);
      return rows;
    }

    const update = (seq: number, r: AuditChainRow) =>
      h.tamper(`UPDATE audit SET ${COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ')} WHERE seq = $${COLUMNS.length + 1}`, [...values(r), seq]);

    it('an empty log verifies, from the start', async () => {
      const v = await verify(h.store);
      assert.equal(v.ok, true);
      assert.equal(v.count, 0);
      assert.deepEqual(v.head, { seq: 0, hash: GENESIS_HASH });
    });

    it('chains the rows of every audited write gapless, each linked to the one before', async () => {
      const task = newTask({ id: 'task-1', name: 'one' });
      await h.store.createTask(task, null, audit('task.create', task.id));
      await h.store.createRun(newRun(task, { id: 'run-1' }), audit('run.create', 'run-1', { at: T0 + 1 }));
      await h.store.requestCancel('run-1', T0 + 2, audit('run.cancel', 'run-1', { at: T0 + 2 }));
      await h.store.deleteTask(task.id, T0 + 3, audit('task.delete', task.id, { at: T0 + 3, ip: null }));
      await h.store.appendAudit(audit('api_key.use', 'k1', { at: T0 + 4, detail: { from: '10.0.0.1' } }));
      const rows = await allRows(h.store);
      assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3, 4, 5]);
      assert.deepEqual(rows.map((r) => r.action), ['task.create', 'run.create', 'run.cancel', 'task.delete', 'api_key.use']);
      assert.equal(rows[0]!.prevHash, GENESIS_HASH);
      for (let i = 1; i < rows.length; i++) assert.equal(rows[i]!.prevHash, rows[i - 1]!.hash);
      // The store's hash is the shared encoding's (on PostgreSQL computed in SQL).
      for (const r of rows) assert.equal(r.hash, auditRowHash(r));
      const v = await verify(h.store);
      assert.equal(v.ok, true, JSON.stringify(v.broken));
      assert.equal(v.count, 5);
      assert.deepEqual(v.head, { seq: 5, hash: rows[4]!.hash });
      assert.deepEqual(await h.store.auditChain.head(), v.head);
      // Listings show the chain's place and hash.
      const listed = await h.store.listAudit({ namespaces: '*', limit: 10 });
      assert.equal(listed.items[0]!.seq, 5);
      assert.equal(listed.items[0]!.hash, rows[4]!.hash);
    });

    it('a write that fails leaves no row and no gap', async () => {
      const task = newTask({ id: 'task-1', name: 'one' });
      await h.store.createTask(task, null, audit('task.create', task.id));
      await assert.rejects(h.store.createTask(newTask({ id: 'task-2', name: 'one' }), null, audit('task.create', 'task-2')));
      await h.store.appendAudit(audit('api_key.use', 'k1'));
      assert.deepEqual((await allRows(h.store)).map((r) => r.seq), [1, 2]);
      assert.equal((await verify(h.store)).ok, true);
    });

    it('a changed field is detected at that row', async () => {
      const rows = await sixRows();
      await update(3, { ...rows[2]!, actor: 'key:someone-else' });
      const v = await verify(h.store);
      assert.equal(v.ok, false);
      assert.deepEqual([v.broken?.seq, v.broken?.reason, v.broken?.id], [3, 'changed', rows[2]!.id]);
      assert.equal(v.count, 2);
    });

    it('a changed detail, time or address is detected at that row', async () => {
      for (const [seq, change] of [
        [2, { detail: '{"n":2,"note":"edited"}' }],
        [4, { at: T0 + 1 }],
        [5, { ip: null }],
      ] as const) {
        const rows = await allRows(h.store);
        if (rows.length === 0) await sixRows();
        const r = (await allRows(h.store))[seq - 1]!;
        await update(seq, { ...r, ...change });
        const v = await verify(h.store);
        assert.deepEqual([v.broken?.seq, v.broken?.reason], [seq, 'changed'], JSON.stringify(change));
        await update(seq, r);
        assert.equal((await verify(h.store)).ok, true);
      }
    });

    it('a row written around the chained insert (no seq) is named, or refused by the schema', async () => {
      await sixRows();
      const inserted = await h
        .tamper("INSERT INTO audit (id, namespace, at, actor, ip, action, target_type, target_id, detail) VALUES ('stray', 'default', 1, 'x', NULL, 'task.create', 'task', 't', NULL)")
        .then(() => 'inserted', (err: Error) => err.message);
      if (inserted !== 'inserted') {
        // PostgreSQL: seq is NOT NULL, so no row can be outside the chain.
        assert.match(inserted, /null value in column "seq"/);
        return;
      }
      const v = await verify(h.store);
      assert.deepEqual([v.ok, v.broken?.id, v.broken?.reason], [false, 'stray', 'unchained']);
    });

    it('a deleted row is detected at that row', async () => {
      await sixRows();
      await h.tamper('DELETE FROM audit WHERE seq = $1', [3]);
      const v = await verify(h.store);
      assert.deepEqual([v.ok, v.broken?.seq, v.broken?.reason], [false, 3, 'missing']);
    });

    it('a deleted row with the rows after it renumbered is detected at that row', async () => {
      await sixRows();
      await h.tamper('DELETE FROM audit WHERE seq = $1', [3]);
      await h.tamper('UPDATE audit SET seq = -seq WHERE seq > $1', [3]);
      await h.tamper('UPDATE audit SET seq = -seq - 1 WHERE seq < 0');
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason], [3, 'changed']);
    });

    it('a deleted tail is detected where it starts', async () => {
      await sixRows();
      await h.tamper('DELETE FROM audit WHERE seq >= $1', [5]);
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason], [5, 'missing']);
    });

    it('two rows whose contents were swapped are detected at the first of them', async () => {
      const rows = await sixRows();
      const [two, four] = [rows[1]!, rows[3]!];
      await h.tamper("UPDATE audit SET id = 'swap-tmp' WHERE seq = $1", [2]);
      await update(4, { ...two, seq: 4 });
      await update(2, { ...four, seq: 2 });
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason], [2, 'changed']);
    });

    it('a forged row slipped in (later rows renumbered, its own hash right) is detected at that row', async () => {
      const rows = await sixRows();
      await h.tamper('UPDATE audit SET seq = -seq WHERE seq >= $1', [3]);
      await h.tamper('UPDATE audit SET seq = -seq + 1 WHERE seq < 0');
      const forged = { ...rows[2]!, id: 'forged', actor: 'key:innocent', seq: 3, prevHash: rows[1]!.hash };
      forged.hash = auditRowHash(forged);
      await h.tamper(`INSERT INTO audit (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`, values(forged));
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason, v.broken?.id], [3, 'inserted', 'forged']);
    });

    it('a forged row appended with a made-up hash is detected at that row', async () => {
      const rows = await sixRows();
      const forged = { ...rows[5]!, id: 'forged', seq: 7, prevHash: rows[5]!.hash, hash: 'f'.repeat(64) };
      await h.tamper(`INSERT INTO audit (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`, values(forged));
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason, v.broken?.id], [7, 'changed', 'forged']);
    });

    it('a row rewritten with its hash recomputed is detected at that row (its successor recorded another hash)', async () => {
      const rows = await sixRows();
      const edited = { ...rows[2]!, action: 'api_key.nothing' };
      edited.hash = auditRowHash(edited);
      await update(3, edited);
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason, v.broken?.id], [3, 'rewritten', rows[2]!.id]);
    });

    it('the last row rewritten with its hash recomputed is detected at that row (the head recorded its hash)', async () => {
      const rows = await sixRows();
      const edited = { ...rows[5]!, actor: 'key:innocent' };
      edited.hash = auditRowHash(edited);
      await update(6, edited);
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason, v.broken?.id], [6, 'rewritten', rows[5]!.id]);
    });

    it('a suffix rewritten with every hash and link recomputed is caught by a signed head', async () => {
      const rows = await sixRows();
      await h.store.auditChain.addCheckpoint(signCheckpoint({ kind: 'head', seq: 6, hash: rows[5]!.hash, at: T0 + 10_000, node: 'n1' }, KEY));
      assert.equal((await verify(h.store)).signedHeads, 1);
      let prev = rows[1]!.hash;
      for (const r of rows.slice(2)) {
        const fake = { ...r, prevHash: prev, actor: r.seq === 3 ? 'key:innocent' : r.actor };
        fake.hash = auditRowHash(fake);
        await update(r.seq, fake);
        prev = fake.hash;
      }
      // Without the signed head nothing would show; with it the rewrite is named at its seq.
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason], [6, 'checkpoint_mismatch']);
    });

    it('a head written down earlier catches a suffix rewritten with every hash recomputed, and a tail cut off', async () => {
      const rows = await sixRows();
      const kept = { seq: 5, hash: rows[4]!.hash };
      assert.equal((await verifyAuditChain(h.store.auditChain, { key: KEY, expect: kept })).ok, true);
      let prev = rows[2]!.hash;
      for (const r of rows.slice(3)) {
        const fake = { ...r, prevHash: prev, detail: r.seq === 4 ? '{"n":4,"note":"rewritten"}' : r.detail };
        fake.hash = auditRowHash(fake);
        await update(r.seq, fake);
        prev = fake.hash;
      }
      // A thorough intruder moves the head too: the chain itself is consistent again, and only
      // the written-down head tells.
      await h.tamper('UPDATE audit_head SET hash = $1', [prev]);
      assert.equal((await verify(h.store)).ok, true);
      const v = await verifyAuditChain(h.store.auditChain, { key: KEY, expect: kept });
      assert.deepEqual([v.ok, v.broken?.seq, v.broken?.reason], [false, 5, 'expected_mismatch']);
      await h.tamper('DELETE FROM audit WHERE seq >= $1', [5]);
      await h.tamper('UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit WHERE seq = 4)');
      const cut = await verifyAuditChain(h.store.auditChain, { key: KEY, expect: kept });
      assert.deepEqual([cut.broken?.seq, cut.broken?.reason], [5, 'missing']);
    });

    it('pruning writes a signed checkpoint first, and the chain verifies from it', async () => {
      const rows = await sixRows();
      const signCalls: number[] = [];
      const n = await h.store.auditChain.prune(T0 + 3500, 100, (last) => {
        signCalls.push(last.seq);
        return signCheckpoint({ kind: 'prune', seq: last.seq, hash: last.hash, at: T0 + 9000, node: 'n1' }, KEY);
      });
      assert.equal(n, 3);
      assert.deepEqual(signCalls, [3]);
      assert.deepEqual((await allRows(h.store)).map((r) => r.seq), [4, 5, 6]);
      const v = await verify(h.store);
      assert.equal(v.ok, true, JSON.stringify(v.broken));
      assert.deepEqual(v.from, { seq: 3, hash: rows[2]!.hash, checkpoint: true });
      assert.equal(v.count, 3);
      // Appending goes on; a second prune replaces the checkpoint.
      await h.store.appendAudit(audit('api_key.use', 'k7', { at: T0 + 7000 }));
      assert.equal(await h.store.auditChain.prune(T0 + 5500, 1, (last) => signCheckpoint({ kind: 'prune', seq: last.seq, hash: last.hash, at: T0 + 9000, node: 'n1' }, KEY)), 1);
      assert.deepEqual((await h.store.auditChain.checkpoints()).map((c) => [c.kind, c.seq]), [['prune', 4]]);
      const again = await verify(h.store);
      assert.deepEqual([again.ok, again.count, again.from.seq, again.head.seq], [true, 3, 4, 7]);
      // Nothing old enough: nothing written.
      assert.equal(await h.store.auditChain.prune(T0, 100, () => assert.fail('no checkpoint without rows to prune')), 0);
    });

    it('rows deleted without a checkpoint are detected at the first one', async () => {
      await sixRows();
      await h.tamper('DELETE FROM audit WHERE seq <= $1', [2]);
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason], [1, 'missing']);
    });

    it('a forged checkpoint (wrong HMAC, or another key) is named', async () => {
      const rows = await sixRows();
      // An attacker deletes rows 1-3 and writes the prune checkpoint that would cover them.
      await h.tamper('DELETE FROM audit WHERE seq <= $1', [3]);
      const fake = signCheckpoint({ kind: 'prune', seq: 3, hash: rows[2]!.hash, at: T0, node: 'n1' }, KEY);
      await h.store.auditChain.addCheckpoint({ ...fake, signature: 'a'.repeat(64) });
      const v = await verify(h.store);
      assert.deepEqual([v.ok, v.broken?.seq, v.broken?.reason], [false, 3, 'checkpoint_forged']);
      assert.match(v.broken!.message, /signature is wrong/);
      // Signed with a key that is not the operator's.
      await h.tamper("DELETE FROM audit_checkpoints WHERE kind = 'prune'");
      await h.store.auditChain.addCheckpoint(signCheckpoint({ kind: 'prune', seq: 3, hash: rows[2]!.hash, at: T0, node: 'n1' }, OTHER_KEY));
      const w = await verify(h.store);
      assert.deepEqual([w.broken?.seq, w.broken?.reason], [3, 'checkpoint_forged']);
      assert.match(w.broken!.message, /names key [0-9a-f]{16}, the configured key is [0-9a-f]{16}/);
      // Without the key nothing can be told: it says so.
      const blind = await verify(h.store, null);
      assert.equal(blind.ok, true);
      assert.equal(blind.keyConfigured, false);
      assert.match(blind.warnings.join(' '), /no audit key/);
    });

    it('a forged signed head is named', async () => {
      const rows = await sixRows();
      await h.store.auditChain.addCheckpoint({ ...signCheckpoint({ kind: 'head', seq: 4, hash: rows[3]!.hash, at: T0, node: 'n1' }, KEY), at: T0 + 1 });
      const v = await verify(h.store);
      assert.deepEqual([v.broken?.seq, v.broken?.reason], [4, 'checkpoint_forged']);
    });
  });
}
