// Starting claimed runs on PostgreSQL. Plain starts are one fenced UPDATE, sent on its own.
// Guarded starts (RunStart.guard) must also not collide with runs other nodes start at the same
// moment: the starts of one task take turns on the task's row lock, those of one concurrency key
// on an advisory lock, and the check of what runs reads the database under those locks, so two
// nodes can never both see room for one more. An admitted start is stamped after that check:
// the run whose end freed its slot has committed by then, so the recorded start follows the
// recorded end (as far as the two nodes' clocks agree).
import type pg from 'pg';
import type { Millis } from '../../core/types.js';
import type { RunStart, StartResult } from '../store.js';
import { roundsByRun } from './batches.js';
import type { PgDb } from './db.js';
import * as S from './statements.js';

/**
 * The advisory lock class of concurrency keys (the first of the two-int keys; migrations lock in
 * the separate one-bigint key space).
 */
export const CONCURRENCY_LOCK_CLASS = 0x53444c; // "SDL"

// Advisory locks live in PostgreSQL's shared lock table (max_locks_per_transaction × connections
// slots, 6,400 by default, for every session together), so one transaction takes only a few; a
// batch with more keys runs as several transactions. Row locks (the tasks) cost no slot.
const MAX_KEYS_PER_TRANSACTION = 32;
const MAX_STARTS_PER_TRANSACTION = 500;

type Busy = StartResult['busy'][number];

/** Marks claimed runs `running`: stale epochs refused, guards checked across nodes. */
export async function markRunning(db: PgDb, starts: readonly RunStart[], now?: () => Millis): Promise<StartResult> {
  const stale = new Set<RunStart>();
  const busy = new Map<RunStart, Busy['reason']>();
  const restamped = new Map<RunStart, Millis>();
  const plain = starts.filter((s) => s.guard === undefined);
  const guarded = starts.filter((s) => s.guard !== undefined);
  if (plain.length > 0) {
    const rounds = roundsByRun(plain);
    // One round (no run twice in the batch, the usual case) is one statement: sent on its own it
    // needs no BEGIN and COMMIT, a third of the round trips. Safe to retry, also after a lost
    // answer: a start already written at that epoch and start time counts as started again.
    const refused = rounds.length === 1 ? await startRound(db, rounds[0]!) : await db.transaction((c) => startPlain(c, rounds));
    for (const s of refused) stale.add(s);
  }
  for (const chunk of chunkGuarded(guarded)) {
    const out = await db.transaction((c) => startGuarded(c, chunk, now));
    for (const s of out.stale) stale.add(s);
    for (const [s, reason] of out.busy) busy.set(s, reason);
    for (const [s, at] of out.stamped) if (at !== s.startedAt) restamped.set(s, at);
  }
  // In the order the caller gave, as the other stores answer.
  return {
    stale: starts.filter((s) => stale.has(s)).map((s) => s.runId),
    busy: starts.flatMap((s) => {
      const reason = busy.get(s);
      return reason === undefined ? [] : [{ runId: s.runId, reason }];
    }),
    restamped: starts.flatMap((s) => {
      const startedAt = restamped.get(s);
      return startedAt === undefined ? [] : [{ runId: s.runId, startedAt }];
    }),
  };
}

/** Unguarded starts in one transaction: one fenced UPDATE per round of repeated ids; returns the refused ones. */
async function startPlain(c: pg.ClientBase, rounds: readonly (readonly RunStart[])[]): Promise<RunStart[]> {
  const refused: RunStart[] = [];
  for (const round of rounds) refused.push(...refusedOf(round, (await S.markRunning.run(c, startValues(round))).rows));
  return refused;
}

/** One round of unguarded starts as a statement of its own (retried); returns the refused ones. */
async function startRound(db: PgDb, round: readonly RunStart[]): Promise<RunStart[]> {
  return refusedOf(round, (await db.one(S.markRunning, startValues(round))).rows);
}

function startValues(round: readonly RunStart[]): unknown[] {
  return [round.map((s) => s.runId), round.map((s) => s.leaseEpoch), round.map((s) => s.startedAt)];
}

function refusedOf(round: readonly RunStart[], startedRows: readonly { id: string }[]): RunStart[] {
  const started = new Set(startedRows.map((r) => r.id));
  return round.filter((s) => !started.has(s.runId));
}

/**
 * Guarded starts in one transaction: lock the runs, the overlap guards' tasks and the
 * concurrency keys (in that order, each sorted), count what runs now, admit in the caller's order,
 * stamped with `now()` if later than their own start time.
 */
async function startGuarded(
  c: pg.ClientBase,
  chunk: readonly RunStart[],
  now: (() => Millis) | undefined,
): Promise<{ stale: RunStart[]; busy: [RunStart, Busy['reason']][]; stamped: Map<RunStart, Millis> }> {
  const ids = [...new Set(chunk.map((s) => s.runId))];
  const rows = new Map((await S.lockStartingRuns.run(c, [ids])).rows.map((r) => [r.id, r]));
  const tasks = [...new Set(chunk.flatMap((s) => (s.guard?.overlapTaskId === undefined ? [] : [s.guard.overlapTaskId])))];
  const keys = [...new Set(chunk.flatMap((s) => (s.guard?.concurrency === undefined ? [] : [s.guard.concurrency.key])))];
  if (tasks.length > 0) await S.lockTasks.run(c, [tasks]);
  if (keys.length > 0) await S.lockConcurrencyKeys.run(c, [CONCURRENCY_LOCK_CLASS, keys]);
  // Read after the locks: a start another node committed while we waited is counted.
  const byTask = new Map<string, number>();
  const byKey = new Map<string, number>();
  for (const r of (await S.runningCounts.run(c, [tasks, keys])).rows) (r.kind === 't' ? byTask : byKey).set(r.key, r.n);

  const stale: RunStart[] = [];
  const busy: [RunStart, Busy['reason']][] = [];
  const admitted: RunStart[] = [];
  const stamped = new Map<RunStart, Millis>();
  const started = new Set<string>();
  const admittedAt = now?.() ?? 0;
  for (const s of chunk) {
    const row = rows.get(s.runId);
    if (row !== undefined && row.status === 'running' && row.lease_epoch === s.leaseEpoch && !started.has(s.runId)) {
      // This very start, committed by an earlier attempt whose answer was lost: admitted then
      // (only the holder of this epoch starts the run at it), at the time written then.
      started.add(s.runId);
      stamped.set(s, row.started_at ?? s.startedAt);
      continue;
    }
    if (row === undefined || row.status !== 'queued' || row.lease_epoch !== s.leaseEpoch || started.has(s.runId)) {
      stale.push(s);
      continue;
    }
    const { overlapTaskId, concurrency } = s.guard!;
    if (overlapTaskId !== undefined && (byTask.get(overlapTaskId) ?? 0) > 0) {
      busy.push([s, 'overlap']);
      continue;
    }
    if (concurrency !== undefined && (byKey.get(concurrency.key) ?? 0) >= concurrency.cap) {
      busy.push([s, 'concurrency']);
      continue;
    }
    admitted.push(s);
    stamped.set(s, Math.max(s.startedAt, admittedAt));
    started.add(s.runId);
    byTask.set(row.task_id, (byTask.get(row.task_id) ?? 0) + 1);
    if (concurrency !== undefined) byKey.set(concurrency.key, (byKey.get(concurrency.key) ?? 0) + 1);
  }
  if (admitted.length > 0) {
    const { rowCount } = await S.startAdmitted.run(c, [
      admitted.map((s) => s.runId),
      admitted.map((s) => s.leaseEpoch),
      admitted.map((s) => stamped.get(s)!),
      // The key a running run counts toward, read by the next guarded start of that key.
      admitted.map((s) => s.guard?.concurrency?.key ?? null),
    ]);
    // The rows are locked and were checked above; anything else is a bug, not a race.
    if (rowCount !== admitted.length) throw new Error(`guarded start updated ${rowCount} of ${admitted.length} locked runs`);
  }
  return { stale, busy, stamped };
}

/** Guarded starts in transaction-sized chunks: at most so many starts and distinct keys each. */
function chunkGuarded(starts: readonly RunStart[]): RunStart[][] {
  const chunks: RunStart[][] = [];
  let chunk: RunStart[] = [];
  let keys = new Set<string>();
  for (const s of starts) {
    const key = s.guard?.concurrency?.key;
    const newKey = key !== undefined && !keys.has(key);
    if (chunk.length >= MAX_STARTS_PER_TRANSACTION || (newKey && keys.size >= MAX_KEYS_PER_TRANSACTION)) {
      chunks.push(chunk);
      chunk = [];
      keys = new Set();
    }
    chunk.push(s);
    if (key !== undefined) keys.add(key);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
