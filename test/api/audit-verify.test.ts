// GET /v1/audit/verify: admins only; walks the chain that the API's own writes built and answers
// OK with the count and head, or names the break (here a forged checkpoint, the one kind of
// tampering the API itself can be given; rows tampered with in the database are covered by
// test/store/audit-chain-*.test.ts and end to end by test/e2e/audit-verify.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signCheckpoint } from '../../src/store/audit-chain.js';
import { httpTask, startApi, type ApiHarness } from '../helpers/api-harness.js';

const KEY = 'api-test-audit-key-0123456789-abcdefghijk';

let h: ApiHarness;
before(async () => {
  h = await startApi({ auditKey: KEY });
});
after(async () => {
  await h.close();
});

interface Verification {
  ok: boolean;
  count: number;
  head: { seq: number; hash: string };
  from: { seq: number; checkpoint: boolean };
  signedHeads: number;
  lastSignedHead: { seq: number; at: string } | null;
  keyConfigured: boolean;
  broken: { seq: number; reason: string; message: string; id: string | null } | null;
  warnings: string[];
}

async function verify(): Promise<Verification> {
  const res = await h.call({ method: 'GET', url: '/v1/audit/verify' });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Verification;
}

describe('GET /v1/audit/verify', () => {
  test('is for admins only', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const res = await h.call({ method: 'GET', url: '/v1/audit/verify', token: await h.key(role, ['*']) });
      assert.equal(res.statusCode, 403, role);
    }
    assert.equal((await h.call({ method: 'GET', url: '/v1/audit/verify', token: null })).statusCode, 401);
  });

  test('says OK with the count and the head hash of the rows the API wrote', async () => {
    for (const name of ['a', 'b', 'c']) assert.equal((await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask(`verify-${name}`) })).statusCode, 201);
    const listed = (await h.call({ method: 'GET', url: '/v1/audit?limit=1' })).json() as { items: { seq: number; hash: string }[] };
    const v = await verify();
    assert.equal(v.ok, true, JSON.stringify(v.broken));
    assert.equal(v.broken, null);
    assert.equal(v.keyConfigured, true);
    // Every row so far: the bootstrap key, the role keys minted above, the three tasks.
    assert.equal(v.count, listed.items[0]!.seq);
    assert.deepEqual(v.head, { seq: listed.items[0]!.seq, hash: listed.items[0]!.hash });
    assert.match(v.head.hash, /^[0-9a-f]{64}$/);
  });

  test('checks a head written down earlier (seq and hash, together)', async () => {
    const head = await h.store.auditChain.head();
    const same = await h.call({ method: 'GET', url: `/v1/audit/verify?seq=${head.seq}&hash=${head.hash}` });
    assert.equal((same.json() as Verification).ok, true);
    const other = (await h.call({ method: 'GET', url: `/v1/audit/verify?seq=${head.seq}&hash=${'0'.repeat(64)}` })).json() as Verification;
    assert.deepEqual([other.ok, other.broken?.seq, other.broken?.reason], [false, head.seq, 'expected_mismatch']);
    const beyond = (await h.call({ method: 'GET', url: `/v1/audit/verify?seq=${head.seq + 5}&hash=${head.hash}` })).json() as Verification;
    assert.deepEqual([beyond.broken?.seq, beyond.broken?.reason], [head.seq + 1, 'missing']);
    for (const query of [`seq=${head.seq}`, `hash=${head.hash}`, `seq=0&hash=${head.hash}`, `seq=1&hash=XYZ`]) {
      const res = await h.call({ method: 'GET', url: `/v1/audit/verify?${query}` });
      assert.equal(res.statusCode, 400, query);
      assert.equal((res.json() as { type: string }).type.endsWith('validation_failed'), true);
    }
  });

  test('counts signed heads, and names a forged checkpoint', async () => {
    const head = await h.store.auditChain.head();
    await h.store.auditChain.addCheckpoint(signCheckpoint({ kind: 'head', seq: head.seq, hash: head.hash, at: h.clock.now(), node: 'test-node' }, KEY));
    const good = await verify();
    assert.deepEqual([good.ok, good.signedHeads, good.lastSignedHead?.seq], [true, 1, head.seq]);
    assert.equal(good.lastSignedHead?.at, new Date(h.clock.now()).toISOString());
    const forged = signCheckpoint({ kind: 'head', seq: head.seq - 1, hash: 'b'.repeat(64), at: h.clock.now(), node: 'test-node' }, 'not-the-key-but-long-enough-0123456789');
    await h.store.auditChain.addCheckpoint(forged);
    const bad = await verify();
    assert.equal(bad.ok, false);
    assert.equal(bad.broken?.seq, head.seq - 1);
    assert.equal(bad.broken?.reason, 'checkpoint_forged');
    assert.equal(bad.count, head.seq - 2);
  });
});
