// The audit hash chain on SQLite (../audit-chain.ts says what it is). The single writer makes
// appending simple: inside the write's transaction, read the head (one primary-key row), hash the
// new row in JS, insert it and move the head. The head is read every time, never cached: a write
// that rolls back (its savepoint, see write-batcher.ts) takes its head move with it.
import type Database from 'better-sqlite3';
import type { Millis } from '../../core/types.js';
import { GENESIS_HASH, auditRowHash, type AuditChainRow, type AuditCheckpoint, type AuditHashInput } from '../audit-chain.js';
import type { AuditChainStore, AuditHead } from '../audit-store.js';
import { rowToChainRow, rowToCheckpoint, type AuditRow, type CheckpointRow } from '../rows.js';
import { StorePart } from './store-part.js';


/**
 * The chained audit insert. Its call shape is the plain prepared INSERT's it replaced, so every
 * write that records a row (and code added later through the same path) chains it:
 * `insertAudit.run(newAuditValues(a))` or `insertAudit.run(...newAuditValues(a))`.
 */
export interface AuditAppend {
  run(...params: unknown[]): void;
}

/** Prepares the chained insert on `db` (the schema must have the chain: migration V10). */
export function prepareAuditAppend(db: Database.Database): AuditAppend {
  const head = db.prepare<[], AuditHead>('SELECT seq, hash FROM audit_head WHERE id = 1');
  const insert = db.prepare(
    'INSERT INTO audit (id, namespace, at, actor, ip, action, target_type, target_id, detail, seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const setHead = db.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1');
  return {
    run(...params: unknown[]): void {
      const v = params.length === 1 && Array.isArray(params[0]) ? (params[0] as unknown[]) : params;
      if (v.length !== 9) throw new Error(`an audit insert takes 9 values (newAuditValues), not ${v.length}`);
      const h = head.get();
      // The migration creates the row; without it the row would silently start a second chain.
      if (h === undefined) throw new Error('the audit chain has no head row (audit_head)');
      const seq = h.seq + 1;
      const hash = auditRowHash(valuesToHashInput(v, seq, h.hash));
      insert.run(...v, seq, h.hash, hash);
      setHead.run(seq, hash);
    },
  };
}

/** The row that `values` (newAuditValues order) make at `seq` after `prevHash`. */
function valuesToHashInput(v: readonly unknown[], seq: number, prevHash: string): AuditHashInput {
  const text = (x: unknown) => (x === null || x === undefined ? null : String(x));
  return {
    seq,
    prevHash,
    id: String(v[0]),
    namespace: String(v[1]),
    at: Number(v[2]),
    actor: String(v[3]),
    ip: text(v[4]),
    action: String(v[5]),
    targetType: String(v[6]),
    targetId: String(v[7]),
    detail: text(v[8]),
  };
}

/**
 * Migration V10's second half, in the migration's transaction: numbers the rows written before
 * the chain existed in the order they were listed (time, then id), links and hashes them, and
 * sets the head. Pages through the table rather than loading it whole.
 */
export function chainExistingAuditRows(db: Database.Database): void {
  type Row = AuditRow & { rid: number };
  const first = db.prepare<[number], Row>('SELECT rowid AS rid, * FROM audit ORDER BY at, id LIMIT ?');
  const next = db.prepare<[number, string, number], Row>('SELECT rowid AS rid, * FROM audit WHERE (at, id) > (?, ?) ORDER BY at, id LIMIT ?');
  const set = db.prepare('UPDATE audit SET seq = ?, prev_hash = ?, hash = ? WHERE rowid = ?');
  let seq = 0;
  let prev = GENESIS_HASH;
  for (let rows = first.all(PAGE); rows.length > 0; ) {
    for (const r of rows) {
      seq++;
      const hash = auditRowHash(rowToChainRow({ ...r, seq, prev_hash: prev, hash: '' }));
      set.run(seq, prev, hash, r.rid);
      prev = hash;
    }
    const last = rows[rows.length - 1]!;
    rows = next.all(last.at, last.id, PAGE);
  }
  db.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)').run(seq, prev);
}

const PAGE = 1000;

function prepare(db: Database.Database) {
  return {
    rows: db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?'),
    head: db.prepare<[], AuditHead>('SELECT seq, hash FROM audit_head WHERE id = 1'),
    unchained: db.prepare<[], { id: string }>('SELECT id FROM audit WHERE seq IS NULL LIMIT 1'),
    checkpoints: db.prepare<[], CheckpointRow>('SELECT * FROM audit_checkpoints ORDER BY seq, kind DESC'),
    addCheckpoint: db.prepare(
      'INSERT INTO audit_checkpoints (kind, seq, hash, at, node, key_id, signature) VALUES (@kind, @seq, @hash, @at, @node, @keyId, @signature) ' +
        'ON CONFLICT (kind, seq) DO NOTHING',
    ),
    oldest: db.prepare<[number], { seq: number; at: number; hash: string }>('SELECT seq, at, hash FROM audit ORDER BY seq LIMIT ?'),
    dropCheckpoints: db.prepare("DELETE FROM audit_checkpoints WHERE (kind = 'prune' AND seq < ?) OR (kind = 'head' AND seq <= ?)"),
    deleteRows: db.prepare('DELETE FROM audit WHERE seq <= ?'),
  };
}

/** The AuditChainStore on the SQLite store's database and writer. */
export class SqliteAuditChain extends StorePart<ReturnType<typeof prepare>> implements AuditChainStore {
  protected prepare(db: Database.Database): ReturnType<typeof prepare> {
    return prepare(db);
  }

  async rows(afterSeq: number, limit: number): Promise<AuditChainRow[]> {
    return this.s.rows.all(afterSeq, limit).map(rowToChainRow);
  }

  async head(): Promise<AuditHead> {
    return this.s.head.get() ?? { seq: 0, hash: GENESIS_HASH };
  }

  async unchained(): Promise<{ id: string } | null> {
    return this.s.unchained.get() ?? null;
  }

  async checkpoints(): Promise<AuditCheckpoint[]> {
    return this.s.checkpoints.all().map(rowToCheckpoint);
  }

  addCheckpoint(cp: AuditCheckpoint): Promise<void> {
    return this.write(() => {
      this.s.addCheckpoint.run(cp);
    });
  }

  prune(before: Millis, limit: number, sign: (last: AuditHead) => AuditCheckpoint): Promise<number> {
    return this.write(() => {
      const s = this.s;
      let last: { seq: number; hash: string } | null = null;
      for (const r of s.oldest.all(Math.max(0, Math.floor(limit)))) {
        if (r.at >= before) break;
        last = r;
      }
      if (last === null) return 0;
      const cp = sign({ seq: last.seq, hash: last.hash });
      s.addCheckpoint.run(cp);
      s.dropCheckpoints.run(cp.seq, cp.seq);
      return s.deleteRows.run(last.seq).changes;
    });
  }
}
