// A part of the SQLite store with statements of its own (notifications, alerts, secrets, the audit
// chain): it shares the store's database and writer, and prepares its statements only once the
// schema is migrated (`ready()`), since preparing names tables a new database does not have yet.

import type Database from 'better-sqlite3';

/** Runs `fn` as (part of) a write transaction of the store's writer. */
export type Write = <T>(fn: () => T) => Promise<T>;

export abstract class StorePart<S> {
  #st: S | null = null;

  constructor(
    protected readonly db: Database.Database,
    protected readonly write: Write,
  ) {}

  /** The part's statements on `db`. */
  protected abstract prepare(db: Database.Database): S;

  /** Prepares the statements; called by the store once the schema is migrated. */
  ready(): void {
    this.#st = this.prepare(this.db);
  }

  /** The prepared statements (a bug to ask before `ready()`). */
  protected get s(): S {
    if (this.#st === null) throw new Error('the SQLite store is not migrated: call migrate() first');
    return this.#st;
  }
}
