// `sundial store …`: work on a store directly, without a server. `store copy` moves a stopped
// single node's SQLite data directory into an empty PostgreSQL database. Progress goes to stderr,
// the summary to stdout (a table, or one JSON document with --json).

import { Option, type Command } from 'commander';
import type { CopyEvent, CopyResult, copyStore } from '../../store/copy/copy.js';
import { UsageError } from '../cli-errors.js';
import { formatTable } from '../format/table.js';
import { intOption } from '../options.js';

/** The outside world of `store copy`, injectable for tests. */
export interface StoreCommandDeps {
  loadCopy(): Promise<typeof copyStore>;
  out(text: string): void;
  err(text: string): void;
  now(): number;
}

/** Adds `store` and its subcommands. */
export function registerStoreCommands(program: Command, deps: StoreCommandDeps = processDeps()): void {
  const store = program.command('store').description('work on a store directly (no server involved)');

  store
    .command('copy')
    .description('copy a stopped node\'s SQLite data directory into an empty PostgreSQL database')
    .requiredOption('--from <dir>', 'the SQLite data directory (holding sundial.db); its server must be stopped')
    .addOption(new Option('--to <url>', 'the PostgreSQL database, postgres://user@host:port/db').env('SUNDIAL_DATABASE_URL'))
    .option('--dry-run', 'count the rows and check both ends; write nothing')
    .addOption(intOption('--batch-size <n>', 'rows per INSERT (default 5000)', 1))
    .action(async (opts: { from: string; to?: string; dryRun?: boolean; batchSize?: number }, cmd: Command) => {
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
      await runCopy({ ...opts, json }, deps);
    });
}

/** Checks the arguments, runs the copy with progress on stderr, prints the summary on stdout. */
export async function runCopy(
  opts: { from: string; to?: string; dryRun?: boolean; batchSize?: number; json: boolean },
  deps: StoreCommandDeps,
): Promise<CopyResult> {
  if (opts.to === undefined || opts.to === '') {
    throw new UsageError('give the PostgreSQL database with --to postgres://user@host:port/db (or SUNDIAL_DATABASE_URL)');
  }
  let protocol: string;
  try {
    protocol = new URL(opts.to).protocol;
  } catch {
    throw new UsageError('--to is not a URL (e.g. postgres://sundial@db.example.com:5432/sundial)');
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new UsageError(`--to must be a postgres:// or postgresql:// URL, not ${protocol}//…`);
  }
  // Loaded only now: the copy pulls in both database drivers, which no other client command needs.
  const copyStore = await deps.loadCopy();
  const result = await copyStore({
    from: opts.from,
    to: opts.to,
    dryRun: opts.dryRun === true,
    ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
    onProgress: progressPrinter(deps),
  });
  if (opts.json) deps.out(JSON.stringify(result, null, 2));
  else deps.out(summary(result));
  return result;
}

/** How often a long table reports its progress (ms). */
const PROGRESS_EVERY_MS = 2000;

/** Prints steps, each finished table, and a line every couple of seconds within a long one. */
function progressPrinter(deps: StoreCommandDeps): (e: CopyEvent) => void {
  let lastAt = deps.now();
  return (e) => {
    if (e.kind === 'step') {
      deps.err(e.message);
      lastAt = deps.now();
    } else if (e.kind === 'batch') {
      if (e.done >= e.total || deps.now() - lastAt < PROGRESS_EVERY_MS) return;
      lastAt = deps.now();
      const pct = e.total === 0 ? 100 : Math.floor((e.done / e.total) * 100);
      deps.err(`  ${e.table}: ${n(e.done)} of ${n(e.total)} rows (${pct}%), ${rate(e.done, e.elapsedMs)}`);
    } else {
      lastAt = deps.now();
      // A rate over a few milliseconds says nothing; it is shown for tables that took a while.
      deps.err(`  ${e.table}: ${n(e.rows)} rows in ${seconds(e.elapsedMs)}${e.elapsedMs >= 100 ? `, ${rate(e.rows, e.elapsedMs)}` : ''}`);
    }
  };
}

/** The summary for people. */
export function summary(r: CopyResult): string {
  const table = formatTable(
    [
      { header: 'TABLE', value: (t: CopyResult['tables'][number]) => t.table },
      { header: 'ROWS', value: (t: CopyResult['tables'][number]) => n(t.rows), align: 'right' as const },
    ],
    r.tables,
  );
  const lines: string[] = [];
  if (r.dryRun) {
    lines.push(`dry run: would copy ${n(r.rows)} rows from ${r.source.dir} to ${r.target.url}; nothing was written`);
  } else {
    lines.push(`copied ${n(r.rows)} rows from ${r.source.dir} to ${r.target.url} in ${seconds(r.ms)}`);
  }
  lines.push(table);
  if (r.inFlightRuns > 0) {
    lines.push(
      `${n(r.inFlightRuns)} runs were queued or running when the node stopped: the first cluster node to start takes them over ` +
        '(queued ones run later, running ones end failed with reason "lost" and retry as their policy says)',
    );
  }
  if (r.nulReplaced > 0) lines.push(`${n(r.nulReplaced)} text values held NUL characters, which PostgreSQL cannot store: written with U+FFFD instead`);
  if (!r.dryRun) lines.push('next: start each node with SUNDIAL_DATABASE_URL set to this database; do not start the old node on its data directory again');
  return lines.join('\n');
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function rate(rows: number, ms: number): string {
  return `${n(Math.round(rows / Math.max(ms, 1) * 1000))} rows/s`;
}

function processDeps(): StoreCommandDeps {
  return {
    loadCopy: async () => (await import('../../store/copy/copy.js')).copyStore,
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    now: () => Date.now(),
  };
}
