// Ending runs on PostgreSQL: one batch of outcomes (and the retries they schedule) in one
// transaction and a constant number of statements: the fenced update, the log lines, the retry
// rows, the tasks' last-run summary, the counts.
import type pg from 'pg';
import type { Millis } from '../../core/types.js';
import { toJson } from '../rows.js';
import { RunCountTally } from '../run-count-tally.js';
import type { NewRun, RunCompletion } from '../store.js';
import { roundsByRun } from './batches.js';
import { applyCounts, insertRunsIfNew } from './run-counts.js';
import { insertOutbox } from './notifications.js';
import type { NewNotification } from '../../core/notify.js';
import * as S from './statements.js';

/**
 * Writes run outcomes in the caller's transaction; returns the ids refused for a stale epoch
 * (or a run that already ended), in the order given.
 */
export async function completeRuns(c: pg.ClientBase, shard: number, completions: readonly RunCompletion[]): Promise<string[]> {
  const counts = new RunCountTally();
  const stale = new Set<RunCompletion>();
  // One tasks-row update per task per batch, not per run: 5,000 completions of one task would
  // otherwise rewrite (and lock) its row 5,000 times.
  const lastByTask = new Map<string, { at: Millis; status: string }>();
  const logs: unknown[][] = [[], [], [], [], []];
  const retries: NewRun[] = [];
  const notifications: NewNotification[] = [];
  for (const round of roundsByRun(completions)) {
    const { rows } = await S.completeRuns.run(c, completionValues(round));
    const ended = new Map(rows.map((r) => [r.id, r]));
    for (const x of round) {
      const row = ended.get(x.runId);
      if (row === undefined) {
        stale.add(x);
        continue;
      }
      counts.add(row.namespace, x.status);
      if (x.logs !== undefined) {
        for (const l of x.logs) {
          logs[0]!.push(x.runId);
          logs[1]!.push(l.at);
          logs[2]!.push(l.level);
          logs[3]!.push(l.message);
          logs[4]!.push(row.node ?? 'system');
        }
      }
      if (x.retry != null) retries.push(x.retry);
      if (x.notifications !== undefined) notifications.push(...x.notifications);
      const prev = lastByTask.get(row.task_id);
      if (prev === undefined || prev.at <= x.finishedAt) lastByTask.set(row.task_id, { at: x.finishedAt, status: x.status });
    }
  }
  if (logs[0]!.length > 0) await S.insertLogs.run(c, logs);
  await insertRunsIfNew(c, retries, counts);
  // Only batches with a notifying task pay for this statement.
  if (notifications.length > 0) await insertOutbox(c, notifications);
  // A deleted task simply matches no row here.
  if (lastByTask.size > 0) {
    const ids = [...lastByTask.keys()];
    await S.setTasksLastRun.run(c, [ids, ids.map((id) => lastByTask.get(id)!.at), ids.map((id) => lastByTask.get(id)!.status)]);
  }
  await applyCounts(c, shard, counts);
  return completions.filter((x) => stale.has(x)).map((x) => x.runId);
}

/** The column arrays of the complete statement. */
function completionValues(round: readonly RunCompletion[]): unknown[][] {
  const n = round.length;
  const cols = Array.from({ length: 12 }, () => new Array<unknown>(n));
  for (let i = 0; i < n; i++) {
    const x = round[i]!;
    cols[0]![i] = x.runId;
    cols[1]![i] = x.leaseEpoch;
    cols[2]![i] = x.status;
    cols[3]![i] = x.finishedAt;
    cols[4]![i] = x.startedAt ?? null;
    cols[5]![i] = toJson(x.result);
    cols[6]![i] = toJson(x.error);
    cols[7]![i] = x.reason ?? null;
    cols[8]![i] = x.logsTruncated === true ? 1 : 0;
    cols[9]![i] = x.cpuMs ?? null;
    cols[10]![i] = x.peakRssBytes ?? null;
    cols[11]![i] = x.diskWriteBytes ?? null;
  }
  return cols;
}
