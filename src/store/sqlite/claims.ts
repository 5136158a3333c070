// The scheduler's claims: due runs (with their schedule planned in the same transaction) and
// orphaned runs of dead holders. Both run inside the writer's transaction (see write-batcher.ts).
import { runError } from '../../core/run-errors.js';
import type { Millis, Run, Task } from '../../core/types.js';
import type { ClaimOptions, ClaimedRun, OccurrencePlan } from '../store.js';
import { RUN_COLUMNS, arrayToRun, rowToRun, rowToTask, type RunRow, type TaskPartsCache } from '../rows.js';
import { byDueOrder, isDueOrdered } from '../run-order.js';
import { asClaimed, chooseStarts, markStartedOnClaim } from '../start-on-claim.js';
import { RunCountDelta, insertRun } from './run-counts.js';
import type { Statements } from './statements.js';

/** What the claim functions need from the store. */
export interface ClaimContext {
  st: Statements;
  taskParts: TaskPartsCache;
  held: HeldRuns;
}

/** Who a run belongs to: its task and namespace (both fixed for the run's life). */
export type RunOwner = Pick<Run, 'taskId' | 'namespace'>;

/**
 * The owners of the runs this process holds, so `completeRuns` needs no lookup per run to update
 * the task summary and the finished counts (`UPDATE … RETURNING` costs ~1.7 µs per run). A miss
 * falls back to a query, so this is only a cache: cleared when it grows past its bound.
 */
export class HeldRuns {
  #byRun = new Map<string, RunOwner>();
  readonly #max: number;

  // Entries leave on completion or release; runs that end otherwise (cancelled while queued,
  // rescheduled) stay until the bound clears them, so it is sized for memory, not for speed.
  constructor(max = 200_000) {
    this.#max = max;
  }

  /** Remembers a claimed run's owner (copied: the run object itself may be large). */
  set(runId: string, owner: RunOwner): void {
    if (this.#byRun.size >= this.#max) this.#byRun.clear();
    this.#byRun.set(runId, { taskId: owner.taskId, namespace: owner.namespace });
  }

  /** The owner of a held run, forgetting it (the run is ending), or undefined when not known. */
  take(runId: string): RunOwner | undefined {
    const owner = this.#byRun.get(runId);
    if (owner !== undefined) this.#byRun.delete(runId);
    return owner;
  }

  /** Forgets a run (released). */
  delete(runId: string): void {
    this.#byRun.delete(runId);
  }
}

/** Where the claim document has the payload flag (after the rowid; see statements.ts). */
const PAYLOAD_AT = 1 + RUN_COLUMNS.split(', ').indexOf('payload');

/** Claims due runs for `opts.node` and applies the schedule plans (inside a transaction). */
export function claimDue(ctx: ClaimContext, opts: ClaimOptions): ClaimedRun[] {
  const { st } = ctx;
  const counts = new RunCountDelta();
  const { now, node, leaseUntil } = opts;
  const doc = st.claimSelect.get({ horizon: opts.horizon, limit: opts.limit });
  if (doc === undefined || doc === '[]') return [];
  const rows = JSON.parse(doc) as unknown[][];
  if (opts.spread !== undefined && rows.length >= opts.limit) rows.push(...fairShare(st, rows, opts.horizon, opts.spread));
  const rowids = new Array<unknown>(rows.length);
  const runs = new Array<Run>(rows.length);
  const idAt = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    rowids[i] = row[0];
    const hasPayload = row[PAYLOAD_AT] === 1;
    row[PAYLOAD_AT] = null;
    // The row as the claim leaves it (the UPDATE below writes the same values).
    const run = arrayToRun(row, 1);
    if (hasPayload) run.payload = JSON.parse(st.runPayloadByRowid.get(row[0])!);
    asClaimed(run, node, now, leaseUntil);
    runs[i] = run;
    idAt[i] = run.id;
  }
  // json_group_array keeps the subquery's order in practice; the contract's order must not
  // depend on that, and checking costs one pass.
  if (!isDueOrdered(runs)) runs.sort(byDueOrder);

  // The task as this claim sees it: plans of earlier occurrences in the batch move its
  // counters, and a later occurrence of the same task must be planned from there.
  const tasks = new Map<string, Task | null>();
  const planned = new Map<string, Task>();
  const out: ClaimedRun[] = [];
  const ends: (() => void)[] = [];
  for (const run of runs) {
    let task = tasks.get(run.taskId);
    if (task === undefined) {
      task = loadTask(ctx, run.taskId);
      tasks.set(run.taskId, task);
    }
    if (task === null) {
      ends.push(() => st.cancelDeleted.run(now, now, run.id));
      counts.add(run.namespace, 'cancelled');
      continue;
    }
    if (run.trigger !== 'schedule') {
      ctx.held.set(run.id, run);
      out.push({ run, task });
      continue;
    }
    let plan: OccurrencePlan;
    try {
      plan = opts.plan(task, run, now);
    } catch (err) {
      // A planner bug for one task must not wedge every claim behind it: that occurrence fails
      // (visibly, with the error) and the rest of the batch goes on.
      const message = err instanceof Error ? err.message : String(err);
      const error = JSON.stringify(runError('plan_failed', message));
      ends.push(() => st.failClaimed.run('plan_failed', error, now, now, run.id));
      counts.add(run.namespace, 'failed');
      continue;
    }
    for (const ins of plan.inserts) insertRun(st, counts, ins, true);
    if (plan.firedCount !== task.firedCount || plan.nextRunAt !== task.nextRunAt) {
      task = { ...task, firedCount: plan.firedCount, nextRunAt: plan.nextRunAt };
      tasks.set(task.id, task);
      planned.set(task.id, task);
    }
    if (plan.claimed === 'run') ctx.held.set(run.id, run);
    else skip(run, plan.claimed.skip, now);
    out.push({ run, task });
  }
  // The claim's write: every selected run, those chosen to start as `running`. The ends decided
  // above are written after it (its WHERE takes only rows still `scheduled`).
  const started = chooseStarts(out, opts);
  let claimed: number;
  if (started.size === 0) {
    claimed = st.claimUpdate.run({ now, node, leaseUntil, rowids: JSON.stringify(rowids) }).changes;
  } else {
    const startIds = new Set<string>();
    for (const c of started) startIds.add(c.run.id);
    const queuedRowids: unknown[] = [];
    const startRowids: unknown[] = [];
    for (let i = 0; i < rows.length; i++) (startIds.has(idAt[i]!) ? startRowids : queuedRowids).push(rowids[i]);
    claimed = st.claimUpdate.run({ now, node, leaseUntil, rowids: JSON.stringify(queuedRowids) }).changes;
    claimed += st.claimStart.run({ now, node, leaseUntil, rowids: JSON.stringify(startRowids) }).changes;
  }
  if (claimed !== runs.length) throw new Error(`claim updated ${claimed} of ${runs.length} selected runs`);
  for (const c of started) markStartedOnClaim(c, now);
  for (const end of ends) end();
  for (const t of planned.values()) st.setTaskFired.run(t.firedCount, t.nextRunAt, t.id);
  counts.apply(st);

  function skip(run: Run, reason: string, at: Millis): void {
    ends.push(() => st.skipClaimed.run(reason, at, at, run.id));
    counts.add(run.namespace, 'skipped');
    run.status = 'skipped';
    run.reason = reason;
    run.finishedAt = at;
    run.leaseUntil = null;
    run.updatedAt = at;
  }
  return out;
}

/** Takes over runs whose lease expired (inside a transaction); runs of deleted tasks are cancelled. */
export function claimOrphans(
  ctx: ClaimContext,
  opts: { node: string; now: Millis; leaseUntil: Millis; limit: number },
): ClaimedRun[] {
  const { st } = ctx;
  const counts = new RunCountDelta();
  const rows = st.claimOrphans.all({ node: opts.node, now: opts.now, leaseUntil: opts.leaseUntil, limit: opts.limit });
  const tasks = new Map<string, Task | null>();
  const out: ClaimedRun[] = [];
  for (const row of rows.sort(byRowDueOrder)) {
    let task = tasks.get(row.task_id);
    if (task === undefined) {
      task = loadTask(ctx, row.task_id);
      tasks.set(row.task_id, task);
    }
    if (task === null) {
      st.cancelDeleted.run(opts.now, opts.now, row.id);
      counts.add(row.namespace, 'cancelled');
      continue;
    }
    const run = rowToRun(row);
    ctx.held.set(run.id, run);
    out.push({ run, task });
  }
  counts.apply(st);
  return out;
}

/** Where the claim document has the namespace (after the rowid). */
const NAMESPACE_AT = 1 + RUN_COLUMNS.split(', ').indexOf('namespace');

/**
 * The due runs of namespaces with none in a full batch (ClaimOptions.spread), in claim-document
 * rows. Namespaces with pending runs are found by skipping through runs_due_namespace (one seek
 * each, not a scan of the backlog), and each one's oldest due runs by one more.
 */
function fairShare(st: Statements, batch: readonly unknown[][], horizon: Millis, spread: number): unknown[][] {
  const served = new Set<unknown>();
  for (const row of batch) served.add(row[NAMESPACE_AT]);
  const others: string[] = [];
  for (let ns = st.nextPendingNamespace.get(''); ns !== undefined; ns = st.nextPendingNamespace.get(ns)) {
    if (!served.has(ns)) others.push(ns);
  }
  if (others.length === 0) return [];
  const limit = Math.max(1, Math.floor(spread / others.length));
  const out: unknown[][] = [];
  for (const namespace of others) {
    const doc = st.claimSelectOfNamespace.get({ horizon, limit, namespace });
    if (doc !== undefined && doc !== '[]') out.push(...(JSON.parse(doc) as unknown[][]));
  }
  return out;
}

function loadTask(ctx: ClaimContext, id: string): Task | null {
  const row = ctx.st.taskById.get(id);
  return row === undefined ? null : rowToTask(row, ctx.taskParts.get(row));
}

function byRowDueOrder(a: RunRow, b: RunRow): number {
  if (a.scheduled_for !== b.scheduled_for) return a.scheduled_for - b.scheduled_for;
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
