// Which PostgreSQL failures are worth another try, and the bounded, jittered retry loop around a
// whole transaction or a read. Everything not in the table surfaces unchanged: a constraint
// violation or a syntax error will fail the same way every time, and hiding it behind retries
// only delays the answer.
import { SundialError } from '../../core/errors.js';

/**
 * How a transient failure is handled:
 * - `conflict`: the database aborted the transaction to keep it correct (another one got there
 *   first); running it again is the documented remedy. Past the budget the error surfaces as is.
 * - `connection`: the database is not reachable right now (restarting, failing over, out of
 *   connection slots). Past the budget it becomes `database_unavailable` (HTTP 503).
 */
export type TransientKind = 'conflict' | 'connection';

/** SQLSTATEs that may succeed when the whole transaction is tried again. */
export const TRANSIENT_SQLSTATES: Readonly<Record<string, TransientKind>> = {
  '40001': 'conflict', // serialization_failure
  '40P01': 'conflict', // deadlock_detected
  '55P03': 'conflict', // lock_not_available: a NOWAIT lock refused (tasks.ts), or lock_timeout
  '57P01': 'connection', // admin_shutdown: server stopping or the backend terminated
  '57P02': 'connection', // crash_shutdown
  '57P03': 'connection', // cannot_connect_now: starting up or in recovery
  '08000': 'connection', // connection_exception
  '08003': 'connection', // connection_does_not_exist
  '08006': 'connection', // connection_failure
  '08001': 'connection', // sqlclient_unable_to_establish_sqlconnection
  '08004': 'connection', // sqlserver_rejected_establishment_of_sqlconnection
  '53300': 'connection', // too_many_connections
  '25P03': 'connection', // idle_in_transaction_session_timeout: the server ended a stalled transaction's session
};

/** Node socket error codes of a connection that failed or broke. */
export const TRANSIENT_SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * Messages of the `pg` driver for a connection that ended or could not be had in time (it throws
 * plain Errors without a code for these).
 */
const TRANSIENT_MESSAGES: readonly string[] = [
  'Connection terminated', // also "Connection terminated unexpectedly" / "… due to connection timeout"
  'timeout exceeded when trying to connect', // pg-pool: no connection within connectionTimeoutMillis
  'Client has encountered a connection error and is not queryable',
  'Query read timeout', // pg: no answer within query_timeout (a partition); the connection is dropped
];

/** Classifies an error thrown by `pg`: the kind of transient failure it is, or null (not retried). */
export function transientKind(err: unknown): TransientKind | null {
  if (err === null || typeof err !== 'object') return null;
  if (err instanceof SundialError) return null;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    const kind = TRANSIENT_SQLSTATES[code];
    if (kind !== undefined) return kind;
    if (TRANSIENT_SOCKET_CODES.has(code)) return 'connection';
  }
  // A failed connect to several addresses (localhost: ::1 and 127.0.0.1) is an AggregateError.
  if (err instanceof AggregateError && err.errors.some((e) => transientKind(e) === 'connection')) return 'connection';
  if (typeof message === 'string' && TRANSIENT_MESSAGES.some((m) => message.includes(m))) return 'connection';
  return null;
}

/** How long and how often to retry. */
export interface RetryOptions {
  /**
   * How long a call keeps trying, from its first attempt (default 2,000 ms). No new attempt
   * starts after it; one already running (a connect, at most the pool's connect timeout) finishes.
   */
  budgetMs?: number;
  /** The first backoff (default 25 ms); each next one doubles, up to `maxDelayMs`. */
  baseDelayMs?: number;
  /** The longest single backoff (default 500 ms). */
  maxDelayMs?: number;
  /** Random source in [0, 1) for the jitter (tests pin it). */
  random?: () => number;
  /** Sleeps `ms` (tests replace it, together with `now`). */
  sleep?: (ms: number) => Promise<void>;
  /** A monotonic clock in ms (default performance.now). */
  now?: () => number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const defaultNow = (): number => performance.now();

/**
 * Runs `attempt` until it succeeds, throws a non-transient error, or the time budget is spent.
 * `attempt` must be safe to run again from the start: a whole transaction, never half of one.
 * A connection failure that outlasts the budget becomes `database_unavailable`; a conflict that
 * does surfaces as PostgreSQL reported it.
 */
export async function withRetry<T>(attempt: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const budget = opts.budgetMs ?? 2000;
  const base = opts.baseDelayMs ?? 25;
  const max = opts.maxDelayMs ?? 500;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? defaultNow;
  const deadline = now() + budget;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const kind = transientKind(err);
      if (kind === null) throw err;
      // Jittered (between half and all of the exponential bound), so nodes that failed together
      // do not all come back in the same millisecond.
      const bound = Math.min(max, base * 2 ** n);
      const delay = Math.min(Math.round(bound / 2 + (random() * bound) / 2), Math.floor(deadline - now()));
      if (delay <= 0) throw kind === 'connection' ? unavailable(err) : err;
      await sleep(delay);
    }
  }
}

/** The error a caller sees when PostgreSQL stayed unreachable through the retries. */
export function unavailable(cause: unknown, detail?: string): SundialError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new SundialError('database_unavailable', detail ?? `PostgreSQL cannot be reached (${why})`, { cause });
}
