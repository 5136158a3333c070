// The secrets part of the Store contract as tests, for every implementation: versions bump
// atomically (racing writes make distinct versions), audit rows commit with the change, listings
// page by namespace and name within a scope, and a rewrap applies only to a row still as read.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { newId } from '../../src/core/ids.js';
import type { SecretWrite, StoredSecret } from '../../src/store/secret-store.js';
import type { Store } from '../../src/store/store.js';
import type { OpenStore } from './conformance.js';
import { T0, audit } from './store-fixtures.js';

function write(name: string, over: Partial<SecretWrite> = {}): SecretWrite {
  return { id: newId(), namespace: 'default', name, at: T0, actor: 'key:a', kekId: 'kek-1', wrappedKey: `wk-${name}`, ciphertext: `ct-${name}`, ...over };
}

const auditFor = (s: StoredSecret) => audit(s.version === 1 ? 'secret.create' : 'secret.update', s.id, { namespace: s.namespace, detail: { name: s.name, version: s.version } });

export function runSecretConformance(name: string, open: OpenStore): void {
  describe(`SecretStore conformance: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => cleanup());

    it('creates at version 1, then each new value is version + 1 with the same id and creation', async () => {
      const first = await store.secrets.putSecret(write('TOKEN'), auditFor);
      assert.equal(first.version, 1);
      const second = await store.secrets.putSecret(write('TOKEN', { at: T0 + 5, actor: 'key:b', ciphertext: 'ct-2', wrappedKey: 'wk-2', kekId: 'kek-2' }), auditFor);
      assert.deepEqual(
        { ...second },
        { ...first, version: 2, updatedAt: T0 + 5, updatedBy: 'key:b', ciphertext: 'ct-2', wrappedKey: 'wk-2', kekId: 'kek-2' },
      );
      assert.deepEqual(await store.secrets.getSecret('default', 'TOKEN'), second);
      assert.equal(await store.secrets.getSecret('other', 'TOKEN'), null);
      const rows = await store.listAudit({ namespaces: '*', targetId: first.id, limit: 10 });
      assert.deepEqual(rows.items.map((a) => [a.action, (a.detail as { version: number }).version]).sort(), [['secret.create', 1], ['secret.update', 2]]);
    });

    it('racing writes of one name make distinct versions', async () => {
      const all = await Promise.all(Array.from({ length: 8 }, (_, i) => store.secrets.putSecret(write('RACE', { ciphertext: `ct-${i}` }), auditFor)));
      assert.deepEqual(all.map((s) => s.version).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal((await store.secrets.getSecret('default', 'RACE'))!.version, 8);
    });

    it('an audit row that cannot be written takes the change with it', async () => {
      await store.secrets.putSecret(write('KEEP'), auditFor);
      const bad = () => ({ ...audit('secret.update', 'x'), at: Number.NaN, namespace: null as unknown as string });
      await assert.rejects(store.secrets.putSecret(write('KEEP', { ciphertext: 'ct-new' }), bad));
      const kept = await store.secrets.getSecret('default', 'KEEP');
      assert.equal(kept!.version, 1);
      assert.equal(kept!.ciphertext, 'ct-KEEP');
    });

    it('gets several by name, lists a scope in pages, deletes with an audit row', async () => {
      for (const [ns, n] of [['default', 'B'], ['default', 'A'], ['team', 'C'], ['hidden', 'D']] as const) await store.secrets.putSecret(write(n, { namespace: ns }), auditFor);
      assert.deepEqual((await store.secrets.getSecrets('default', ['B', 'A', 'NOPE', 'A'])).map((s) => s.name), ['A', 'B']);
      assert.deepEqual(await store.secrets.getSecrets('default', []), []);
      const p1 = await store.secrets.listSecrets(['default', 'team'], 2);
      assert.deepEqual(p1.items.map((s) => `${s.namespace}/${s.name}`), ['default/A', 'default/B']);
      assert.ok(p1.nextCursor !== null);
      const p2 = await store.secrets.listSecrets(['default', 'team'], 2, p1.nextCursor);
      assert.deepEqual(p2.items.map((s) => `${s.namespace}/${s.name}`), ['team/C']);
      assert.equal(p2.nextCursor, null);
      assert.equal((await store.secrets.listSecrets('*', 10)).items.length, 4);
      assert.deepEqual((await store.secrets.listSecrets([], 10)).items, []);

      const gone = await store.secrets.deleteSecret('default', 'A', (s) => audit('secret.delete', s.id, { detail: { name: s.name, version: s.version } }));
      assert.equal(gone.name, 'A');
      assert.equal(await store.secrets.getSecret('default', 'A'), null);
      await assert.rejects(store.secrets.deleteSecret('default', 'A', (s) => audit('secret.delete', s.id)), (e: unknown) => (e as { code?: string }).code === 'secret_not_found');
      assert.equal((await store.listAudit({ namespaces: '*', action: 'secret.delete', limit: 10 })).items.length, 1);
      // Deleted then set again: a new secret, version 1.
      assert.equal((await store.secrets.putSecret(write('A'), auditFor)).version, 1);
    });

    it('lists rows under other KEKs by id and rewraps only rows still as read', async () => {
      const a = await store.secrets.putSecret(write('A', { kekId: 'old' }), auditFor);
      const b = await store.secrets.putSecret(write('B', { kekId: 'old' }), auditFor);
      await store.secrets.putSecret(write('C', { kekId: 'new' }), auditFor);
      const todo = await store.secrets.listSecretsNotUnder('new', '', 10);
      assert.deepEqual(todo.map((s) => s.name).sort(), ['A', 'B']);
      const firstId = todo[0]!.id;
      assert.deepEqual((await store.secrets.listSecretsNotUnder('new', firstId, 10)).map((s) => s.id), [todo[1]!.id]);
      // B gets a new value (under the new KEK) between the read and the rewrap: B's rewrap is skipped.
      await store.secrets.putSecret(write('B', { kekId: 'new', ciphertext: 'ct-B2', wrappedKey: 'wk-B2' }), auditFor);
      const n = await store.secrets.rewrapSecrets([
        { id: a.id, fromKekId: 'old', ciphertext: a.ciphertext, kekId: 'new', wrappedKey: 'wk-A-new' },
        { id: b.id, fromKekId: 'old', ciphertext: b.ciphertext, kekId: 'new', wrappedKey: 'wk-B-stale' },
      ]);
      assert.equal(n, 1);
      const a2 = await store.secrets.getSecret('default', 'A');
      assert.deepEqual([a2!.kekId, a2!.wrappedKey, a2!.ciphertext, a2!.version], ['new', 'wk-A-new', a.ciphertext, 1]);
      assert.equal((await store.secrets.getSecret('default', 'B'))!.wrappedKey, 'wk-B2');
      assert.deepEqual(await store.secrets.listSecretsNotUnder('new', '', 10), []);
    });
  });
}
