// Verifies the audit log's hash chain (store/audit-chain.ts): walks it in seq order, a page at a
// time, from its start (the genesis, or the signed checkpoint it was last pruned to), and names
// the first row where it breaks and why, or says it holds, with the count and the head's hash.
//
// What a break tells (each detected at the row it names):
// - `changed`: the row's content does not hash to its `hash`: a field was changed, or two rows'
//   contents were swapped.
// - `missing`: rows from this seq on are gone (deleted; at the tail, found from the head or a
//   signed head that lies beyond the last row).
// - `inserted`: this row is not part of the chain: the row after it hashes as this seq, so it was
//   slipped in and the rows after it renumbered.
// - `rewritten`: this row and its hash agree, but the next row recorded another hash for it: it
//   was rewritten by someone who recomputed its hash (the hash is not keyed; see docs/security.md).
// - `checkpoint_forged`: a checkpoint's HMAC does not verify under the key (or was made with
//   another key: then the message names both key ids).
// - `checkpoint_mismatch`: a signed head names another hash than the row at its seq has: rows up
//   to it were rewritten, hashes and links included.
// - `start_mismatch`: the first row does not continue the checkpoint (or genesis) it starts from.
// - `expected_mismatch`: the row at the seq the operator wrote down (`expect`, a head an earlier
//   verify printed) has another hash: the chain up to it was rewritten, whoever holds the key.
// - `unchained`: a row has no place in the chain at all (no seq), so no walk would meet it.
import { GENESIS_HASH, auditKeyId, auditRowHash, checkpointSigned, type AuditChainRow, type AuditCheckpoint } from '../store/audit-chain.js';
import type { AuditChainStore, AuditHead } from '../store/audit-store.js';

export type AuditBreakReason =
  | 'changed'
  | 'missing'
  | 'inserted'
  | 'rewritten'
  | 'checkpoint_forged'
  | 'checkpoint_mismatch'
  | 'start_mismatch'
  | 'expected_mismatch'
  | 'unchained';

/** Where and why the chain breaks. */
export interface AuditBreak {
  /** The seq of the first bad row (or of the first missing one). */
  seq: number;
  /** That row's id, when there is a row at that seq. */
  id: string | null;
  reason: AuditBreakReason;
  message: string;
}

/** The outcome of a verification. */
export interface AuditVerification {
  ok: boolean;
  /** Rows checked and found good (up to the break, if any). */
  count: number;
  /** Where the walk started: a signed prune checkpoint, or the genesis (seq 0). */
  from: { seq: number; hash: string; checkpoint: boolean };
  /** The last good row's seq and hash (the start's when none). */
  head: AuditHead;
  /** Signed heads (checkpoints) that matched the rows at their seq; the newest of them. */
  signedHeads: number;
  lastSignedHead: { seq: number; at: number } | null;
  /** Whether checkpoint signatures could be checked (a key is configured). */
  keyConfigured: boolean;
  broken: AuditBreak | null;
  /** What was not checked, for the operator. */
  warnings: string[];
}

export interface VerifyOptions {
  /** The HMAC key of checkpoints (null: signatures are not checked, with a warning). */
  key: string | null;
  /** Rows read per page (default 1,000). */
  pageSize?: number;
  /** A head written down earlier (seq and hash): the row at that seq must still have that hash. */
  expect?: AuditHead;
}

/** Walks the chain (see the file head). Reads `pageSize` rows at a time, never the whole log. */
export async function verifyAuditChain(chain: AuditChainStore, opts: VerifyOptions): Promise<AuditVerification> {
  const pageSize = Math.max(1, Math.floor(opts.pageSize ?? 1000));
  const key = opts.key;
  const warnings: string[] = [];
  const checkpoints = await chain.checkpoints();
  const out: AuditVerification = {
    ok: false,
    count: 0,
    from: { seq: 0, hash: GENESIS_HASH, checkpoint: false },
    head: { seq: 0, hash: GENESIS_HASH },
    signedHeads: 0,
    lastSignedHead: null,
    keyConfigured: key !== null,
    broken: null,
    warnings,
  };
  const fail = (b: AuditBreak): AuditVerification => ({ ...out, broken: b });
  const forged = (cp: AuditCheckpoint): AuditBreak | null => {
    if (key === null || checkpointSigned(cp, key)) return null;
    const mine = auditKeyId(key);
    const detail = cp.keyId === mine ? 'its signature is wrong' : `it names key ${cp.keyId}, the configured key is ${mine}`;
    return { seq: cp.seq, id: null, reason: 'checkpoint_forged', message: `the ${cp.kind} checkpoint at seq ${cp.seq} does not verify: ${detail}` };
  };
  if (key === null && checkpoints.length > 0) warnings.push('no audit key is configured: checkpoint signatures were not checked (set SUNDIAL_AUDIT_KEY)');

  const prune = lastPrune(checkpoints);
  if (prune !== null) {
    const bad = forged(prune);
    if (bad !== null) return fail(bad);
    out.from = { seq: prune.seq, hash: prune.hash, checkpoint: true };
    out.head = { seq: prune.seq, hash: prune.hash };
  }
  const expect = opts.expect;
  if (expect !== undefined && expect.seq <= out.from.seq) {
    if (expect.seq === out.from.seq && expect.hash !== out.from.hash) return fail(expectedMismatch(expect, null));
    if (expect.seq < out.from.seq) warnings.push(`seq ${expect.seq} was pruned (the chain starts after seq ${out.from.seq}): the expected hash was not checked`);
  }
  const heads = new Map<number, AuditCheckpoint>();
  for (const cp of checkpoints) if (cp.kind === 'head' && cp.seq > out.from.seq) heads.set(cp.seq, cp);
  // A row without a place in the chain would never be walked: written past the chained insert
  // (a bug) or slipped in by hand, it breaks the log as much as a changed row does.
  const outside = await chain.unchained();
  if (outside !== null) {
    return fail({ seq: 0, id: outside.id, reason: 'unchained', message: `row id ${outside.id} has no place in the chain (no seq): it was written around the chained insert` });
  }

  let expected = out.from.seq + 1;
  let prevHash = out.from.hash;
  let prev: AuditChainRow | null = null;
  for (;;) {
    const rows = await chain.rows(expected - 1, pageSize);
    if (rows.length === 0) {
      // The end, unless the head or a signed head says there were more rows.
      const head = await chain.head();
      if (head.seq >= expected) {
        // Appended meanwhile? Read on; otherwise the tail was deleted.
        if ((await chain.rows(expected - 1, 1)).length > 0) continue;
        return fail(missing(expected, head.seq, 'the chain head'));
      }
      // The head records the last row's hash too: a last row rewritten with its hash recomputed
      // has no successor to give it away, but the head does.
      if (head.seq === out.head.seq && head.hash !== out.head.hash && prev !== null) {
        return fail({
          seq: prev.seq,
          id: prev.id,
          reason: 'rewritten',
          message: `row ${prev.seq} (id ${prev.id}) is not the row the chain's head recorded: it was rewritten with its hash recomputed (or replaced)`,
        });
      }
      const beyond = [...heads.keys()].filter((s) => s >= expected);
      if (beyond.length > 0) return fail(missing(expected, Math.max(...beyond), 'a signed head'));
      if (expect !== undefined && expect.seq >= expected) return fail(missing(expected, expect.seq, 'the expected head'));
      break;
    }
    for (const r of rows) {
      if (r.seq !== expected) {
        // A prune may have run since the walk started: go on from its checkpoint if it covers the gap.
        const moved = await prunedTo(chain, r.seq - 1);
        if (moved !== null && r.prevHash === moved.hash && expected <= moved.seq) {
          const bad = forged(moved);
          if (bad !== null) return fail(bad);
        } else {
          return fail(missing(expected, r.seq - 1, `row ${r.seq}`));
        }
        prevHash = r.prevHash;
        prev = null;
      }
      if (auditRowHash(r) !== r.hash) {
        if (auditRowHash({ ...r, seq: r.seq - 1 }) === r.hash && r.seq - 1 > out.from.seq) {
          return fail({
            seq: r.seq - 1,
            id: prev?.id ?? null,
            reason: 'inserted',
            message: `row ${r.seq - 1} is not part of the chain: row ${r.seq} (id ${r.id}) was written as seq ${r.seq - 1}, so a row was inserted before it`,
          });
        }
        return fail({ seq: r.seq, id: r.id, reason: 'changed', message: `row ${r.seq} (id ${r.id}) does not match its hash: it was changed` });
      }
      if (r.prevHash !== prevHash) {
        if (prev === null) {
          return fail({
            seq: r.seq,
            id: r.id,
            reason: 'start_mismatch',
            message: `row ${r.seq} (id ${r.id}) does not link to the ${out.from.checkpoint ? `checkpoint at seq ${out.from.seq}` : 'start of the chain'}`,
          });
        }
        return fail({
          seq: prev.seq,
          id: prev.id,
          reason: 'rewritten',
          message: `row ${prev.seq} (id ${prev.id}) is not the row that row ${r.seq} linked to: it was rewritten with its hash recomputed (or replaced)`,
        });
      }
      const signed = heads.get(r.seq);
      if (signed !== undefined) {
        const bad = forged(signed);
        if (bad !== null) return fail(bad);
        if (signed.hash !== r.hash) {
          return fail({
            seq: r.seq,
            id: r.id,
            reason: 'checkpoint_mismatch',
            message: `the head signed at seq ${r.seq} names another hash than row ${r.seq} (id ${r.id}) has: rows up to it were rewritten`,
          });
        }
        out.signedHeads++;
        out.lastSignedHead = { seq: signed.seq, at: signed.at };
      }
      if (expect !== undefined && expect.seq === r.seq && expect.hash !== r.hash) return fail(expectedMismatch(expect, r));
      out.count++;
      out.head = { seq: r.seq, hash: r.hash };
      prevHash = r.hash;
      prev = r;
      expected = r.seq + 1;
    }
  }
  if (key !== null && out.lastSignedHead === null && out.count > 0) warnings.push('no signed head covers these rows yet: rows appended since the last signature can be rewritten unnoticed');
  return { ...out, ok: true };
}

/** The newest prune checkpoint (the chain starts after it). */
function lastPrune(cps: readonly AuditCheckpoint[]): AuditCheckpoint | null {
  let best: AuditCheckpoint | null = null;
  for (const cp of cps) if (cp.kind === 'prune' && (best === null || cp.seq > best.seq)) best = cp;
  return best;
}

/** The prune checkpoint at exactly `seq`, if one was written (a prune that ran during the walk). */
async function prunedTo(chain: AuditChainStore, seq: number): Promise<AuditCheckpoint | null> {
  return (await chain.checkpoints()).find((cp) => cp.kind === 'prune' && cp.seq === seq) ?? null;
}

function expectedMismatch(expect: AuditHead, r: AuditChainRow | null): AuditBreak {
  return {
    seq: expect.seq,
    id: r?.id ?? null,
    reason: 'expected_mismatch',
    message: `row ${expect.seq}${r === null ? '' : ` (id ${r.id})`} does not have the hash you expected: the chain up to it was rewritten`,
  };
}

function missing(from: number, to: number, who: string): AuditBreak {
  const rows = to > from ? `rows ${from} to ${to} are` : `row ${from} is`;
  return { seq: from, id: null, reason: 'missing', message: `${rows} missing (deleted): ${who} comes after them` };
}
