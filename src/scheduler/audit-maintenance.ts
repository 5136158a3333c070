// Keeps the audit hash chain verifiable over time, on the nodes that prune history:
// - signs the chain's head (an HMAC checkpoint: seq, hash, time, node) at start and every
//   `signIntervalMs`, so that rewriting the rows up to a signed head, even with every hash and link
//   recomputed, is detected by anyone who verifies with the key;
// - prunes rows older than `retentionMs`, a prefix of the chain at a time: each batch first stores
//   a signed checkpoint of its last row, in the same transaction, so verification starts there.
// Without a key it does neither (the configuration refuses retention without one). Failures are
// published as `scheduler:error` (where `audit`) and the next round tries again.
import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { signCheckpoint } from '../store/audit-chain.js';
import type { AuditChainStore } from '../store/audit-store.js';

export interface AuditMaintenanceOptions {
  /** HMAC key of checkpoints; null: nothing is signed or pruned. */
  key: string | null;
  /** This node's id, recorded in the checkpoints it signs. */
  node: string;
  /** Rows older than this are pruned; 0 keeps them. */
  retentionMs: number;
  /** Time between rounds; 0: one round at start only. */
  signIntervalMs: number;
  /** Rows pruned per transaction (default 1,000). */
  batch?: number;
  /** Most batches per round (default 100), so a first prune of a long log is spread over rounds. */
  maxBatches?: number;
}

export interface AuditMaintenanceDeps {
  chain: AuditChainStore;
  clock: Clock;
  bus: EventBus;
}

/** What one round did. */
export interface AuditRound {
  pruned: number;
  /** The seq of the head it signed (null: none, nothing new or no key). */
  signed: number | null;
}

/** Signs the head and prunes old audit rows in the background (see the file head). */
export class AuditMaintenance {
  readonly #o: Required<AuditMaintenanceOptions>;
  readonly #d: AuditMaintenanceDeps;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<AuditRound> | null = null;
  #lastSigned = -1;
  #stopped = false;

  constructor(opts: AuditMaintenanceOptions, deps: AuditMaintenanceDeps) {
    this.#o = { batch: 1000, maxBatches: 100, ...opts };
    this.#d = deps;
  }

  /** Runs a round now (the start's signature) and then every signIntervalMs. */
  start(): Promise<AuditRound> {
    this.#stopped = false;
    const first = this.runOnce();
    void first.then(() => this.#schedule());
    return first;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#inFlight !== null) await this.#inFlight;
  }

  /** One round: prune what is due, then sign the head. Never rejects (errors go to the bus). */
  runOnce(): Promise<AuditRound> {
    this.#inFlight ??= this.#round().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #round(): Promise<AuditRound> {
    const out: AuditRound = { pruned: 0, signed: null };
    const { key, node, retentionMs, batch, maxBatches } = this.#o;
    if (key === null) return out;
    const { chain, clock, bus } = this.#d;
    try {
      if (retentionMs > 0) {
        for (let i = 0; i < maxBatches && !this.#stopped; i++) {
          const now = clock.now();
          const n = await chain.prune(now - retentionMs, batch, (last) => signCheckpoint({ kind: 'prune', seq: last.seq, hash: last.hash, at: now, node }, key));
          out.pruned += n;
          if (n < batch) break;
        }
      }
      const head = await chain.head();
      if (head.seq > 0 && head.seq !== this.#lastSigned) {
        await chain.addCheckpoint(signCheckpoint({ kind: 'head', seq: head.seq, hash: head.hash, at: clock.now(), node }, key));
        this.#lastSigned = head.seq;
        out.signed = head.seq;
      }
    } catch (err) {
      bus.emit('scheduler:error', { where: 'audit', error: coerceError(err) });
    }
    return out;
  }

  #schedule(): void {
    if (this.#stopped || this.#o.signIntervalMs <= 0 || this.#o.key === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.runOnce().then(() => this.#schedule());
    }, this.#o.signIntervalMs);
    // Signing alone must not keep the process alive.
    this.#timer.unref();
  }
}
