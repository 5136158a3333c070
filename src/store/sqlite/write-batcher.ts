// Group commit for SQLite. With synchronous=FULL every COMMIT is an fsync (a few ms on most disks),
// so one transaction per write would cap the API at a few hundred writes/s. Instead, every write
// of one event-loop turn shares one transaction and one fsync; each write still runs inside its
// own SAVEPOINT, so a failing write (a unique violation) rolls back and rejects only itself.
// Promises resolve only after COMMIT returned, which is what makes a 2xx durable.
import type Database from 'better-sqlite3';

interface PendingOp {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Counters for tests and metrics. */
export interface BatcherStats {
  /** Transactions committed (or attempted). */
  batches: number;
  /** Operations run. */
  ops: number;
  /** Largest batch so far. */
  maxBatch: number;
}

/** Thrown for writes after `close()`. */
export class StoreClosedError extends Error {
  readonly code = 'ERR_STORE_CLOSED';
  constructor() {
    super('the SQLite store is closed');
    this.name = 'StoreClosedError';
  }
}

/** Queues write operations and commits each event-loop turn's batch in one transaction. */
export class WriteBatcher {
  readonly stats: BatcherStats = { batches: 0, ops: 0, maxBatch: 0 };
  #queue: PendingOp[] = [];
  #scheduled = false;
  #flushing = false;
  #closed = false;
  readonly #db: Database.Database;
  readonly #maxBatch: number;
  readonly #runBatch: (ops: PendingOp[], outcomes: Outcome[]) => void;
  readonly #savepoint: (fn: () => unknown) => unknown;
  readonly #onImmediate = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(db: Database.Database, opts: { maxBatch?: number } = {}) {
    this.#db = db;
    // Past this many queued ops, flush at once: latency stays bounded and memory too.
    this.#maxBatch = opts.maxBatch ?? 2000;
    this.#savepoint = db.transaction((fn: () => unknown) => fn());
    this.#runBatch = db.transaction((ops: PendingOp[], outcomes: Outcome[]) => {
      // A lone op needs no savepoint: if it fails the whole transaction rolls back anyway.
      if (ops.length === 1) {
        outcomes.push({ ok: true, value: ops[0]!.fn() });
        return;
      }
      for (const op of ops) {
        try {
          outcomes.push({ ok: true, value: this.#savepoint(op.fn) });
        } catch (err) {
          // SQLITE_FULL, IOERR and friends roll back the whole transaction, not just the
          // savepoint; going on would run later ops in autocommit mode. Fail the batch instead.
          if (!this.#db.inTransaction) throw err;
          outcomes.push({ ok: false, error: err });
        }
      }
    });
  }

  /** Queues `fn` for the next group transaction; resolves with its result after COMMIT. */
  run<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError());
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.#queue.length >= this.#maxBatch && !this.#flushing) this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#onImmediate);
      }
    });
  }

  /** Commits everything queued now, in one transaction. */
  flush(): void {
    if (this.#flushing) return;
    while (this.#queue.length > 0) {
      const ops = this.#queue;
      this.#queue = [];
      const outcomes: Outcome[] = [];
      this.#flushing = true;
      this.stats.batches++;
      this.stats.ops += ops.length;
      if (ops.length > this.stats.maxBatch) this.stats.maxBatch = ops.length;
      try {
        this.#runBatch(ops, outcomes);
      } catch (err) {
        // Nothing of this batch is committed: every op fails with the transaction's error.
        for (const op of ops) op.reject(err);
        continue;
      } finally {
        this.#flushing = false;
      }
      for (let i = 0; i < ops.length; i++) {
        const o = outcomes[i]!;
        if (o.ok) ops[i]!.resolve(o.value);
        else ops[i]!.reject(o.error);
      }
    }
  }

  /** Commits what is queued and refuses later writes. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
