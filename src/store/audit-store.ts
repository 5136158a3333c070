// The part of the Store contract that reads the audit log's hash chain and keeps its checkpoints
// (audit-chain.ts says what the chain is). Appending is not here: every audit row is appended by
// the store's own writes (the `audit` argument of a change, or Store.appendAudit), in the same
// transaction as the change, and each store chains it as it inserts it.
import type { Millis } from '../core/types.js';
import type { AuditChainRow, AuditCheckpoint } from './audit-chain.js';

/** The last row of the chain as the store's head says (seq 0 and the genesis hash when empty). */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditChainStore {
  /** Rows with `seq > afterSeq`, in seq order, at most `limit` (a page of a walk). */
  rows(afterSeq: number, limit: number): Promise<AuditChainRow[]>;
  /** The chain's head: the seq and hash the next row links to. */
  head(): Promise<AuditHead>;
  /** The first audit row outside the chain (no seq: written around the chained insert), if any. */
  unchained(): Promise<{ id: string } | null>;
  /** Every stored checkpoint, by seq (prune ones before head ones at the same seq). */
  checkpoints(): Promise<AuditCheckpoint[]>;
  /** Stores a signed checkpoint of the head; a second one of the same kind and seq is ignored. */
  addCheckpoint(cp: AuditCheckpoint): Promise<void>;
  /**
   * Deletes the oldest rows, a prefix of the chain: those before the first row with `at >= before`,
   * at most `limit`. In the same transaction it first stores the checkpoint that `sign` makes of
   * the last deleted row (verification starts there), and drops the checkpoints that point into
   * the deleted rows. Returns how many rows it deleted (0: nothing was written).
   */
  prune(before: Millis, limit: number, sign: (last: AuditHead) => AuditCheckpoint): Promise<number>;
}
