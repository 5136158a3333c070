// `sundial audit verify` as a user runs it, against a stub API: the OK summary and exit 0, a
// break named on stderr with exit 4 (and the JSON still printed with --json), --expect sent as
// the query, and a malformed --expect refused before any request (exit 2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, startStub, type Routes } from './cli-harness.js';

const HASH = 'ab'.repeat(32);
const OK = {
  ok: true,
  count: 12,
  from: { seq: 0, hash: '0'.repeat(64), checkpoint: false },
  head: { seq: 12, hash: HASH },
  signedHeads: 2,
  lastSignedHead: { seq: 10, at: '2026-12-08T01:00:00.000Z' },
  keyConfigured: true,
  broken: null,
  warnings: [],
};
const BROKEN = {
  ...OK,
  ok: false,
  count: 6,
  from: { seq: 40, hash: HASH, checkpoint: true },
  head: { seq: 46, hash: HASH },
  broken: { seq: 47, id: 'r47', reason: 'changed', message: 'row 47 (id r47) does not match its hash: it was changed' },
  warnings: ['no signed head covers these rows yet'],
};

async function withStub(routes: Routes, args: string[]) {
  const stub = await startStub(routes);
  try {
    return { ...(await runCli(['--url', stub.url, '--token', 'sk_test', ...args])), requests: stub.requests };
  } finally {
    await stub.close();
  }
}

describe('sundial audit verify', { concurrency: 4 }, () => {
  it('prints the count, the head and the signed heads, and exits 0', async () => {
    const r = await withStub({ 'GET /v1/audit/verify': { json: OK } }, ['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `OK: 12 audit rows verified from the start\nhead: seq 12 hash ${HASH}\nsigned heads: 2 matched, the last at seq 10 (2026-12-08T01:00:00.000Z)\n`,
    );
    assert.equal(r.requests[0]!.query.toString(), '');
  });

  it('names the break on stderr and exits 4; --json still prints the document', async () => {
    const r = await withStub({ 'GET /v1/audit/verify': { json: BROKEN } }, ['audit', 'verify']);
    assert.equal(r.code, 4);
    assert.match(r.stdout, /^BROKEN after 6 good rows from the signed checkpoint at seq 40$/m);
    assert.match(r.stdout, /^warning: no signed head covers these rows yet$/m);
    assert.equal(r.stderr, 'error: the audit chain is broken at row 47 (changed): row 47 (id r47) does not match its hash: it was changed\n');
    const j = await withStub({ 'GET /v1/audit/verify': { json: BROKEN } }, ['--json', 'audit', 'verify']);
    assert.equal(j.code, 4);
    assert.deepEqual(JSON.parse(j.stdout), BROKEN);
  });

  it('sends --expect as seq and hash, and refuses a malformed one without asking', async () => {
    const r = await withStub({ 'GET /v1/audit/verify': { json: OK } }, ['audit', 'verify', '--expect', `12:${HASH}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.requests[0]!.query.get('seq'), '12');
    assert.equal(r.requests[0]!.query.get('hash'), HASH);
    const bad = await withStub({ 'GET /v1/audit/verify': { json: OK } }, ['audit', 'verify', '--expect', '12:nothex']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--expect must be <seq>:<hash>/);
    assert.equal(bad.requests.length, 0);
  });
});
