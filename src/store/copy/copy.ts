// `sundial store copy`: moves a single node's SQLite data directory into a PostgreSQL database, so
// growing to a cluster is one command (and then one variable, SUNDIAL_DATABASE_URL, on each node).
//
// The order of things, each step for a reason:
// 1. Open the source read-only in one read transaction (refused while a server holds it): one
//    snapshot, and no server can start on it until the copy is done.
// 2. Refuse a target that holds rows, before changing anything (not even its schema).
// 3. Create the schema with the PostgreSQL store's own migrate().
// 4. One transaction on the target: lock the tables, check again that they are empty (another copy
//    or an early node may have come in between), copy every table in batches, commit. All or
//    nothing: a failure anywhere rolls back every row.
//
// Runs that were `queued` or `running` are copied as they are: their holder, the single node, is
// stopped (step 1 proves no process holds the directory), so they are exactly the orphans a
// restarted single node would recover at start. On the cluster the orphan sweep takes over runs
// whose lease has expired (`lease_until < now`); a lease that had not yet run out is ended at the
// copy's time so the first sweep recovers them instead of waiting out a lease nobody holds. The
// sweep then does what the single node's restart would have: a queued run goes back to
// `scheduled` (it never started, it runs once later), a running one ends `failed` with reason
// `lost` and is retried as its policy says. Nothing is lost (every row is copied) and nothing runs
// twice (the lease epoch is bumped on takeover, fencing anything still holding the old one).
import { PostgresTarget, CopyTargetError, redactUrl } from './postgres-target.js';
import { SqliteSource } from './sqlite-source.js';
import { COPY_TABLES, RUNS, type CopyTable } from './tables.js';

export { CopySourceError } from './sqlite-source.js';
export { CopyTargetError, redactUrl } from './postgres-target.js';
export { COPY_TABLES } from './tables.js';

/**
 * Rows per INSERT unless told otherwise. Measured on 100,000 runs: 500 costs ~40% more CPU on both
 * ends (a round trip and a statement per batch); 1,000 to 10,000 cost the same.
 */
export const DEFAULT_BATCH_SIZE = 5000;

/** What to copy where. */
export interface CopyOptions {
  /** The SQLite data directory (holding sundial.db) of a stopped node. */
  from: string;
  /** The PostgreSQL connection string. */
  to: string;
  /** Only count the rows and check both ends; write nothing. */
  dryRun?: boolean;
  /** Rows per INSERT (default DEFAULT_BATCH_SIZE). */
  batchSize?: number;
  /** Characters of text per INSERT at most, give or take a row (default DEFAULT_BATCH_CHARS). */
  batchChars?: number;
  /** Told about each step and batch (for progress output). */
  onProgress?: (event: CopyEvent) => void;
  /** The clock (epoch ms); the copy's time ends leases that had not run out. */
  now?: () => number;
}

/** Progress of a copy. */
export type CopyEvent =
  | { kind: 'step'; message: string }
  | { kind: 'batch'; table: string; done: number; total: number; elapsedMs: number }
  | { kind: 'table'; table: string; rows: number; elapsedMs: number };

/** Rows of one table. */
export interface TableResult {
  table: string;
  /** Rows copied (in a dry run: rows that would be copied). */
  rows: number;
  /** Time spent on this table (0 in a dry run). */
  ms: number;
}

/** What a copy did (or, in a dry run, would do). */
export interface CopyResult {
  dryRun: boolean;
  source: { dir: string; schemaVersion: number };
  /** The target URL without its password, and its schema version after the copy (before, in a dry run). */
  target: { url: string; schemaVersion: number };
  tables: TableResult[];
  /** Rows over all tables. */
  rows: number;
  /** Wall time of the whole command. */
  ms: number;
  /** Runs that were `queued` or `running` on the stopped node: the cluster recovers them. */
  inFlightRuns: number;
  /** Of those, runs whose lease had not yet expired and was ended at the copy's time. */
  leasesEnded: number;
  /** Text values with U+0000 (which PostgreSQL text cannot hold), written with U+FFFD instead. */
  nulReplaced: number;
}

/** Copies (or with `dryRun` only counts) a SQLite data directory into an empty PostgreSQL database. */
export async function copyStore(opts: CopyOptions): Promise<CopyResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a whole number >= 1, not ${batchSize}`);
  const step = (message: string): void => opts.onProgress?.({ kind: 'step', message });

  const source = SqliteSource.open(opts.from);
  let target: PostgresTarget | null = null;
  try {
    step(`source ${source.dir} (SQLite, schema version ${source.schemaVersion}), read-only and locked against servers`);
    target = await PostgresTarget.connect(opts.to);
    const url = redactUrl(opts.to);
    const occupied = await target.occupied(COPY_TABLES);
    if (occupied.length > 0) throw notEmpty(url, occupied);

    const counts = COPY_TABLES.map((t) => ({ table: t, rows: source.count(t) }));
    const inFlightRuns = source.countInFlight();
    if (opts.dryRun === true) {
      const schemaVersion = await target.schemaVersion();
      step(`target ${url} is empty (${schemaVersion === 0 ? 'no Sundial schema yet' : `schema version ${schemaVersion}`}); dry run: nothing written`);
      return {
        dryRun: true,
        source: { dir: source.dir, schemaVersion: source.schemaVersion },
        target: { url, schemaVersion },
        tables: counts.map((c) => ({ table: c.table.name, rows: c.rows, ms: 0 })),
        rows: counts.reduce((sum, c) => sum + c.rows, 0),
        ms: now() - started,
        inFlightRuns,
        leasesEnded: 0,
        nulReplaced: 0,
      };
    }

    step(`target ${url}: creating or checking the schema`);
    await target.migrate();
    await target.checkColumns(COPY_TABLES);
    await target.begin(COPY_TABLES);
    // Again, under the lock: a node or another copy may have written since the first check.
    const late = await target.occupied(COPY_TABLES);
    if (late.length > 0) throw notEmpty(url, late);

    const fix = new RowFixer(now());
    const tables: TableResult[] = [];
    for (const { table, rows: total } of counts) {
      const t0 = now();
      let done = 0;
      // The next batch is read from SQLite while PostgreSQL writes the previous one: `insert`
      // sends its statement before it yields, and the SQLite read is synchronous.
      let writing: Promise<void> | null = null;
      for (const batch of source.batches(table, batchSize, opts.batchChars)) {
        fix.apply(table, batch);
        if (writing !== null) await writing;
        writing = target.insert(table, batch);
        // Observed here too: if reading the next batch throws, nothing else awaits this one, and
        // an unobserved rejection would end the process before the rollback.
        writing.catch(() => undefined);
        done += batch.length;
        opts.onProgress?.({ kind: 'batch', table: table.name, done, total, elapsedMs: now() - t0 });
      }
      if (writing !== null) await writing;
      tables.push({ table: table.name, rows: done, ms: now() - t0 });
      opts.onProgress?.({ kind: 'table', table: table.name, rows: done, elapsedMs: now() - t0 });
    }
    // The chain goes on where the single node's ended (its next row links to the last copied one).
    const head = source.auditHead();
    if (head !== null) await target.setAuditHead(head);
    step('committing');
    await target.commit();
    step('updating the planner statistics of the copied tables (ANALYZE)');
    await target.analyze(COPY_TABLES);
    return {
      dryRun: false,
      source: { dir: source.dir, schemaVersion: source.schemaVersion },
      target: { url, schemaVersion: await target.schemaVersion() },
      tables,
      rows: tables.reduce((sum, t) => sum + t.rows, 0),
      ms: now() - started,
      inFlightRuns,
      leasesEnded: fix.leasesEnded,
      nulReplaced: fix.nulReplaced,
    };
  } catch (err) {
    await target?.rollback().catch(() => undefined);
    throw err;
  } finally {
    await target?.close();
    source.close();
  }
}

function notEmpty(url: string, tables: readonly string[]): CopyTargetError {
  return new CopyTargetError(
    `the target database ${url} already holds Sundial data (rows in ${tables.join(', ')}); nothing was changed. ` +
      'Copy into an empty database: create a new one, or drop this one if its data is not needed',
    'ERR_TARGET_NOT_EMPTY',
  );
}

const RUN_STATUS = RUNS.columns.findIndex((c) => c.name === 'status');
const RUN_LEASE_UNTIL = RUNS.columns.findIndex((c) => c.name === 'lease_until');

/** The changes rows need on their way: ended leases of in-flight runs, and NUL-free text. */
class RowFixer {
  leasesEnded = 0;
  nulReplaced = 0;
  readonly #copyAt: number;
  readonly #textColumns = new Map<CopyTable, number[]>();

  constructor(copyAt: number) {
    this.#copyAt = copyAt;
  }

  apply(table: CopyTable, rows: unknown[][]): void {
    let text = this.#textColumns.get(table);
    if (text === undefined) {
      text = table.columns.flatMap((c, i) => (c.type === 'text' ? [i] : []));
      this.#textColumns.set(table, text);
    }
    for (const row of rows) {
      for (const i of text) {
        const v = row[i];
        // PostgreSQL text cannot hold U+0000 (SQLite can: a task's log line may carry one). JSON
        // columns never do, JSON escapes it, so in practice this touches only raw log text.
        if (typeof v === 'string' && v.includes('\0')) {
          row[i] = v.replaceAll('\0', '\uFFFD');
          this.nulReplaced++;
        }
      }
      if (table === RUNS) this.#endLease(row);
    }
  }

  /** A queued or running run's lease ends no later than the copy (see the top of this file). */
  #endLease(row: unknown[]): void {
    const status = row[RUN_STATUS];
    if (status !== 'queued' && status !== 'running') return;
    const lease = row[RUN_LEASE_UNTIL] as number | null;
    if (lease === null || lease > this.#copyAt) {
      row[RUN_LEASE_UNTIL] = this.#copyAt;
      this.leasesEnded++;
    }
  }
}
