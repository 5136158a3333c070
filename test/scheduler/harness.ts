// An in-process scheduler on a real SQLite store with a scripted executor, for dispatcher tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/core/clock.js';
import { systemClock } from '../../src/core/clock.js';
import { EventBus, type RunTransition } from '../../src/core/events.js';
import { newId } from '../../src/core/ids.js';
import { planFirstRun, type PlannerOptions } from '../../src/core/planner.js';
import { DEFAULT_POLICIES } from '../../src/core/policies.js';
import type { Policies, Run, Schedule, Task } from '../../src/core/types.js';
import type { Executor, RunJob, RunOutcome } from '../../src/executor/executor.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewRun, Store } from '../../src/store/store.js';

/** How the scripted executor ends a job: an outcome, or 'hold' to keep it running until released. */
export type Script = (job: RunJob) => Partial<RunOutcome> | 'hold';

/** An executor whose behaviour each test scripts, recording every job and abort. */
export class ScriptedExecutor implements Executor {
  readonly jobs: RunJob[] = [];
  readonly aborted: string[] = [];
  /** [kind, whether a job of it had been executed by then] per prepare() call. */
  readonly prepared: [string, boolean][] = [];
  /** Every start and end of a job, in the order they happened (an immediate outcome ends at once). */
  readonly timeline: { event: 'start' | 'end'; job: RunJob }[] = [];
  readonly #held = new Map<string, (o: Partial<RunOutcome>) => void>();
  readonly #cancels = new Map<string, () => void>();
  readonly #executing = new Map<string, RunJob>();
  readonly #startWaiters: { pred: (job: RunJob) => boolean; n: number; resolve: () => void }[] = [];
  script: Script = () => ({ status: 'succeeded', result: { ok: true } });

  constructor(private readonly clock: Clock) {}

  prepare(kind: string): void {
    this.prepared.push([kind, this.jobs.length > 0]);
  }

  execute(job: RunJob): Promise<RunOutcome> {
    this.jobs.push(job);
    this.#executing.set(job.runId, job);
    this.timeline.push({ event: 'start', job });
    for (const w of this.#startWaiters.splice(0)) {
      if (this.jobs.filter(w.pred).length >= w.n) w.resolve();
      else this.#startWaiters.push(w);
    }
    const done = (o: Partial<RunOutcome>): RunOutcome => ({
      status: 'succeeded',
      logs: [],
      logsTruncated: false,
      cpuMs: null,
      peakRssBytes: null,
      diskWriteBytes: null,
      finishedAt: this.clock.now(),
      ...o,
    });
    const s = this.script(job);
    if (s !== 'hold') {
      this.#ended(job);
      return Promise.resolve(done(s));
    }
    return new Promise((resolve) => {
      this.#held.set(job.runId, (o) => {
        this.#cancels.delete(job.runId);
        this.#ended(job);
        resolve(done(o));
      });
      this.#cancels.set(job.runId, () => {
        this.aborted.push(job.runId);
        this.#held.delete(job.runId);
        this.#cancels.delete(job.runId);
        this.#ended(job);
        resolve(done({ status: 'cancelled' }));
      });
    });
  }

  cancel(runId: string): boolean {
    const c = this.#cancels.get(runId);
    c?.();
    return c !== undefined;
  }

  /** Ends a held job. */
  release(runId: string, outcome: Partial<RunOutcome> = { status: 'succeeded' }): void {
    const r = this.#held.get(runId);
    if (!r) throw new Error(`run ${runId} is not held`);
    this.#held.delete(runId);
    r(outcome);
  }

  get heldIds(): string[] {
    return [...this.#held.keys()];
  }

  /** Resolves once `n` jobs in total have started. */
  started(n: number): Promise<void> {
    return this.startedWhere(() => true, n);
  }

  /** Resolves once `n` jobs matching `pred` have started (counting earlier ones). */
  startedWhere(pred: (job: RunJob) => boolean, n: number): Promise<void> {
    if (this.jobs.filter(pred).length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#startWaiters.push({ pred, n, resolve }));
  }

  /** Jobs started and not yet ended, in start order. */
  get executing(): RunJob[] {
    return [...this.#executing.values()];
  }

  /** The most jobs matching `pred` that were executing at one time, from the timeline. */
  peak(pred: (job: RunJob) => boolean = () => true): number {
    let now = 0;
    let max = 0;
    for (const { event, job } of this.timeline) {
      if (!pred(job)) continue;
      now += event === 'start' ? 1 : -1;
      max = Math.max(max, now);
    }
    return max;
  }

  #ended(job: RunJob): void {
    this.#executing.delete(job.runId);
    this.timeline.push({ event: 'end', job });
  }

  async close(): Promise<void> {}
}

export interface Harness {
  store: Store;
  bus: EventBus;
  executor: ScriptedExecutor;
  scheduler: Scheduler;
  planner: PlannerOptions;
  transitions: RunTransition[];
  dir: string;
  /** Creates a task (and its first occurrence) directly in the store. */
  createTask(opts: { name?: string; schedule?: Schedule | null; policies?: Partial<Policies>; now?: number }): Promise<Task>;
  /** Inserts a manual run due at `at`. */
  addRun(task: Task, at: number, extra?: Partial<NewRun>): Promise<Run>;
  /** Resolves when a transition matching `pred` has been published (looking at past ones too). */
  waitFor(pred: (t: RunTransition) => boolean, count?: number): Promise<RunTransition[]>;
  close(): Promise<void>;
}

/** Builds a scheduler on a fresh SQLite store in a temp dir. */
export async function createHarness(
  opts: { clock?: Clock; maxConcurrentRuns?: number; lookaheadMs?: number; pollIntervalMs?: number; claimBatch?: number } = {},
): Promise<Harness> {
  const clock = opts.clock ?? systemClock;
  const dir = mkdtempSync(join(tmpdir(), 'sundial-sched-'));
  const store = await openSqliteStore({ dir });
  await store.migrate();
  const bus = new EventBus();
  const executor = new ScriptedExecutor(clock);
  const planner: PlannerOptions = { misfireThresholdMs: 5000, newId, random: () => 0 };
  const transitions: RunTransition[] = [];
  const waiters: { pred: (t: RunTransition) => boolean; count: number; resolve: (t: RunTransition[]) => void }[] = [];
  bus.on('run:transition', (t) => {
    transitions.push(t);
    for (const w of waiters.splice(0)) {
      const hits = transitions.filter(w.pred);
      if (hits.length >= w.count) w.resolve(hits);
      else waiters.push(w);
    }
  });
  const scheduler = new Scheduler(
    {
      node: 'test-node',
      lookaheadMs: opts.lookaheadMs ?? 1000,
      pollIntervalMs: opts.pollIntervalMs ?? 50,
      claimBatch: opts.claimBatch ?? 1000,
      leaseMs: 30_000,
      maxConcurrentRuns: opts.maxConcurrentRuns ?? 1000,
      executor: true,
      sweeper: true,
    },
    { store, executor, clock, bus, planner },
  );
  let n = 0;
  return {
    store,
    bus,
    executor,
    scheduler,
    planner,
    transitions,
    dir,
    async createTask({ name, schedule = null, policies = {}, now = clock.now() }) {
      const id = newId(now);
      const task = {
        id,
        namespace: 'default',
        name: name ?? `task-${++n}`,
        description: null,
        kind: 'module' as const,
        spec: { file: 'noop.mjs' },
        schedule,
        policies: { ...DEFAULT_POLICIES, ...policies },
        payload: null,
        status: 'active' as const,
        firedCount: 0,
        nextRunAt: null,
        createdAt: now,
        updatedAt: now,
        createdBy: 'test',
        updatedBy: 'test',
      };
      const first = planFirstRun({ ...task }, now, planner);
      return store.createTask({ ...task, nextRunAt: first?.scheduledFor ?? null }, first, {
        namespace: 'default', at: now, actor: 'test', ip: null, action: 'task.create', targetType: 'task', targetId: id,
      });
    },
    async addRun(task, at, extra = {}) {
      const id = newId(clock.now());
      const { run } = await store.createRun(
        {
          id,
          namespace: task.namespace,
          taskId: task.id,
          taskName: task.name,
          status: 'scheduled',
          attempt: 1,
          retryOf: null,
          trigger: 'manual',
          occurrenceAt: null,
          scheduledFor: at,
          priority: task.policies.priority,
          payload: null,
          idempotencyKey: id,
          createdAt: clock.now(),
          createdBy: 'test',
          ...extra,
        },
        null,
      );
      scheduler.dispatcher.wake(at);
      return run;
    },
    waitFor(pred, count = 1) {
      const hits = transitions.filter(pred);
      if (hits.length >= count) return Promise.resolve(hits);
      return new Promise((resolve) => waiters.push({ pred, count, resolve }));
    },
    async close() {
      await scheduler.stop(0);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
