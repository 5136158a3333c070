// The audit log's hash chain (issue 12): every audit row carries `seq` (its gapless place in the
// chain), `prev_hash` (the hash of the row before it, or of the checkpoint the chain was pruned
// to) and `hash`, the SHA-256 of a canonical encoding of all of it. Changing, deleting, inserting
// or reordering a row breaks the chain at that row (services/audit-verify.ts walks it).
//
// The encoding is written twice, here in TypeScript (SQLite computes hashes in JS; verification
// always does) and in SQL for PostgreSQL (pgAuditHashSql), where the hash is computed inside the
// one statement that takes the chain's head lock, so the lock is held for that statement and the
// COMMIT only. Both must produce the same bytes: test/store/audit-chain-*.test.ts verify rows each
// store wrote with this module. It is versioned and must never change once rows exist: a new
// encoding would be a new version tag, with the old one kept for old rows.
//
// Encoding v1: the tag `sundial-audit-v1`, then each field in this order: seq, prev_hash, id,
// namespace, at, actor, ip, action, target_type, target_id, detail. A field is `-` when NULL,
// otherwise `<length in UTF-8 bytes>:<text>` (numbers as decimal text). The length prefix makes
// the concatenation unambiguous without escaping anything.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditEntry, Millis } from '../core/types.js';

/** prev_hash of the first row of a chain that was never pruned. */
export const GENESIS_HASH = '0'.repeat(64);

const TAG = 'sundial-audit-v1';

/** One audit row as stored, chain columns included (detail as its stored JSON text). */
export interface AuditChainRow extends Omit<AuditEntry, 'detail' | 'seq' | 'hash'> {
  seq: number;
  prevHash: string;
  hash: string;
  detail: string | null;
}

/** The fields the hash covers: the row without its own hash. */
export type AuditHashInput = Omit<AuditChainRow, 'hash'>;

const field = (v: string | number | null): string => {
  if (v === null) return '-';
  const text = typeof v === 'number' ? String(v) : v;
  return `${Buffer.byteLength(text, 'utf8')}:${text}`;
};

/** The canonical text of a row (what is hashed), for tests and for people reading them. */
export function auditHashText(r: AuditHashInput): string {
  return (
    TAG +
    field(r.seq) +
    field(r.prevHash) +
    field(r.id) +
    field(r.namespace) +
    field(r.at) +
    field(r.actor) +
    field(r.ip) +
    field(r.action) +
    field(r.targetType) +
    field(r.targetId) +
    field(r.detail)
  );
}

/** The row's hash: SHA-256 of its canonical text, lower-case hex. */
export function auditRowHash(r: AuditHashInput): string {
  return createHash('sha256').update(auditHashText(r), 'utf8').digest('hex');
}

/**
 * The same hash as a PostgreSQL expression (PG 11+ `sha256()`, no pgcrypto), over SQL
 * expressions for each field: `seq` and `at` bigint, the rest text.
 */
export function pgAuditHashSql(f: Record<'seq' | 'prevHash' | 'id' | 'namespace' | 'at' | 'actor' | 'ip' | 'action' | 'targetType' | 'targetId' | 'detail', string>): string {
  const part = (e: string) => `coalesce(octet_length(${e})::text || ':' || ${e}, '-')`;
  const fields = [f.seq, f.prevHash, f.id, f.namespace, f.at, f.actor, f.ip, f.action, f.targetType, f.targetId, f.detail];
  const parts = fields.map((e) => part(`(${e})::text`));
  return `encode(sha256(convert_to('${TAG}' || ${parts.join(' || ')}, 'UTF8')), 'hex')`;
}

// ---- checkpoints ----

/**
 * What a checkpoint vouches for: the chain up to `seq` ends in `hash`. `prune`: rows up to `seq`
 * were deleted on purpose (retention) and the chain goes on from here; `head`: the head at `at`,
 * signed so that a later rewrite of the rows up to it is detected by anyone holding the key.
 */
export interface AuditCheckpoint {
  kind: 'prune' | 'head';
  seq: number;
  hash: string;
  at: Millis;
  /** The node that wrote it. */
  node: string;
  /** Which key signed it: the first 16 hex digits of SHA-256(key), so a rotated key is told apart from a forgery. */
  keyId: string;
  /** HMAC-SHA256 of checkpointText under the key, hex. */
  signature: string;
}

/** The signed text of a checkpoint. */
export function checkpointText(c: Pick<AuditCheckpoint, 'kind' | 'seq' | 'hash' | 'at' | 'node'>): string {
  return `sundial-audit-checkpoint-v1|${c.kind}|${c.seq}|${c.hash}|${c.at}|${c.node}`;
}

/** The id of a key (never the key): lets verify say "signed with another key". */
export function auditKeyId(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 16);
}

/** Signs a checkpoint under `key`. */
export function signCheckpoint(c: Omit<AuditCheckpoint, 'keyId' | 'signature'>, key: string): AuditCheckpoint {
  const signature = createHmac('sha256', key).update(checkpointText(c), 'utf8').digest('hex');
  return { ...c, keyId: auditKeyId(key), signature };
}

/** Whether `c` carries a valid signature under `key` (constant-time comparison). */
export function checkpointSigned(c: AuditCheckpoint, key: string): boolean {
  const want = Buffer.from(createHmac('sha256', key).update(checkpointText(c), 'utf8').digest('hex'), 'utf8');
  const got = Buffer.from(c.signature, 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}
