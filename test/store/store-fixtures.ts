// Builders for store tests: valid tasks, runs, audit rows and small fake planners, so each test
// states only what it is about. Independent of src/core/planner.ts on purpose.
import { newId } from '../../src/core/ids.js';
import { DEFAULT_POLICIES } from '../../src/core/policies.js';
import type { Millis, Policies, Task } from '../../src/core/types.js';
import type { NewAudit, NewRun, NewTask, OccurrencePlan, PlanOccurrence } from '../../src/store/store.js';

/** A fixed "now" for tests: 2026-01-01T00:00:00Z. */
export const T0: Millis = Date.UTC(2026, 0, 1);

/** Default policies, as the API would store them. */
export const POLICIES: Policies = DEFAULT_POLICIES;

let seq = 0;

/** A task to create; every field can be overridden. */
export function newTask(over: Partial<NewTask> = {}): NewTask {
  seq++;
  return {
    id: newId(),
    namespace: 'default',
    name: `task-${seq}`,
    description: null,
    kind: 'http',
    spec: { url: 'https://example.com/hook', method: 'POST' },
    schedule: null,
    policies: POLICIES,
    payload: null,
    status: 'active',
    nextRunAt: null,
    createdAt: T0,
    updatedAt: T0,
    createdBy: 'key:test',
    updatedBy: 'key:test',
    ...over,
  };
}

/** A pending run of `task`; manual by default, a schedule occurrence with `trigger: 'schedule'`. */
export function newRun(task: Pick<Task, 'id' | 'namespace' | 'name'>, over: Partial<NewRun> = {}): NewRun {
  const scheduledFor = over.scheduledFor ?? T0;
  const trigger = over.trigger ?? 'manual';
  const occurrenceAt = over.occurrenceAt ?? (trigger === 'schedule' ? scheduledFor : null);
  return {
    id: newId(),
    namespace: task.namespace,
    taskId: task.id,
    taskName: task.name,
    status: 'scheduled',
    attempt: 1,
    retryOf: null,
    trigger,
    occurrenceAt,
    scheduledFor,
    priority: 0,
    payload: null,
    idempotencyKey: trigger === 'schedule' ? `${task.id}:${occurrenceAt}` : newId(),
    createdAt: T0,
    createdBy: 'key:test',
    ...over,
  };
}

/** An audit row for a change. */
export function audit(action: string, targetId: string, over: Partial<NewAudit> = {}): NewAudit {
  return {
    namespace: 'default',
    at: T0,
    actor: 'key:test',
    ip: '127.0.0.1',
    action,
    targetType: action.split('.')[0] ?? 'task',
    targetId,
    ...over,
  };
}

/** A planner that must not be called (claims of manual runs). */
export const noPlan: PlanOccurrence = () => {
  throw new Error('plan() must not be called for runs that are not schedule occurrences');
};

/** Calls to a recording planner. */
export interface PlanCall {
  task: Task;
  runId: string;
  now: Millis;
}

/**
 * A fake interval planner: fires the claimed occurrence and inserts the next one `everyMs`
 * later (or records a skip when `skip` says so). Records every call.
 */
export function intervalPlanner(
  everyMs: number,
  opts: { skip?: (occurrenceAt: Millis) => string | null } = {},
): PlanOccurrence & { calls: PlanCall[] } {
  const calls: PlanCall[] = [];
  const plan = (task: Task, run: Parameters<PlanOccurrence>[1], now: Millis): OccurrencePlan => {
    calls.push({ task, runId: run.id, now });
    const occurrenceAt = run.occurrenceAt ?? run.scheduledFor;
    const next = newRun(task, { trigger: 'schedule', scheduledFor: occurrenceAt + everyMs, createdAt: now, createdBy: 'system' });
    const skip = opts.skip?.(occurrenceAt) ?? null;
    return {
      claimed: skip === null ? 'run' : { skip },
      inserts: [next],
      firedCount: task.firedCount + 1,
      nextRunAt: next.scheduledFor,
    };
  };
  return Object.assign(plan, { calls });
}
