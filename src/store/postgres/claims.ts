// The scheduler's claims on PostgreSQL: due runs (planned in the same transaction) and orphaned
// runs of dead holders. Both run inside a transaction of the store (db.ts) and take only rows no
// other node holds (FOR UPDATE SKIP LOCKED), so any number of nodes can claim at once and each
// run is claimed by exactly one of them.
import type pg from 'pg';
import type { Millis, Run, Task } from '../../core/types.js';
import { planClaims, type EndedClaim } from '../claim-plan.js';
import { rowToRun, rowToTask, type TaskPartsCache, type TaskRow } from '../rows.js';
import { RunCountTally } from '../run-count-tally.js';
import { byDueOrder } from '../run-order.js';
import type { ClaimOptions, ClaimedRun } from '../store.js';
import { applyCounts, insertRunsIfNew } from './run-counts.js';
import { asClaimed, chooseStarts, markStartedOnClaim } from '../start-on-claim.js';
import * as S from './statements.js';

/** What the claims need from the store. */
export interface ClaimContext {
  /** This store's shard of run_counts. */
  shard: number;
  taskParts: TaskPartsCache;
}

/**
 * Claims due runs for `opts.node` and applies the schedule plans, in the caller's transaction:
 * the claim statement, the tasks, then a constant handful of batch writes (ended runs, inserts,
 * task counters, counts), whatever the batch size.
 */
export async function claimDue(c: pg.ClientBase, ctx: ClaimContext, opts: ClaimOptions, token: string): Promise<ClaimedRun[]> {
  const { now } = opts;
  // Without startDue the claim is one statement; with it, the runs are locked first and written
  // once the caller has chosen which start (a second round trip instead of a second row update).
  const lockFirst = opts.startDue !== undefined;
  const { rows } = lockFirst
    ? await S.lockDue.run(c, [opts.horizon, opts.limit])
    : await S.claimDue.run(c, [opts.horizon, opts.limit, now, opts.node, opts.leaseUntil]);
  if (rows.length === 0) return [];
  let runs = rows.map(rowToRun);
  if (lockFirst) for (const run of runs) asClaimed(run, opts.node, now, opts.leaseUntil);
  if (opts.spread !== undefined && rows.length >= opts.limit) {
    const shared = await fairShare(c, runs, opts.horizon, opts.spread);
    for (const run of shared) asClaimed(run, opts.node, now, opts.leaseUntil);
    // Claimed by the statement's write: the lock-first path writes them with the rest below.
    if (!lockFirst && shared.length > 0) {
      const ids = shared.map((r) => r.id);
      const { rowCount } = await S.claimLocked.run(c, [ids, ids.map(() => false), now, opts.node, opts.leaseUntil, opts.node]);
      if (rowCount !== shared.length) throw new Error(`claim updated ${rowCount} of ${shared.length} locked runs`);
    }
    runs = runs.concat(shared);
  }
  runs.sort(byDueOrder);

  const planned = new Set<string>();
  const readOnly = new Set<string>();
  for (const r of runs) if (r.trigger === 'schedule') planned.add(r.taskId);
  for (const r of runs) if (!planned.has(r.taskId)) readOnly.add(r.taskId);
  const tasks = taskMap(ctx, (await S.claimTasks.run(c, [[...planned], [...readOnly]])).rows);

  const plan = planClaims(runs, (id) => tasks.get(id) ?? null, opts.plan, now);
  if (lockFirst) {
    const started = chooseStarts(plan.out, opts);
    const startIds = new Set([...started].map((s) => s.run.id));
    const { rowCount } = await S.claimLocked.run(c, [runs.map((r) => r.id), runs.map((r) => startIds.has(r.id)), now, opts.node, opts.leaseUntil, token]);
    if (rowCount !== runs.length) throw new Error(`claim updated ${rowCount} of ${runs.length} locked runs`);
    for (const s of started) markStartedOnClaim(s, now);
  }
  await endClaimed(c, plan.ended, now);
  await insertRunsIfNew(c, plan.inserts, plan.counts);
  if (plan.counters.length > 0) {
    const counters = plan.counters.sort((a, b) => (a.id < b.id ? -1 : 1));
    await S.setTaskCounters.run(c, [counters.map((t) => t.id), counters.map((t) => t.firedCount), counters.map((t) => t.nextRunAt)]);
  }
  await applyCounts(c, ctx.shard, plan.counts);
  return plan.out;
}

/** Takes over runs whose lease expired, in the caller's transaction; runs of deleted tasks are cancelled. */
export async function claimOrphans(
  c: pg.ClientBase,
  ctx: ClaimContext,
  opts: { node: string; now: Millis; leaseUntil: Millis; limit: number },
): Promise<ClaimedRun[]> {
  const { rows } = await S.claimOrphans.run(c, [opts.now, opts.limit, opts.node, opts.leaseUntil]);
  if (rows.length === 0) return [];
  const runs = rows.map(rowToRun).sort(byDueOrder);
  const tasks = taskMap(ctx, (await S.tasksByIds.run(c, [[...new Set(runs.map((r) => r.taskId))]])).rows);
  const counts = new RunCountTally();
  const ended: EndedClaim[] = [];
  const out: ClaimedRun[] = [];
  for (const run of runs) {
    const task = tasks.get(run.taskId);
    if (task === undefined) {
      ended.push({ run, status: 'cancelled', reason: 'deleted', error: null });
      counts.add(run.namespace, 'cancelled');
    } else {
      out.push({ run, task });
    }
  }
  await endClaimed(c, ended, opts.now);
  await applyCounts(c, ctx.shard, counts);
  return out;
}

/** Writes the end of claimed runs that end within the claim (one statement for all). */
async function endClaimed(c: pg.ClientBase, ended: readonly EndedClaim[], now: Millis): Promise<void> {
  if (ended.length === 0) return;
  await S.endClaimed.run(c, [
    now,
    ended.map((e) => e.run.id),
    ended.map((e) => e.status),
    ended.map((e) => e.reason),
    ended.map((e) => e.error),
  ]);
}

/**
 * The due runs of the namespaces with none in a full batch (ClaimOptions.spread), locked, not yet
 * claimed: at most `spread` in all, at least one per namespace.
 */
async function fairShare(c: pg.ClientBase, batch: readonly Run[], horizon: Millis, spread: number): Promise<Run[]> {
  const served = new Set(batch.map((r) => r.namespace));
  const others = (await S.pendingNamespaces.run(c, [])).rows.map((r) => r.n).filter((n) => !served.has(n));
  if (others.length === 0) return [];
  const limit = Math.max(1, Math.floor(spread / others.length));
  return (await S.lockDueOfNamespaces.run(c, [others, horizon, limit])).rows.map(rowToRun);
}

function taskMap(ctx: ClaimContext, rows: readonly TaskRow[]): Map<string, Task> {
  const tasks = new Map<string, Task>();
  for (const row of rows) tasks.set(row.id, rowToTask(row, ctx.taskParts.get(row)));
  return tasks;
}

