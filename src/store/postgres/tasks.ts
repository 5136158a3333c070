// Task writes on PostgreSQL (create, update with the pending occurrence replaced, delete), each in
// the caller's transaction with its audit row. They follow the store's lock order: a task's runs
// before the task's row (see statements.ts), which a claim planning the same task also keeps.
import type pg from 'pg';
import { SundialError } from '../../core/errors.js';
import type { Millis, Run, Task } from '../../core/types.js';
import { newAuditValues, newTaskValues, rowToRun, rowToTask, toJson } from '../rows.js';
import { RunCountTally } from '../run-count-tally.js';
import type { DeleteTaskOutcome, NewAudit, NewRun, NewTask, UpdateTaskOptions } from '../store.js';
import { applyCounts } from './run-counts.js';
import * as S from './statements.js';

/** The PostgreSQL unique violation SQLSTATE. */
const UNIQUE_VIOLATION = '23505';

/** Inserts a task, its first pending occurrence and the audit row. Throws `task_name_taken`. */
export async function createTask(c: pg.ClientBase, shard: number, task: NewTask, firstRun: NewRun | null, audit: NewAudit): Promise<Task> {
  let row;
  try {
    ({ rows: [row] } = await S.insertTask.run(c, newTaskValues(task, firstRun)));
  } catch (err) {
    throw nameTaken(err, task.namespace, task.name);
  }
  const counts = new RunCountTally();
  if (firstRun !== null) {
    await S.insertRun.run(c, S.newRunValues(firstRun));
    counts.add(firstRun.namespace, firstRun.status);
  }
  // The audit chain's head (audit-chain.ts) just before the counts: see the lock order in statements.ts.
  await S.insertAudit.run(c, newAuditValues(audit));
  // Last in every write: the counts rows are the hottest rows, so they are held the shortest.
  await applyCounts(c, shard, counts);
  return rowToTask(row!);
}

/**
 * Writes the definition fields (name, description, kind, spec, schedule, policies, payload,
 * status). The scheduler's counters (firedCount, nextRunAt, lastRun*) are its own and are not
 * taken from `task`, so an edit never overwrites a claim that happened meanwhile.
 */
export async function updateTask(c: pg.ClientBase, shard: number, task: Task, opts: UpdateTaskOptions): Promise<Task> {
  const before = (await S.taskById.run(c, [task.id])).rows[0];
  if (before === undefined) throw notFound(task.id);
  const rp = opts.replacePending;
  // Runs whose rows this update changes are locked before the task (the lock order): the
  // pending occurrences it may cancel, and on a rename every live run. Once the task row is
  // held, no claim can plan the task, and the runs are locked again without waiting, which
  // catches runs that arrived in between (one refused lock retries the whole update).
  const renaming = task.name !== before.name;
  const touchesRuns = rp !== undefined || renaming;
  if (touchesRuns) await S.lockTaskRuns.run(c, [task.id, renaming]);
  const current = (await S.lockTask.run(c, [task.id])).rows[0];
  if (current === undefined) throw notFound(task.id);
  if (touchesRuns) await S.lockTaskRunsNoWait.run(c, [task.id, renaming || task.name !== current.name]);
  if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version) {
    throw new SundialError('version_mismatch', `The task is at version ${current.version}, not ${opts.expectedVersion}`, {
      extra: { currentVersion: current.version },
    });
  }
  let row;
  try {
    ({ rows: [row] } = await S.updateTaskDefinition.run(c, [
      task.name,
      task.description,
      task.kind,
      JSON.stringify(task.spec),
      toJson(task.schedule),
      JSON.stringify(task.policies),
      toJson(task.payload),
      task.status,
      task.updatedAt,
      task.updatedBy,
      task.id,
    ]));
  } catch (err) {
    throw nameTaken(err, current.namespace, task.name);
  }
  if (task.name !== current.name) await S.renameTaskRuns.run(c, [task.name, task.id]);
  const counts = new RunCountTally();
  if (rp !== undefined) {
    row!.next_run_at = await replacePending(c, counts, task.id, rp.reason, rp.nextRun, rp.now, task.updatedBy);
    if (rp.resetFiredCount === true) {
      row!.fired_count = 0;
      await S.setTaskFired.run(c, [0, row!.next_run_at, task.id]);
    } else {
      await S.setTaskNextRun.run(c, [row!.next_run_at, task.id]);
    }
  }
  await S.insertAudit.run(c, newAuditValues(opts.audit)); // the chain's head, then the counts: see statements.ts
  await applyCounts(c, shard, counts);
  return rowToTask(row!);
}

/** Deletes the task; its unstarted runs become `cancelled` and its running ones are asked to stop. */
export async function deleteTask(c: pg.ClientBase, shard: number, id: string, now: Millis, audit: NewAudit): Promise<DeleteTaskOutcome> {
  // Runs first (all live ones at once, in id order), then the task row (the lock order); a
  // missing task rolls all of it back.
  await S.lockTaskRuns.run(c, [id, true]);
  const cancelled = (await S.cancelTaskRuns.run(c, ['deleted', now, audit.actor, id])).rows.map(rowToRun);
  // Holders that poll (listCancelRequests) stop these; the caller also stops local ones.
  const running = (await S.requestTaskRunsCancel.run(c, [now, audit.actor, id])).rows.map(rowToRun);
  const row = (await S.deleteTask.run(c, [id])).rows[0];
  if (row === undefined) throw notFound(id);
  const counts = new RunCountTally();
  for (const r of cancelled) counts.add(r.namespace, 'cancelled');
  await S.insertAudit.run(c, newAuditValues(audit)); // the chain's head, then the counts: see statements.ts
  await applyCounts(c, shard, counts);
  return { task: rowToTask(row), cancelled: sortRuns(cancelled), running: sortRuns(running) };
}

/** Cancels the task's pending schedule occurrence(s) and puts `nextRun` in their place; returns its due time. */
async function replacePending(
  c: pg.ClientBase,
  counts: RunCountTally,
  taskId: string,
  reason: string,
  nextRun: NewRun | null,
  now: Millis,
  actor: string,
): Promise<Millis | null> {
  let keptId: string | null = null;
  let nextAt: Millis | null = null;
  if (nextRun !== null) {
    const same = (await S.runByKey.run(c, [nextRun.taskId, nextRun.idempotencyKey, nextRun.attempt])).rows[0];
    if (same === undefined) {
      await S.insertRun.run(c, S.newRunValues(nextRun));
      counts.add(nextRun.namespace, nextRun.status);
      keptId = nextRun.id;
      nextAt = nextRun.scheduledFor;
    } else {
      // The same occurrence already has a row: keep it pending (moved to the new due time)
      // rather than cancel it and insert a duplicate the unique key would refuse.
      const revived = (
        await S.reviveCancelledRun.run(c, [
          nextRun.scheduledFor,
          nextRun.priority,
          toJson(nextRun.payload),
          nextRun.taskName,
          now,
          actor,
          same.id,
        ])
      ).rows[0];
      if (revived !== undefined) {
        counts.add(same.namespace, same.status, -1);
        keptId = revived.id;
        nextAt = revived.scheduled_for;
      }
    }
  }
  const others = (await S.pendingScheduleRuns.run(c, [taskId])).rows.filter((r) => r.id !== keptId);
  if (others.length > 0) {
    const { rows } = await S.cancelRuns.run(c, [reason, now, actor, others.map((r) => r.id)]);
    for (const r of rows) counts.add(r.namespace, 'cancelled');
  }
  return nextAt;
}

/** Turns the unique violation on (namespace, name) into `task_name_taken`; other errors pass. */
function nameTaken(err: unknown, namespace: string, name: string): unknown {
  const e = err as { code?: unknown; constraint?: unknown };
  if (e.code === UNIQUE_VIOLATION && e.constraint === 'tasks_namespace_name') {
    return new SundialError('task_name_taken', `A task named "${name}" already exists in namespace "${namespace}"`, { cause: err });
  }
  return err;
}

function notFound(id: string): SundialError {
  return new SundialError('task_not_found', `No task with id ${id}`);
}

function sortRuns(runs: Run[]): Run[] {
  return runs.sort((a, b) => a.scheduledFor - b.scheduledFor || (a.id < b.id ? -1 : 1));
}
