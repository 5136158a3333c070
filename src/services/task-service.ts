// Tasks: create, read, change and delete them within the caller's namespaces. Every change is
// one store call carrying its audit row; events and scheduler wake-ups follow the commit.

import { SundialError } from '../core/errors.js';
import { newId, isUuid } from '../core/ids.js';
import { planFirstRun } from '../core/planner.js';
import { DEFAULT_POLICIES, normalizePolicies } from '../core/policies.js';
import { anchorSchedule, validateSchedule } from '../core/schedule/validate.js';
import type { Actor, Millis, Run, Schedule, Task, TaskKind, TaskStatus } from '../core/types.js';
import type { NewRun, NewTask, Page, RecentRun, ScheduleFilter, TaskSort } from '../store/store.js';
import { coversNamespace, homeNamespace, readScope, requireNamespace } from '../auth/roles.js';
import { checkSecretReferences, unknownSecretReferences } from './secret-service.js';
import { auditOf } from './audit.js';
import type { ServiceDeps } from './deps.js';
import { publishRun, statusBeforeCancel } from './run-events.js';
import { payloadDigest, requireTaskWrite } from './shell-guard.js';
import type { QuotaGuard } from './quota-guard.js';
import { requireScope } from '../auth/scopes.js';
import { validateTaskSpec, type SpecChecks } from './task-spec.js';
import { createOutboundGuard } from '../executor/outbound-guard.js';
import { ErrorCollector } from './validation.js';
import { missingChannels } from './notify-channels.js';

/** How a request names a task: a UUID is an id, anything else a name in `namespace`. */
export interface TaskRef {
  idOrName: string;
  /** Namespace of a name (default: the key's home namespace); with an id, it must match. */
  namespace?: string | undefined;
}

/** A new task as the API accepts it. */
export interface TaskCreateInput {
  name: string;
  namespace?: string | undefined;
  description?: string | null | undefined;
  kind: TaskKind;
  spec: unknown;
  schedule?: unknown;
  policies?: unknown;
  payload?: unknown;
}

/** Fields a PATCH may change; absent fields stay as they are, `null` clears a nullable one. */
export interface TaskPatch {
  name?: string | undefined;
  description?: string | null | undefined;
  kind?: TaskKind | undefined;
  spec?: unknown;
  schedule?: unknown;
  policies?: unknown;
  payload?: unknown;
}

/** Filters of a task listing. */
export interface TaskListOptions {
  namespace?: string | undefined;
  status?: TaskStatus | undefined;
  kind?: TaskKind | undefined;
  q?: string | undefined;
  schedule?: ScheduleFilter | undefined;
  sort?: TaskSort | undefined;
  /** Attach each task's last N finished runs (0: none). */
  recentRuns?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A task of a listing, with its recent runs when they were asked for. */
export interface ListedTask extends Task {
  recentRuns?: RecentRun[];
}

/** One change to a task, computed from its current state. */
interface Change {
  next: Task;
  action: string;
  event: 'updated' | 'paused' | 'resumed';
  detail: unknown;
  /** Cancel the pending occurrence with this reason and plan the next from the new definition. */
  replacePending?: string;
}

/** Optimistic-concurrency retries when the caller sent no If-Match (someone else wrote in between). */
const WRITE_ATTEMPTS = 3;

/** Task operations for the API. */
export class TaskService {
  readonly #d: ServiceDeps;
  readonly #checks: SpecChecks;
  readonly #quotas: QuotaGuard;

  constructor(deps: ServiceDeps, quotas: QuotaGuard) {
    this.#d = deps;
    this.#quotas = quotas;
    this.#checks = {
      ...deps,
      shellTasks: deps.config.shellTasks,
      scriptMemoryMaxBytes: deps.config.scriptMemoryMax,
      outboundGuard: createOutboundGuard(deps.config.outboundAllow),
    };
  }

  /** Creates a task and its first pending occurrence in one store call. */
  async create(actor: Actor, input: TaskCreateInput): Promise<Task> {
    const { store, clock, planner } = this.#d;
    const now = clock.now();
    const namespace = input.namespace ?? homeNamespace(actor);
    requireNamespace(actor, namespace);
    requireScope(actor, 'tasks', input.kind);
    if (input.kind === 'script') await this.#checks.loadScriptSyntaxChecker?.();
    const check = new ErrorCollector();
    const spec = check.run(() => validateTaskSpec(input.kind, input.spec, this.#checks, actor));
    const schedule = check.run(() => this.#schedule(input.schedule, now));
    const policies = check.run(() => normalizePolicies(input.policies, DEFAULT_POLICIES));
    check.add(await missingChannels(store, namespace, (input.policies as { notify?: unknown } | undefined)?.notify));
    const memory = this.#quotas.scriptMemoryProblem(namespace, input.kind, spec);
    if (memory !== null) check.add([memory]);
    check.throwIfAny();
    await checkSecretReferences(store, namespace, input.kind, spec);
    await this.#quotas.checkNewTask(namespace);

    const draft: Omit<Task, 'lastRunAt' | 'lastRunStatus' | 'version'> = {
      id: newId(now),
      namespace,
      name: input.name,
      description: input.description ?? null,
      kind: input.kind,
      spec: spec!,
      schedule: schedule ?? null,
      policies: policies!,
      payload: input.payload ?? null,
      status: 'active',
      firedCount: 0,
      nextRunAt: null,
      createdAt: now,
      updatedAt: now,
      createdBy: actor.id,
      updatedBy: actor.id,
    };
    const firstRun = planFirstRun(draft, now, planner);
    const { firedCount: _unused, ...row } = draft;
    const newTask: NewTask = { ...row, nextRunAt: firstRun?.scheduledFor ?? null };
    const audit = auditOf(actor, now, 'task.create', { type: 'task', id: draft.id, namespace }, { name: draft.name, kind: draft.kind });
    const task = await store.createTask(newTask, firstRun, audit);
    this.#d.bus.emit('task:changed', { action: 'created', task, at: now });
    this.#announce(firstRun, now);
    return task;
  }

  /** The task `ref` names, if the key covers its namespace; else `task_not_found`. */
  async get(actor: Actor, ref: TaskRef): Promise<Task> {
    const { store } = this.#d;
    let task: Task | null = null;
    if (isUuid(ref.idOrName)) {
      task = await store.getTask(ref.idOrName.toLowerCase());
    } else {
      const namespace = ref.namespace ?? homeNamespace(actor);
      if (coversNamespace(actor, namespace)) task = await store.getTaskByName(namespace, ref.idOrName);
    }
    // Tasks in namespaces the key does not cover look exactly like missing ones.
    if (task === null || !coversNamespace(actor, task.namespace) || (ref.namespace !== undefined && task.namespace !== ref.namespace)) {
      throw new SundialError('task_not_found', `no task "${ref.idOrName}"${isUuid(ref.idOrName) ? '' : ` in namespace "${ref.namespace ?? homeNamespace(actor)}"`}`);
    }
    return task;
  }

  /** A page of the tasks the key may see; with `recentRuns`, each with its last finished runs. */
  async list(actor: Actor, query: TaskListOptions): Promise<Page<ListedTask>> {
    const namespaces = readScope(actor, query.namespace);
    if (namespaces !== '*' && namespaces.length === 0) return { items: [], nextCursor: null };
    const page = await this.#d.store.listTasks({
      namespaces,
      limit: query.limit,
      ...(query.status !== undefined && { status: query.status }),
      ...(query.kind !== undefined && { kind: query.kind }),
      ...(query.q !== undefined && query.q !== '' && { q: query.q }),
      ...(query.schedule !== undefined && { schedule: query.schedule }),
      ...(query.sort !== undefined && { sort: query.sort }),
      ...(query.cursor !== undefined && { cursor: query.cursor }),
    });
    const perTask = query.recentRuns ?? 0;
    if (perTask <= 0 || page.items.length === 0) return page;
    // Only the page's tasks: one short index read each, whatever the size of their history.
    const recent = await this.#d.store.listRecentRuns(page.items.map((t) => t.id), perTask);
    return { ...page, items: page.items.map((t) => ({ ...t, recentRuns: recent.get(t.id) ?? [] })) };
  }

  /** Applies a PATCH; `expectedVersion` comes from If-Match. */
  async update(actor: Actor, ref: TaskRef, patch: TaskPatch, expectedVersion?: number): Promise<Task> {
    if (patch.kind === 'script' || typeof (patch.spec as { code?: unknown } | undefined)?.code === 'string') await this.#checks.loadScriptSyntaxChecker?.();
    // Channels are looked up before the change (it is synchronous); only patches with rules pay for it.
    const notify = (patch.policies as { notify?: unknown } | undefined)?.notify;
    const unknownChannels = Array.isArray(notify) ? await missingChannels(this.#d.store, (await this.get(actor, ref)).namespace, notify) : [];
    // Secret references are looked up before the change too, against the spec the patch sets.
    const before = patch.spec === undefined ? null : await this.get(actor, ref);
    const unknownSecrets = before === null ? null : await unknownSecretReferences(this.#d.store, before.namespace, patch.kind ?? before.kind, patch.spec);
    return this.#change(actor, ref, expectedVersion, (current, now) => {
      requireTaskWrite(actor, current.kind, 'change');
      const next: Task = { ...current };
      const check = new ErrorCollector();
      if (patch.name !== undefined) next.name = patch.name;
      if (patch.description !== undefined) next.description = patch.description;
      if (patch.kind !== undefined || patch.spec !== undefined) {
        const kind = patch.kind ?? current.kind;
        // A key scoped to some kinds may not turn a task into another kind either.
        requireScope(actor, 'tasks', kind);
        if (kind !== current.kind && patch.spec === undefined) {
          check.add([{ path: '/spec', message: `is required when kind changes (from ${current.kind} to ${kind})` }]);
        } else {
          const spec = check.run(() => validateTaskSpec(kind, patch.spec ?? current.spec, this.#checks, actor));
          const memory = this.#quotas.scriptMemoryProblem(current.namespace, kind, spec);
          if (memory !== null) check.add([memory]);
          if (spec !== undefined) Object.assign(next, { kind, spec });
        }
      }
      let scheduleChanged = false;
      if (patch.schedule !== undefined) {
        const schedule = check.run(() => this.#schedule(patch.schedule, now));
        next.schedule = schedule ?? null;
        scheduleChanged = true;
      }
      if (patch.policies !== undefined) {
        const policies = check.run(() => normalizePolicies(patch.policies, current.policies));
        if (policies !== undefined) next.policies = policies;
        check.add(unknownChannels);
      }
      if (patch.payload !== undefined) next.payload = patch.payload;
      check.throwIfAny();
      if (unknownSecrets !== null) throw unknownSecrets;
      const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
      if (fields.length === 0) return null;
      return {
        next,
        action: 'task.update',
        event: 'updated',
        detail: { fields, ...(patch.payload !== undefined && payloadDigest(patch.payload)) },
        ...(scheduleChanged && { replacePending: 'rescheduled' }),
      };
    });
  }

  /** Sets (or, with null, removes) the task's recurrence and replaces its pending occurrence. */
  async setSchedule(actor: Actor, ref: TaskRef, scheduleInput: unknown): Promise<Task> {
    return this.#change(actor, ref, undefined, (current, now) => {
      requireTaskWrite(actor, current.kind, 'schedule');
      return {
        next: { ...current, schedule: this.#schedule(scheduleInput, now) },
        action: 'task.schedule',
        event: 'updated',
        detail: { schedule: scheduleInput },
        replacePending: 'rescheduled',
      };
    });
  }

  /** Pauses a task: its pending schedule occurrence is cancelled (reason `paused`). */
  async pause(actor: Actor, ref: TaskRef): Promise<Task> {
    return this.#change(actor, ref, undefined, (current) => {
      requireTaskWrite(actor, current.kind, 'pause');
      return current.status === 'paused'
        ? null
        : { next: { ...current, status: 'paused' }, action: 'task.pause', event: 'paused', detail: {}, replacePending: 'paused' };
    });
  }

  /** Resumes a task: the next occurrence is planned from now. */
  async resume(actor: Actor, ref: TaskRef): Promise<Task> {
    return this.#change(actor, ref, undefined, (current) => {
      requireTaskWrite(actor, current.kind, 'resume');
      return current.status === 'active'
        ? null
        : { next: { ...current, status: 'active' }, action: 'task.resume', event: 'resumed', detail: {}, replacePending: 'resumed' };
    });
  }

  /** Deletes a task: unstarted runs are cancelled, running ones stopped. */
  async delete(actor: Actor, ref: TaskRef): Promise<void> {
    const { store, clock, scheduler, bus } = this.#d;
    const task = await this.get(actor, ref);
    requireTaskWrite(actor, task.kind, 'delete');
    const now = clock.now();
    const target = { type: 'task', id: task.id, namespace: task.namespace } as const;
    const outcome = await store.deleteTask(task.id, now, auditOf(actor, now, 'task.delete', target, { name: task.name }));
    for (const run of outcome.cancelled) {
      scheduler.forget(run.id);
      publishRun(bus, run, statusBeforeCancel(run), now);
    }
    // The store recorded a cancel request for each; a run held by another node stops when its
    // holder polls, one held here stops now.
    for (const run of outcome.running) scheduler.cancelRunning(run.id);
    bus.emit('task:changed', { action: 'deleted', task: outcome.task, at: now });
  }

  /** Validates and anchors a schedule from the API (null and undefined mean none). */
  #schedule(input: unknown, now: Millis): Schedule | null {
    if (input === undefined || input === null) return null;
    return anchorSchedule(validateSchedule(input, '/schedule'), now);
  }

  /**
   * Reads the task, computes a change and writes it under the version it read. Without If-Match
   * a concurrent writer only costs a retry; with it, the caller's version decides (412).
   */
  async #change(actor: Actor, ref: TaskRef, expectedVersion: number | undefined, build: (current: Task, now: Millis) => Change | null): Promise<Task> {
    const { store, clock, planner, bus } = this.#d;
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(actor, ref);
      if (expectedVersion !== undefined && current.version !== expectedVersion) {
        throw new SundialError('version_mismatch', `the task is at version ${current.version}, not ${expectedVersion}; read it again`, {
          extra: { currentVersion: current.version },
        });
      }
      const now = clock.now();
      const change = build(current, now);
      if (change === null) return current;
      const next: Task = { ...change.next, updatedAt: now, updatedBy: actor.id };
      let nextRun: NewRun | null = null;
      let replaced: Run[] = [];
      // A new schedule starts a new count of fired occurrences (maxRuns, and a once schedule
      // that already fired can be given a new time).
      const resetFiredCount = change.replacePending === 'rescheduled';
      if (resetFiredCount) next.firedCount = 0;
      if (change.replacePending !== undefined) {
        nextRun = planFirstRun(next, now, planner);
        next.nextRunAt = nextRun?.scheduledFor ?? null;
        replaced = await this.#pendingOccurrences(current);
      }
      const audit = auditOf(actor, now, change.action, { type: 'task', id: current.id, namespace: current.namespace }, change.detail);
      let saved: Task;
      try {
        saved = await store.updateTask(next, {
          expectedVersion: current.version,
          audit,
          ...(change.replacePending !== undefined && { replacePending: { reason: change.replacePending, nextRun, now, resetFiredCount } }),
        });
      } catch (err) {
        if (expectedVersion === undefined && attempt < WRITE_ATTEMPTS && err instanceof SundialError && err.code === 'version_mismatch') continue;
        throw err;
      }
      bus.emit('task:changed', { action: change.event, task: saved, at: now });
      await this.#settleReplaced(replaced, now);
      this.#announce(nextRun, now);
      return saved;
    }
  }

  /** The task's pending schedule occurrences (the ones `replacePending` may cancel). */
  async #pendingOccurrences(task: Task): Promise<Run[]> {
    if (task.nextRunAt === null) return [];
    const page = await this.#d.store.listRuns({ namespaces: [task.namespace], taskId: task.id, status: ['scheduled', 'queued'], limit: 20 });
    return page.items.filter((r) => r.trigger === 'schedule');
  }

  /** After a replace: drops cancelled occurrences from the timer heap and publishes them. */
  async #settleReplaced(before: Run[], now: Millis): Promise<void> {
    const { store, scheduler, bus } = this.#d;
    for (const old of before) {
      const run = await store.getRun(old.id);
      if (run === null || run.status !== 'cancelled') continue;
      scheduler.forget(run.id);
      publishRun(bus, run, old.status, now);
    }
  }

  /** Tells the scheduler and the bus about a newly planned occurrence. */
  #announce(run: NewRun | null, now: Millis): void {
    if (run === null) return;
    publishRun(this.#d.bus, run, null, now);
    this.#d.scheduler.wake(run.scheduledFor);
  }
}
