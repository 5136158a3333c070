// What the PostgreSQL store's modules need of a connection: a pool or one checked-out client.
import type pg from 'pg';

/** A pool or a client: anything that runs a parameterized query. */
export type Sql = Pick<pg.Pool, 'query'>;
