// Runs as the API sees them: start one now (idempotently), put one on the calendar, move or
// cancel a pending one, and read runs and their logs within the caller's namespaces.

import { isDeepStrictEqual } from 'node:util';
import { SundialError, invalid } from '../core/errors.js';
import { isUuid, newId } from '../core/ids.js';
import type { Actor, LogLine, Millis, ResourceSample, Run, RunStatus, RunTrigger, Task } from '../core/types.js';
import type { NewRun, Page } from '../store/store.js';
import { coversNamespace, readScope } from '../auth/roles.js';
import { auditOf } from './audit.js';
import type { ServiceDeps } from './deps.js';
import { publishRun } from './run-events.js';
import type { QuotaGuard } from './quota-guard.js';
import { payloadDigest, requireShellAdmin, requireTaskWrite } from './shell-guard.js';
import type { TaskRef, TaskService } from './task-service.js';

/** A manual run request. */
export interface RunRequest {
  /** Overrides the task's payload for this run. */
  payload?: unknown;
  /** A repeated key returns the run it first created instead of starting another. */
  idempotencyKey?: string | undefined;
}

/** Filters of a run listing. */
export interface RunListOptions {
  /** Task id or name. */
  task?: string | undefined;
  namespace?: string | undefined;
  status?: RunStatus[] | undefined;
  from?: Millis | undefined;
  to?: Millis | undefined;
  /** By due time: `desc` (default) newest first, `asc` oldest first. */
  order?: 'asc' | 'desc' | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Run operations for the API. */
export class RunService {
  readonly #d: ServiceDeps;
  readonly #tasks: TaskService;
  readonly #quotas: QuotaGuard;

  constructor(deps: ServiceDeps, tasks: TaskService, quotas: QuotaGuard) {
    this.#d = deps;
    this.#tasks = tasks;
    this.#quotas = quotas;
  }

  /**
   * Starts a run of the task now (trigger `manual`). A repeated idempotency key returns the
   * first run (`created: false`); the same key with a different payload is a conflict.
   */
  async trigger(actor: Actor, ref: TaskRef, req: RunRequest): Promise<{ run: Run; created: boolean }> {
    const task = await this.#tasks.get(actor, ref);
    requireTaskWrite(actor, task.kind, 'run');
    // Schedule occurrences use `<taskId>:<occurrence ms>` as their key; a manual run holding one
    // would make the planner's insert of that occurrence a no-op, silently skipping it.
    if (req.idempotencyKey !== undefined && req.idempotencyKey.startsWith(`${task.id}:`)) {
      throw invalid([{ path: '/idempotencyKey', message: `keys starting with "${task.id}:" are reserved for schedule occurrences` }]);
    }
    const now = this.#d.clock.now();
    this.#quotas.takeRun(task.namespace, now);
    const payload = req.payload !== undefined ? req.payload : task.payload;
    const draft = this.#draft(actor, task, 'manual', now, now, payload, req.idempotencyKey);
    const audit = auditOf(actor, now, 'run.create', { type: 'run', id: draft.id, namespace: task.namespace }, {
      taskId: task.id,
      trigger: 'manual',
      ...(req.idempotencyKey !== undefined && { idempotencyKey: req.idempotencyKey }),
      ...(req.payload !== undefined && payloadDigest(req.payload)),
    });
    const { run, created } = await this.#d.store.createRun(draft, audit);
    if (!created) {
      if (!isDeepStrictEqual(run.payload, payload)) {
        throw new SundialError('idempotency_conflict', `idempotency key "${draft.idempotencyKey}" was first used with a different payload (run ${run.id})`, {
          extra: { runId: run.id },
        });
      }
      return { run, created };
    }
    this.#announce(run, now);
    return { run, created };
  }

  /** Puts one run of the task on the calendar at `at` (trigger `api`). */
  async scheduleOnce(actor: Actor, ref: TaskRef, at: Millis): Promise<Run> {
    const task = await this.#tasks.get(actor, ref);
    requireTaskWrite(actor, task.kind, 'schedule');
    const now = this.#d.clock.now();
    this.#quotas.takeRun(task.namespace, now);
    const draft = this.#draft(actor, task, 'api', now, at, task.payload, undefined);
    const audit = auditOf(actor, now, 'run.create', { type: 'run', id: draft.id, namespace: task.namespace }, {
      taskId: task.id,
      trigger: 'api',
      at: new Date(at).toISOString(),
    });
    const { run } = await this.#d.store.createRun(draft, audit);
    this.#announce(run, now);
    return run;
  }

  /** The run, if the key covers its namespace; else `run_not_found`. */
  async get(actor: Actor, id: string): Promise<Run> {
    const run = isUuid(id) ? await this.#d.store.getRun(id.toLowerCase()) : null;
    if (run === null || !coversNamespace(actor, run.namespace)) throw new SundialError('run_not_found', `no run "${id}"`);
    return run;
  }

  /** A page of the runs the key may see. */
  async list(actor: Actor, query: RunListOptions): Promise<Page<Run>> {
    const taskId = query.task === undefined ? undefined : (await this.#tasks.get(actor, { idOrName: query.task, namespace: query.namespace })).id;
    const namespaces = readScope(actor, query.namespace);
    if (namespaces !== '*' && namespaces.length === 0) return { items: [], nextCursor: null };
    return this.#d.store.listRuns({
      namespaces,
      limit: query.limit,
      ...(taskId !== undefined && { taskId }),
      ...(query.status !== undefined && { status: query.status }),
      ...(query.from !== undefined && { from: query.from }),
      ...(query.to !== undefined && { to: query.to }),
      ...(query.order !== undefined && { order: query.order }),
      ...(query.cursor !== undefined && { cursor: query.cursor }),
    });
  }

  /** The run's log lines so far. */
  async logs(actor: Actor, id: string): Promise<LogLine[]> {
    const run = await this.get(actor, id);
    return this.#d.store.getRunLogs(run.id);
  }

  /** The run's resource samples (a time series of long runs). */
  async samples(actor: Actor, id: string): Promise<{ run: Run; samples: ResourceSample[] }> {
    const run = await this.get(actor, id);
    return { run, samples: await this.#d.store.getRunSamples(run.id) };
  }

  /** Moves a scheduled or queued run to `at` (409 otherwise). */
  async reschedule(actor: Actor, id: string, at: Millis): Promise<Run> {
    const { store, clock, scheduler, bus } = this.#d;
    const before = await this.get(actor, id);
    await this.#requireShellAdminFor(actor, before, 'reschedule runs of');
    const now = clock.now();
    const audit = auditOf(actor, now, 'run.reschedule', { type: 'run', id: before.id, namespace: before.namespace }, {
      from: new Date(before.scheduledFor).toISOString(),
      to: new Date(at).toISOString(),
    });
    const run = await store.rescheduleRun(before.id, at, now, audit);
    // A queued run sits in this node's timer heap at its old time.
    scheduler.forget(run.id);
    publishRun(bus, run, before.status, now);
    scheduler.wake(run.scheduledFor);
    return run;
  }

  /** Cancels a run; a running one is stopped by whichever node holds it. */
  async cancel(actor: Actor, id: string): Promise<Run> {
    const { store, clock, scheduler, bus } = this.#d;
    const before = await this.get(actor, id);
    const now = clock.now();
    const audit = auditOf(actor, now, 'run.cancel', { type: 'run', id: before.id, namespace: before.namespace }, { status: before.status });
    const { run, previousStatus } = await store.requestCancel(before.id, now, audit);
    if (previousStatus === 'running') {
      // False when another node holds it; that node sees the request when it polls.
      scheduler.cancelRunning(run.id);
    } else {
      scheduler.forget(run.id);
      publishRun(bus, run, previousStatus, now);
    }
    return run;
  }

  /** The shell rule for a change to an existing run: the run carries no kind, its task does. */
  async #requireShellAdminFor(actor: Actor, run: Run, what: string): Promise<void> {
    if (actor.role === 'admin') return;
    const task = await this.#d.store.getTask(run.taskId);
    // A deleted task's runs were cancelled with it; nothing is left to protect.
    if (task !== null) requireShellAdmin(actor, task.kind, what);
  }

  #draft(actor: Actor, task: Task, trigger: RunTrigger, now: Millis, at: Millis, payload: unknown, key: string | undefined): NewRun {
    const id = newId(now);
    return {
      id,
      namespace: task.namespace,
      taskId: task.id,
      taskName: task.name,
      status: 'scheduled',
      attempt: 1,
      retryOf: null,
      trigger,
      occurrenceAt: null,
      scheduledFor: at,
      priority: task.policies.priority,
      payload,
      // Without a key from the caller the run's own id serves: unique, and handed to targets.
      idempotencyKey: key ?? id,
      createdAt: now,
      createdBy: actor.id,
    };
  }

  #announce(run: Run, now: Millis): void {
    publishRun(this.#d.bus, run, null, now);
    this.#d.scheduler.wake(run.scheduledFor);
  }
}
