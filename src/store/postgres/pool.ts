// Connections of the PostgreSQL store: how a client is configured (the pool's and the signal
// listener's alike) and the pool itself.
import pg from 'pg';

/** The OID of int8 (BIGINT, and what count(*) returns). */
const INT8_OID = 20;

// Every time is BIGINT epoch ms and every count is int8: parsed to number (exact below 2^53, which
// epoch ms stay under for 285,000 years), not to the string `pg` returns by default. Set per
// client rather than with pg.types.setTypeParser, which would change every pg user in the process.
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Connection settings shared by the pool and the listener. */
export interface PgConnectOptions {
  /** `postgres://user@host:port/db` (anything `pg` accepts as a connection string). */
  url: string;
  /** Shown in pg_stat_activity (default `sundial`). */
  applicationName?: string;
  /** Give up a connect after this long (default 5,000 ms); the retry loop then tries again. */
  connectTimeoutMs?: number;
}

/**
 * A `pg` client configuration: int8 as number, TCP keepalive, a bounded connect; no statement
 * timeouts (the pool adds them; migrations and `store copy` run long statements on their own).
 */
export function clientConfig(opts: PgConnectOptions): pg.ClientConfig {
  return {
    connectionString: opts.url,
    application_name: opts.applicationName ?? 'sundial',
    // Without keepalive a peer that vanished (failover, a cut network) holds a connection open
    // until the kernel's two-hour default notices.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    types: TYPES,
  };
}

/** Pool settings. */
export interface PgPoolOptions extends PgConnectOptions {
  /** Most connections (default 10). */
  poolSize?: number;
  /**
   * A statement without an answer after this long fails (default 15,000 ms) and its connection
   * is dropped. Through a network partition nothing errors (no reset, no close), and without a
   * bound a call would hang until TCP gives up, many minutes later; with one it becomes
   * `database_unavailable`. It must exceed the slowest legitimate statement.
   */
  queryTimeoutMs?: number;
  /**
   * The server ends a session whose transaction waits on its client longer than this (default
   * 2,000 ms): a node cut off in the middle of a transaction would otherwise hold its row locks
   * until the server's TCP keepalive notices, hours later, and a claim cut off after locking a
   * task would freeze that task's schedule for every node meanwhile. Between two statements of
   * a transaction the store waits only on its own code (milliseconds); a transaction that is
   * ended anyway (a process stalled for seconds) is rolled back and retried whole.
   */
  idleInTransactionTimeoutMs?: number;
  /** Errors of idle connections (the database restarted…): they are dropped and replaced. */
  onError?: (err: Error) => void;
}

/** Opens the pool (connections are made on demand). */
export function createPool(opts: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    ...clientConfig(opts),
    query_timeout: opts.queryTimeoutMs ?? 15_000,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? 2_000,
    max: opts.poolSize ?? 10,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that breaks emits 'error' on the pool; unhandled, that would end the
  // process. The pool has already discarded the connection, so reporting is all there is to do.
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}
