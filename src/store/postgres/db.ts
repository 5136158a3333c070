// How the PostgreSQL store talks to its pool: reads and idempotent writes as single retried
// statements, every other write as a whole transaction retried from its start. Nothing is ever
// re-run from the middle: a retry begins a fresh transaction on a fresh connection.
import type pg from 'pg';
import { transientKind, unavailable, withRetry, type RetryOptions } from './retry.js';
import type { Statement } from './statements.js';
import type { Sql } from './sql.js';

/** The pool with the store's retry policy. */
export class PgDb {
  readonly pool: pg.Pool;
  readonly #retry: RetryOptions;

  constructor(pool: pg.Pool, retry: RetryOptions) {
    this.pool = pool;
    this.#retry = retry;
  }

  /**
   * Runs one statement on its own, retried on transient failures. Only for reads and for writes
   * that may safely run twice (a connection that broke after the server committed but before the
   * answer arrived leaves no way to know whether the first attempt took effect).
   */
  one<R extends pg.QueryResultRow>(statement: Statement<R>, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return withRetry(() => statement.run(this.pool, values), this.#retry);
  }

  /** Runs `fn` with the retry policy; `fn` must be safe to run again from its start. */
  retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.#retry);
  }

  /** The pool as the filtered reads (queries.ts) take it, with the same retries. */
  get sql(): Sql {
    const pool = this.pool;
    const retry = this.#retry;
    const query = (...args: unknown[]): Promise<unknown> =>
      withRetry(() => (pool.query as (...a: unknown[]) => Promise<unknown>).apply(pool, args), retry);
    return { query } as unknown as Sql;
  }

  /**
   * Runs `fn` in a transaction on one connection and commits; resolves only once COMMIT returned.
   * On a transient failure before COMMIT the transaction is rolled back (by the server, when the
   * connection died) and `fn` runs again from the start, so it must not act outside the database
   * except through what it returns. A connection lost during COMMIT is not retried: the change
   * may have been committed, and running it twice could do it twice. That surfaces as
   * `database_unavailable`.
   */
  transaction<T>(fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    return withRetry(() => this.#attempt(fn), this.#retry);
  }

  async #attempt<T>(fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection that breaks while checked out emits 'error' on the client (between two of our
    // statements nothing else listens); the failure itself reaches us through the next query.
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      let result: T;
      try {
        await client.query('BEGIN');
        result = await fn(client);
      } catch (err) {
        if (broken === undefined && transientKind(err) !== 'connection') {
          await client.query('ROLLBACK').catch((rollbackErr: Error) => {
            broken = rollbackErr;
          });
        } else {
          broken ??= err as Error;
        }
        throw err;
      }
      try {
        await client.query('COMMIT');
      } catch (err) {
        if (transientKind(err) === 'connection') {
          broken = err as Error;
          throw unavailable(err, `the connection to PostgreSQL broke during COMMIT; the change may or may not be committed (${(err as Error).message})`);
        }
        throw err;
      }
      return result;
    } finally {
      client.removeListener('error', onError);
      // A broken connection is destroyed rather than handed to the next caller.
      client.release(broken);
    }
  }
}
