// Writes that feed the finished-run counts: inserting runs (a `skipped` row is final at birth) and
// adding a write's count changes to this store's shard of `run_counts`. The shard keeps nodes from
// queueing on one hot row per namespace and status; readers sum the shards (queries.ts).
import type pg from 'pg';
import { toJson } from '../rows.js';
import type { RunCountTally } from '../run-count-tally.js';
import type { NewRun } from '../store.js';
import { bumpRunCounts, insertRunsIfNew as insertRunsStatement } from './statements.js';

/** Adds the tally to `shard`, rows in key order (see the lock order in statements.ts), and clears it. */
export async function applyCounts(c: pg.ClientBase, shard: number, tally: RunCountTally): Promise<void> {
  const changes = tally.changes();
  tally.clear();
  if (changes.length === 0) return;
  changes.sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.status < b.status ? -1 : a.status > b.status ? 1 : 0));
  await bumpRunCounts.run(c, [shard, changes.map((d) => d.namespace), changes.map((d) => d.status), changes.map((d) => d.n)]);
}

/**
 * Inserts runs in one statement, letting the occurrence key absorb repeats (the first of two rows
 * with one key wins), and tallies the rows actually inserted.
 */
export async function insertRunsIfNew(c: pg.ClientBase, runs: readonly NewRun[], tally: RunCountTally): Promise<void> {
  if (runs.length === 0) return;
  const n = runs.length;
  const cols = Array.from({ length: 16 }, () => new Array<unknown>(n));
  for (let i = 0; i < n; i++) {
    const r = runs[i]!;
    cols[0]![i] = r.id;
    cols[1]![i] = r.namespace;
    cols[2]![i] = r.taskId;
    cols[3]![i] = r.taskName;
    cols[4]![i] = r.status;
    cols[5]![i] = r.attempt;
    cols[6]![i] = r.retryOf;
    cols[7]![i] = r.trigger;
    cols[8]![i] = r.occurrenceAt;
    cols[9]![i] = r.scheduledFor;
    cols[10]![i] = r.priority;
    cols[11]![i] = toJson(r.payload);
    cols[12]![i] = r.idempotencyKey;
    cols[13]![i] = r.reason ?? null;
    cols[14]![i] = r.createdAt;
    cols[15]![i] = r.createdBy;
  }
  const { rows } = await insertRunsStatement.run(c, cols);
  for (const row of rows) tally.add(row.namespace, row.status);
}
