// The audit hash chain on PostgreSQL (../audit-chain.ts says what it is). Several nodes append at
// once, so appends are serialised on the one row of `audit_head`: a single statement locks it
// (UPDATE), computes the new row's hash in SQL from the old head, moves the head and inserts the
// row. The lock is held from that statement to COMMIT, and every write makes its audit insert its
// last statement but for the run counts (the lock order in statements.ts says why), so that is
// about all it covers (measured in docs/security.md, "Audit"). A waiting append re-reads the head the first one committed (READ
// COMMITTED re-evaluates the UPDATE on the new row version), so seq stays gapless and each row
// links to the one committed before it. A write that rolls back takes its head move with it.
import type pg from 'pg';
import type { Millis } from '../../core/types.js';
import { GENESIS_HASH, pgAuditHashSql, type AuditChainRow, type AuditCheckpoint } from '../audit-chain.js';
import type { AuditChainStore, AuditHead } from '../audit-store.js';
import { rowToChainRow, rowToCheckpoint, type AuditRow, type CheckpointRow } from '../rows.js';

/** The hash of the row being appended, over the values `v` and the head `audit_head` (old values, as SET sees them). */
const APPEND_HASH = pgAuditHashSql({
  seq: 'audit_head.seq + 1',
  prevHash: 'audit_head.hash',
  id: 'v.id',
  namespace: 'v.namespace',
  at: 'v.at',
  actor: 'v.actor',
  ip: 'v.ip',
  action: 'v.action',
  targetType: 'v.target_type',
  targetId: 'v.target_id',
  detail: 'v.detail',
});

/**
 * The chained audit insert (statements.ts `insertAudit`). It takes the values of the plain INSERT
 * it replaced (newAuditValues), so every write that records a row, and code added later through
 * the same path, chains it: `await S.insertAudit.run(c, newAuditValues(a))`.
 */
export const AUDIT_APPEND_SQL =
  'WITH v AS (SELECT $1::text AS id, $2::text AS namespace, $3::bigint AS at, $4::text AS actor, $5::text AS ip, ' +
  '$6::text AS action, $7::text AS target_type, $8::text AS target_id, $9::text AS detail), ' +
  `h AS (UPDATE audit_head SET seq = audit_head.seq + 1, prev_hash = audit_head.hash, hash = ${APPEND_HASH} ` +
  'FROM v WHERE audit_head.id = 1 RETURNING audit_head.seq, audit_head.prev_hash, audit_head.hash) ' +
  'INSERT INTO audit (id, namespace, at, actor, ip, action, target_type, target_id, detail, seq, prev_hash, hash) ' +
  'SELECT v.id, v.namespace, v.at, v.actor, v.ip, v.action, v.target_type, v.target_id, v.detail, h.seq, h.prev_hash, h.hash FROM v, h';

/**
 * Migration V6: the chain's columns and tables, and the rows written before it chained in
 * (at, id) order by a loop in the database (the same hash expression as appends).
 */
export const PG_AUDIT_CHAIN_MIGRATION = `
ALTER TABLE audit ADD COLUMN seq BIGINT, ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;
CREATE TABLE audit_head (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  seq       BIGINT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
  kind      TEXT NOT NULL CHECK (kind = 'prune' OR kind = 'head'),
  seq       BIGINT NOT NULL,
  hash      TEXT NOT NULL,
  at        BIGINT NOT NULL,
  node      TEXT NOT NULL,
  key_id    TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (kind, seq)
);
DO $chain$
DECLARE
  r record;
  n bigint := 0;
  prev text := '${GENESIS_HASH}';
  h text;
BEGIN
  FOR r IN SELECT id, namespace, at, actor, ip, action, target_type, target_id, detail FROM audit ORDER BY at, id LOOP
    n := n + 1;
    h := ${pgAuditHashSql({
      seq: 'n',
      prevHash: 'prev',
      id: 'r.id',
      namespace: 'r.namespace',
      at: 'r.at',
      actor: 'r.actor',
      ip: 'r.ip',
      action: 'r.action',
      targetType: 'r.target_type',
      targetId: 'r.target_id',
      detail: 'r.detail',
    })};
    UPDATE audit SET seq = n, prev_hash = prev, hash = h WHERE id = r.id;
    prev := h;
  END LOOP;
  INSERT INTO audit_head (id, seq, prev_hash, hash) VALUES (1, n, '${GENESIS_HASH}', prev);
END
$chain$;
ALTER TABLE audit ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL;
CREATE UNIQUE INDEX audit_seq ON audit (seq);
`;

/** Advisory lock key of audit pruning (one node prunes at a time); apart from the other keys. */
const PRUNE_LOCK_KEY = 0x53_75_6e_41_75_64; // "SunAud"

const ADD_CHECKPOINT =
  'INSERT INTO audit_checkpoints (kind, seq, hash, at, node, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, seq) DO NOTHING';
const checkpointValues = (cp: AuditCheckpoint) => [cp.kind, cp.seq, cp.hash, cp.at, cp.node, cp.keyId, cp.signature];

type Tx = <T>(fn: (c: pg.ClientBase) => Promise<T>) => Promise<T>;
type Read = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<R[]>;

/** The AuditChainStore on the PostgreSQL store's pool. */
export class PgAuditChain implements AuditChainStore {
  constructor(
    private readonly tx: Tx,
    private readonly read: Read,
  ) {}

  async rows(afterSeq: number, limit: number): Promise<AuditChainRow[]> {
    return (await this.read<AuditRow>('SELECT * FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])).map(rowToChainRow);
  }

  async head(): Promise<AuditHead> {
    const [row] = await this.read<AuditHead>('SELECT seq, hash FROM audit_head WHERE id = 1', []);
    return row ?? { seq: 0, hash: GENESIS_HASH };
  }

  async unchained(): Promise<{ id: string } | null> {
    const [row] = await this.read<{ id: string }>('SELECT id FROM audit WHERE seq IS NULL LIMIT 1', []);
    return row ?? null;
  }

  async checkpoints(): Promise<AuditCheckpoint[]> {
    return (await this.read<CheckpointRow>('SELECT * FROM audit_checkpoints ORDER BY seq, kind DESC', [])).map(rowToCheckpoint);
  }

  async addCheckpoint(cp: AuditCheckpoint): Promise<void> {
    await this.tx((c) => c.query(ADD_CHECKPOINT, checkpointValues(cp)));
  }

  prune(before: Millis, limit: number, sign: (last: AuditHead) => AuditCheckpoint): Promise<number> {
    return this.tx(async (c) => {
      // One pruner at a time: two would sign and delete the same prefix.
      await c.query('SELECT pg_advisory_xact_lock($1)', [PRUNE_LOCK_KEY]);
      const { rows } = await c.query<{ seq: number; at: number; hash: string }>('SELECT seq, at, hash FROM audit ORDER BY seq LIMIT $1', [
        Math.max(0, Math.floor(limit)),
      ]);
      let last: { seq: number; hash: string } | null = null;
      for (const r of rows) {
        if (r.at >= before) break;
        last = r;
      }
      if (last === null) return 0;
      const cp = sign({ seq: last.seq, hash: last.hash });
      await c.query(ADD_CHECKPOINT, checkpointValues(cp));
      await c.query("DELETE FROM audit_checkpoints WHERE (kind = 'prune' AND seq < $1) OR (kind = 'head' AND seq <= $1)", [cp.seq]);
      return (await c.query('DELETE FROM audit WHERE seq <= $1', [last.seq])).rowCount ?? 0;
    });
  }
}
