// The dispatcher: the hot path from "due" to "running".
//
// 1. A claim loop takes due-soon runs from the store (scheduledFor <= now + lookahead) in
//    batches; the store plans each schedule occurrence's successor in the same transaction.
// 2. Claimed runs wait in a timer heap; one timer is armed for the earliest and never for more
//    than a second, so a wall-clock jump or a schedule months away cannot stall or overflow it.
// 3. When a run is due it passes admission: the overlap policy (schedule occurrences only), the
//    per-task / per-key concurrency cap, then the node's slot cap. Runs that must wait stay in
//    memory, held under this node's lease (renewed by heartbeat).
// 4. Starting a run is written (group commit) before the executor sees it, so a run that was
//    cancelled or rescheduled after the claim can never start: its stale epoch is refused.
// 5. Outcomes and retries are written in batches by the TransitionWriter.
//
// On a database other nodes share (store.capabilities.shared) three things change:
// - Admission also holds across nodes: each start carries a guard (overlap, concurrency cap) that
//   the store checks under a lock; a refused start waits here and is tried again each poll.
// - `cancel_other` also asks the other nodes to stop their runs of the task.
// - Self-fencing: a node that cannot renew its leases in time (database away, a long pause) stops
//   its runs before the lease ends, since another node may take them over after it; it writes no
//   outcome for them, and when the database answers again it hands them back through the
//   recovery path (failed `lost` with a retry per policy, or released), fenced by their epochs.
//
// Background loops never throw: failures are published as `scheduler:error` and retried.

import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { planRetry, type PlannerOptions } from '../core/planner.js';
import { transitionEvent } from '../core/transition-event.js';
import type { Millis, Run, RunError, Task, TaskKind } from '../core/types.js';
import type { Executor, RunJob, RunOutcome } from '../executor/executor.js';
import type { ClaimedRun, HeldLease, PlanOccurrence, StartGuard, Store } from '../store/store.js';
import type { SchedulerControl } from './scheduler-control.js';
import { TimerHeap, type HeapEntry } from './timer-heap.js';
import { TransitionWriter } from './transition-writer.js';

export interface DispatcherOptions {
  node: string;
  lookaheadMs: number;
  pollIntervalMs: number;
  claimBatch: number;
  leaseMs: number;
  maxConcurrentRuns: number;
  /**
   * Most claimed-but-not-started runs held in memory (default: the larger of 10,000 and twice
   * maxConcurrentRuns). At the cap the claim loop waits until half have started: claiming a
   * backlog of 200,000 due runs into memory at once only feeds the garbage collector.
   */
  maxHeld?: number;
}

export interface DispatcherDeps {
  store: Store;
  /** The other nodes, told to stop runs of theirs (cancel_other); absent on a single node. */
  peers?: { cancel(runIds: readonly string[]): void };
  executor: Executor;
  clock: Clock;
  bus: EventBus;
  plan: PlanOccurrence;
  planner: PlannerOptions;
}

interface Entry extends HeapEntry {
  claimed: ClaimedRun;
}

interface Running {
  entry: Entry;
  startedAt: Millis;
  /** Why it was stopped: `cancelled` (a person), `overlap` (cancel_other), `drain` (shutdown). */
  abortReason: string | null;
  /** Whether the executor has the run (a stop before that is handled by the dispatcher). */
  executing: boolean;
}

/** The longest a timer sleeps before re-reading the wall clock. */
const MAX_TIMER_MS = 1000;
/** A timer that fires this much later than asked is reported as overdue. */
const OVERDUE_MS = 100;

const LOST: RunError = { code: 'lost', message: 'the node running this run stopped before it finished' };

/**
 * How long before its lease ends a node that could not renew it stops its runs: enough for a
 * cancelled run to abort and, failing that, for its worker to be killed (2 s kill grace).
 */
export function fenceMarginMs(leaseMs: number): number {
  return Math.min(Math.max(leaseMs / 4, 3000), leaseMs / 2);
}

/** Claims due runs, fires them on time, enforces overlap and concurrency, records outcomes. */
export class Dispatcher implements SchedulerControl {
  readonly #o: Required<DispatcherOptions>;
  readonly #d: DispatcherDeps;
  readonly #writer: TransitionWriter;
  readonly #heap = new TimerHeap<Entry>();
  /** Every claimed run not yet started, wherever it waits; an entry not in here is dropped. */
  readonly #held = new Map<string, Entry>();
  readonly #running = new Map<string, Running>();
  readonly #runningByKey = new Map<string, number>();
  /**
   * Runs of each task past the overlap check: running, or admitted and waiting for a key or a
   * node slot. The overlap policy counts both, or two occurrences that both waited would start
   * together. Ids of runs dropped while waiting (cancelled, rescheduled) are pruned on read.
   */
  readonly #activeByTask = new Map<string, Set<string>>();
  /** Overlap buffers (buffer_one / buffer_all), per task. */
  readonly #buffered = new Map<string, Entry[]>();
  /**
   * Node slots promised to the runs the claim in flight starts (ClaimOptions.startDue): counted
   * as taken until the claim returns, so nothing else fills them meanwhile.
   */
  #claimStarting = 0;
  /** Runs waiting for their concurrency key to have room. */
  readonly #waitingForKey = new Map<string, Entry[]>();
  /** Runs waiting for a node slot, in due/priority order. */
  readonly #ready = new TimerHeap<Entry>();
  #seq = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #wakeRequested = false;
  #sleepResolve: (() => void) | null = null;
  #sleepTimer: NodeJS.Timeout | null = null;
  #released: { runId: string; leaseEpoch: number }[] = [];
  /** The claim loop is waiting for held runs to start (see maxHeld). */
  #claimBlocked = false;
  #idleWaiters: (() => void)[] = [];
  /** Other nodes share the database: starts carry guards, leases must be renewed in time. */
  readonly #shared: boolean;
  /** Runs whose start a guard refused (another node runs the task or fills the key); retried each poll. */
  #blocked: Entry[] = [];
  #blockedTimer: NodeJS.Timeout | null = null;
  /** When the last lease renewal that succeeded was sent (leases run from then at the latest). */
  #renewedAt: Millis;
  #fenced = false;
  /** Runs stopped or dropped by fencing, to hand back once the database answers. */
  #fencedRuns: ClaimedRun[] = [];

  constructor(opts: DispatcherOptions, deps: DispatcherDeps) {
    this.#o = { maxHeld: Math.max(10_000, 2 * opts.maxConcurrentRuns), ...opts };
    this.#d = deps;
    this.#writer = new TransitionWriter(deps.store, deps.bus, deps.clock);
    this.#shared = deps.store.capabilities.shared;
    this.#renewedAt = deps.clock.now();
  }

  /** True while this node has fenced itself (it holds no runs and claims none). */
  get fenced(): boolean {
    return this.#fenced;
  }

  /** Starts the claim loop. */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#claimLoop();
  }

  /** Runs claimed but not started, and running, on this node. */
  get load(): { held: number; running: number; pendingWrites: number } {
    return { held: this.#held.size, running: this.#running.size, pendingWrites: this.#writer.pending };
  }

  // ---- SchedulerControl ----

  wake(dueAt: Millis): void {
    if (dueAt > this.#d.clock.now() + this.#o.lookaheadMs) return;
    this.#wakeRequested = true;
    this.#interruptSleep();
  }

  cancelRunning(runId: string): boolean {
    const r = this.#running.get(runId);
    if (!r) {
      this.forget(runId);
      return false;
    }
    this.#stopRun(r, 'cancelled');
    return true;
  }

  forget(runId: string): void {
    if (this.#held.delete(runId)) this.#heldShrank();
  }

  #stopRun(r: Running, reason: string): void {
    r.abortReason ??= reason;
    if (r.executing) this.#d.executor.cancel(r.entry.claimed.run.id);
  }

  /** Lets a claim loop blocked on maxHeld go on once half the held runs have started. */
  #heldShrank(): void {
    if (this.#claimBlocked && this.#held.size <= this.#o.maxHeld / 2) {
      this.#claimBlocked = false;
      this.#interruptSleep();
    }
  }

  // ---- the claim loop ----

  async #claimLoop(): Promise<void> {
    while (!this.#stopping) {
      this.#wakeRequested = false;
      const room = this.#o.maxHeld - this.#held.size;
      let claimedCount = 0;
      let limit = 0;
      if (this.#fenced) {
        // Nothing is claimed until the database has renewed this node's leases again.
        await this.#sleep(this.#o.pollIntervalMs);
        continue;
      }
      if (room > 0) {
        limit = Math.min(this.#o.claimBatch, room);
        try {
          const now = this.#d.clock.now();
          const leaseUntil = now + this.#o.leaseMs;
          const claimed = await this.#d.store.claimDueRuns({
            node: this.#o.node,
            now,
            horizon: now + this.#o.lookaheadMs,
            limit,
            leaseUntil,
            plan: this.#d.plan,
            startDue: this.#chooseClaimStarts,
          });
          claimedCount = claimed.length;
          if (claimedCount > 0) {
            // A claim that came back after the fence went up, or so late that its lease is
            // already inside the fence margin (the database answered after a long stall), is
            // not held: another node may take these runs over before this one could renew them.
            if (this.#fenced || (this.#shared && this.#d.clock.now() >= leaseUntil - fenceMarginMs(this.#o.leaseMs))) this.#handBack(claimed, now);
            else this.#accept(claimed, now);
          }
        } catch (err) {
          this.#d.bus.emit('scheduler:error', { where: 'claim', error: coerceError(err) });
        } finally {
          // The runs the claim started are in #running now (or were handed back): their promised
          // slots are released, and runs that waited for a slot meanwhile go on.
          this.#claimStarting = 0;
          this.#pumpReady();
        }
      }
      if (this.#stopping) break;
      if (room <= 0) {
        // Full: wait for held runs to start (#heldShrank), with the poll as a safety net.
        this.#claimBlocked = true;
        await this.#sleep(this.#o.pollIntervalMs);
        continue;
      }
      // A full batch means more is due: claim again at once. Otherwise sleep until the poll
      // interval passes or something wakes us (a run created or rescheduled to be due soon).
      if (claimedCount >= limit) continue;
      if (!this.#wakeRequested) await this.#sleep(this.#o.pollIntervalMs);
    }
  }

  /**
   * Chooses the claimed runs that start in the claim's own write (ClaimOptions.startDue): due
   * now, with nothing for admission to check (see startableOnClaim), while this node has free
   * slots. The store calls it once per attempt, so each call replaces the last one's promise.
   */
  readonly #chooseClaimStarts = (due: readonly ClaimedRun[]): ReadonlySet<ClaimedRun> => {
    this.#claimStarting = 0;
    const chosen = new Set<ClaimedRun>();
    if (this.#fenced || this.#stopping) return chosen;
    // Runs already waiting for a slot come first.
    let free = this.#o.maxConcurrentRuns - this.#running.size - this.#ready.size;
    for (const c of due) {
      if (free <= 0) break;
      if (!startableOnClaim(c.run, c.task)) continue;
      chosen.add(c);
      free--;
    }
    this.#claimStarting = chosen.size;
    return chosen;
  };

  #accept(claimed: ClaimedRun[], now: Millis): void {
    const publish = this.#d.bus.has('run:transition');
    let prepared: TaskKind | null = null;
    for (const c of claimed) {
      if (publish) this.#publishClaim(c.run, now);
      if (c.run.status === 'skipped') continue;
      if (c.task.kind !== prepared) {
        prepared = c.task.kind;
        this.#d.executor.prepare?.(prepared);
      }
      if (c.run.status === 'running') {
        this.#startClaimed(c);
        continue;
      }
      const entry: Entry = { dueAt: c.run.scheduledFor, priority: c.run.priority, seq: this.#seq++, claimed: c };
      this.#held.set(c.run.id, entry);
      this.#heap.push(entry);
    }
    this.#d.bus.emit('scheduler:claimed', { count: claimed.length, at: now });
    this.#armTimer();
  }

  /**
   * Gives back the runs of a claim this node must not hold (see the claim loop): while fenced
   * they join the fenced runs (released at the unfence), otherwise they are released now.
   */
  #handBack(claimed: ClaimedRun[], now: Millis): void {
    const publish = this.#d.bus.has('run:transition');
    const queued: ClaimedRun[] = [];
    for (const c of claimed) {
      // Skips planned by the claim (misfire) are final already: they are only published.
      if (publish) this.#publishClaim(c.run, now);
      if (c.run.status === 'skipped') continue;
      // A run the claim started never reached the executor: it goes back as one that never ran.
      if (c.run.status === 'running') c.run = { ...c.run, status: 'queued', startedAt: null };
      queued.push(c);
    }
    if (queued.length === 0) return;
    if (this.#fenced) {
      this.#fencedRuns.push(...queued);
      return;
    }
    this.#d.store
      .releaseRuns(this.#o.node, queued.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch })), this.#d.clock.now())
      .catch((err: unknown) => this.#d.bus.emit('scheduler:error', { where: 'release-late-claim', error: coerceError(err) }));
  }

  /**
   * Publishes `scheduled → queued`, or `scheduled → skipped` for a missed occurrence; a run the
   * claim started shows here as `scheduled → queued`, and #startClaimed publishes `queued → running`.
   */
  #publishClaim(run: Run, now: Millis): void {
    const to = run.status === 'running' ? 'queued' : run.status;
    this.#d.bus.emit('run:transition', transitionEvent(run, 'scheduled', now, { to, startedAt: null, errorCode: null }));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#sleepResolve = resolve;
      this.#sleepTimer = setTimeout(() => this.#interruptSleep(), ms);
    });
  }

  #interruptSleep(): void {
    if (this.#sleepTimer) clearTimeout(this.#sleepTimer);
    this.#sleepTimer = null;
    const r = this.#sleepResolve;
    this.#sleepResolve = null;
    r?.();
  }

  // ---- the timer ----

  #armTimer(): void {
    const top = this.#heap.peek();
    if (!top) return;
    if (this.#timer && this.#timerAt <= top.dueAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    const now = this.#d.clock.now();
    const delay = Math.min(Math.max(0, top.dueAt - now), MAX_TIMER_MS);
    this.#timerAt = now + delay;
    this.#timer = setTimeout(() => this.#onTimer(), delay);
  }

  #onTimer(): void {
    this.#timer = null;
    const expected = this.#timerAt;
    this.#timerAt = Infinity;
    const now = this.#d.clock.now();
    if (now - expected > OVERDUE_MS) this.#d.bus.emit('scheduler:tick:overdue', { expectedAt: expected, firedAt: now });
    for (let top = this.#heap.peek(); top && top.dueAt <= now; top = this.#heap.peek()) {
      this.#heap.pop();
      if (this.#held.get(top.claimed.run.id) !== top) continue;
      this.#admit(top, false);
    }
    if (!this.#stopping) this.#armTimer();
  }

  // ---- admission ----

  #admit(entry: Entry, overlapChecked: boolean): void {
    const { run, task } = entry.claimed;
    if (!overlapChecked && run.trigger === 'schedule') {
      const buffered = this.#buffered.get(task.id);
      if (this.#hasOtherActive(task.id, run.id) || (buffered && buffered.length > 0)) {
        switch (task.policies.overlap) {
          case 'skip':
            return this.#skip(entry, 'overlap');
          case 'buffer_one':
            if (buffered && buffered.length >= 1) return this.#skip(entry, 'overlap');
            return this.#push(this.#buffered, task.id, entry);
          case 'buffer_all':
            return this.#push(this.#buffered, task.id, entry);
          case 'cancel_other':
            for (const id of this.#othersActive(task.id, run.id)) {
              const r = this.#running.get(id);
              if (r) this.#stopRun(r, 'overlap');
              else this.#dropWaiting(id);
            }
            break;
          case 'allow_all':
            break;
        }
      }
    }
    let ids = this.#activeByTask.get(task.id);
    if (!ids) this.#activeByTask.set(task.id, (ids = new Set()));
    ids.add(run.id);
    if (this.#shared && run.trigger === 'schedule' && task.policies.overlap === 'cancel_other') this.#cancelOthersElsewhere(run, task);
    const cap = task.policies.concurrency;
    if (cap !== null && (this.#runningByKey.get(concurrencyKey(task)) ?? 0) >= cap) {
      return this.#push(this.#waitingForKey, concurrencyKey(task), entry);
    }
    if (this.#running.size + this.#claimStarting >= this.#o.maxConcurrentRuns) {
      this.#ready.push(entry);
      return;
    }
    this.#start(entry);
  }

  /** cancel_other across the cluster: runs of the task on other nodes are asked to stop. */
  #cancelOthersElsewhere(run: Run, task: Task): void {
    this.#d.store.requestCancelOthers(task.id, run.id, this.#d.clock.now(), this.#o.node).then(
      (ids) => {
        const elsewhere = ids.filter((id) => !this.#running.has(id));
        if (elsewhere.length > 0) this.#d.peers?.cancel(elsewhere);
      },
      (err: unknown) => this.#d.bus.emit('scheduler:error', { where: 'cancel-other', error: coerceError(err) }),
    );
  }

  /** A start the cluster refused: skip it (overlap `skip`) or keep it and try again next poll. */
  #refused(entry: Entry, reason: 'overlap' | 'concurrency'): void {
    const { run, task } = entry.claimed;
    if (reason === 'overlap' && task.policies.overlap === 'skip') return this.#skip(entry, 'overlap');
    if (reason === 'overlap' && task.policies.overlap === 'buffer_one' && this.#blocked.some((e) => e.claimed.task.id === task.id)) {
      return this.#skip(entry, 'overlap');
    }
    this.#held.set(run.id, entry);
    this.#blocked.push(entry);
    if (this.#blockedTimer !== null || this.#stopping) return;
    this.#blockedTimer = setTimeout(() => {
      this.#blockedTimer = null;
      const retry = this.#blocked;
      this.#blocked = [];
      for (const e of retry) if (this.#held.get(e.claimed.run.id) === e && !this.#fenced) this.#admit(e, false);
    }, this.#o.pollIntervalMs);
  }

  #push(map: Map<string, Entry[]>, key: string, entry: Entry): void {
    const list = map.get(key);
    if (list) list.push(entry);
    else map.set(key, [entry]);
  }

  #skip(entry: Entry, reason: string): void {
    const { run } = entry.claimed;
    this.#held.delete(run.id);
    this.#heldShrank();
    this.#writer.complete(
      run,
      { runId: run.id, leaseEpoch: run.leaseEpoch, status: 'skipped', finishedAt: this.#d.clock.now(), reason },
      'queued',
    );
  }

  // ---- running ----

  #start(entry: Entry): void {
    const { run, task } = entry.claimed;
    this.#held.delete(run.id);
    this.#heldShrank();
    const startedAt = this.#d.clock.now();
    const r: Running = { entry, startedAt, abortReason: null, executing: false };
    this.#running.set(run.id, r);
    const key = concurrencyKey(task);
    this.#runningByKey.set(key, (this.#runningByKey.get(key) ?? 0) + 1);

    this.#writer
      .start(run, startedAt, this.#shared ? startGuard(run, task) : undefined)
      .then((verdict) => {
        if (verdict !== 'started') {
          // Cancelled or rescheduled after the claim (stale): it must not run. Refused by a
          // guard: another node runs the task or fills its key.
          this.#release(r);
          if (verdict !== 'stale' && r.abortReason === null) this.#refused(entry, verdict);
          return;
        }
        if (r.abortReason === 'fenced') {
          // Fenced while its start was being written: it never ran, so it is handed back unstarted.
          this.#release(r);
          this.#fencedRuns.push(entry.claimed);
          return;
        }
        if (r.abortReason !== null) {
          // Stopped while its start was being written: it never reaches the executor.
          this.#finish(r, { status: 'cancelled', logs: [], logsTruncated: false, cpuMs: null, peakRssBytes: null, diskWriteBytes: null, finishedAt: this.#d.clock.now() });
          return;
        }
        return this.#execute(r);
      })
      .catch((err: unknown) => this.#crashed(r, err));
  }

  /** A run its claim started (ClaimOptions.startDue): already `running` in the store, it executes now. */
  #startClaimed(claimed: ClaimedRun): void {
    const { run, task } = claimed;
    const startedAt = run.startedAt!;
    const entry: Entry = { dueAt: run.scheduledFor, priority: run.priority, seq: this.#seq++, claimed };
    const r: Running = { entry, startedAt, abortReason: null, executing: false };
    this.#running.set(run.id, r);
    const key = concurrencyKey(task);
    this.#runningByKey.set(key, (this.#runningByKey.get(key) ?? 0) + 1);
    let ids = this.#activeByTask.get(task.id);
    if (!ids) this.#activeByTask.set(task.id, (ids = new Set()));
    ids.add(run.id);
    if (this.#d.bus.has('run:transition')) {
      this.#d.bus.emit('run:transition', transitionEvent(run, 'queued', startedAt, { finishedAt: null, reason: null, errorCode: null }));
    }
    this.#execute(r).catch((err: unknown) => this.#crashed(r, err));
  }

  /** Hands a started run to the executor and records its outcome. */
  #execute(r: Running): Promise<void> {
    const { run, task } = r.entry.claimed;
    const job: RunJob = {
      runId: run.id,
      taskId: task.id,
      taskName: task.name,
      namespace: run.namespace,
      attempt: run.attempt,
      scheduledFor: run.scheduledFor,
      idempotencyKey: run.idempotencyKey,
      kind: task.kind,
      spec: task.spec,
      payload: run.payload,
      timeoutMs: task.policies.timeoutMs,
    };
    r.executing = true;
    return this.#d.executor.execute(job).then((outcome) => this.#finish(r, outcome));
  }

  /**
   * The executor never rejects; this is a bug or a store failure. Records it as a failure of the
   * run rather than leave it hanging.
   */
  #crashed(r: Running, err: unknown): void {
    this.#d.bus.emit('scheduler:error', { where: 'run', error: coerceError(err) });
    this.#finish(r, {
      status: 'failed',
      error: { code: 'internal', message: coerceError(err).message },
      logs: [],
      logsTruncated: false,
      cpuMs: null,
      peakRssBytes: null,
      diskWriteBytes: null,
      finishedAt: this.#d.clock.now(),
    });
  }

  #finish(r: Running, outcome: RunOutcome): void {
    const { run, task } = r.entry.claimed;
    this.#release(r);
    if (r.abortReason === 'drain') {
      // Shutdown outlasted the grace period: give the run back instead of recording an outcome.
      this.#released.push({ runId: run.id, leaseEpoch: run.leaseEpoch });
      return;
    }
    if (r.abortReason === 'fenced') {
      // Its lease may be another node's by now: no outcome is written; see #unfence.
      this.#fencedRuns.push({ run: { ...run, status: 'running', startedAt: r.startedAt }, task });
      return;
    }
    const now = this.#d.clock.now();
    const status = outcome.status;
    const retry =
      status === 'failed' || status === 'timed_out'
        ? planRetry(task, { ...run, status, startedAt: r.startedAt }, now, this.#d.planner)
        : null;
    this.#writer.complete(
      run,
      {
        runId: run.id,
        leaseEpoch: run.leaseEpoch,
        status,
        startedAt: r.startedAt,
        finishedAt: outcome.finishedAt,
        result: outcome.result,
        error: outcome.error ?? null,
        reason: status === 'cancelled' ? (r.abortReason ?? 'cancelled') : null,
        logs: outcome.logs,
        logsTruncated: outcome.logsTruncated,
        cpuMs: outcome.cpuMs,
        peakRssBytes: outcome.peakRssBytes,
        diskWriteBytes: outcome.diskWriteBytes,
        retry,
      },
      'running',
    );
    if (retry) this.wake(retry.scheduledFor);
  }

  /** Frees the run's slot and counters, then starts whatever was waiting for them. */
  #release(r: Running): void {
    const { run, task } = r.entry.claimed;
    if (!this.#running.delete(run.id)) return;
    const key = concurrencyKey(task);
    const n = (this.#runningByKey.get(key) ?? 1) - 1;
    if (n > 0) this.#runningByKey.set(key, n);
    else this.#runningByKey.delete(key);
    const ids = this.#activeByTask.get(task.id);
    ids?.delete(run.id);
    if (ids && ids.size === 0) this.#activeByTask.delete(task.id);
    if (this.#running.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
    if (this.#stopping) return;
    this.#pump(task);
  }

  #pump(task: Task): void {
    // Overlap buffer: the next buffered occurrence starts once no run of the task is active.
    if (this.#buffered.has(task.id) && !this.#hasOtherActive(task.id, null)) {
      const next = this.#shiftLive(this.#buffered, task.id);
      if (next) this.#admit(next, true);
    }
    // Runs waiting for the key, first come first served, each against its own task's cap: tasks
    // sharing a key may have different caps, or none (an uncapped task still holds the key).
    const key = concurrencyKey(task);
    while (this.#running.size + this.#claimStarting < this.#o.maxConcurrentRuns) {
      const next = this.#peekLive(this.#waitingForKey, key);
      if (!next) break;
      const cap = next.claimed.task.policies.concurrency;
      if (cap !== null && (this.#runningByKey.get(key) ?? 0) >= cap) break;
      this.#shiftLive(this.#waitingForKey, key);
      this.#admit(next, true);
    }
    this.#pumpReady();
  }

  /** Starts runs that wait only for a node slot, while there are free slots. */
  #pumpReady(): void {
    while (this.#running.size + this.#claimStarting < this.#o.maxConcurrentRuns && this.#ready.size > 0) {
      const next = this.#ready.pop()!;
      if (this.#held.get(next.claimed.run.id) !== next) continue;
      this.#admit(next, true);
    }
  }

  /** The first entry of `map[key]` still held (dead ones are dropped), without taking it. */
  #peekLive(map: Map<string, Entry[]>, key: string): Entry | undefined {
    const list = map.get(key);
    while (list && list.length > 0) {
      const e = list[0]!;
      if (this.#held.get(e.claimed.run.id) === e) return e;
      list.shift();
    }
    map.delete(key);
    return undefined;
  }

  /**
   * Whether another run of the task is active, pruning dead ids on the way: it stops at the first
   * live one, so a task with 20,000 runs in flight costs one step, not 20,000, per admission.
   */
  #hasOtherActive(taskId: string, except: string | null): boolean {
    const ids = this.#activeByTask.get(taskId);
    if (!ids) return false;
    for (const id of ids) {
      if (!this.#running.has(id) && !this.#held.has(id)) ids.delete(id);
      else if (id !== except) return true;
    }
    if (ids.size === 0) this.#activeByTask.delete(taskId);
    return false;
  }

  /** Active runs of the task other than `except` (pruning ids of runs no longer held or running). */
  #othersActive(taskId: string, except: string | null): string[] {
    const ids = this.#activeByTask.get(taskId);
    if (!ids) return [];
    const out: string[] = [];
    for (const id of ids) {
      if (!this.#running.has(id) && !this.#held.has(id)) ids.delete(id);
      else if (id !== except) out.push(id);
    }
    if (ids.size === 0) this.#activeByTask.delete(taskId);
    return out;
  }

  /** Drops a run that waits for a key or slot (cancel_other of an occurrence not started yet). */
  #dropWaiting(runId: string): void {
    const e = this.#held.get(runId);
    if (e === undefined) return;
    this.#held.delete(runId);
    this.#heldShrank();
    this.#writer.complete(
      e.claimed.run,
      { runId, leaseEpoch: e.claimed.run.leaseEpoch, status: 'skipped', finishedAt: this.#d.clock.now(), reason: 'overlap' },
      'queued',
    );
  }

  #shiftLive(map: Map<string, Entry[]>, key: string): Entry | undefined {
    const list = map.get(key);
    while (list && list.length > 0) {
      const e = list.shift()!;
      if (list.length === 0) map.delete(key);
      if (this.#held.get(e.claimed.run.id) === e) return e;
    }
    return undefined;
  }

  // ---- recovery, leases, shutdown ----

  /**
   * Recovers runs whose holder died (`orphans`): a run that never started goes back to
   * `scheduled` (nothing ran, nothing is lost); a run that was running ends `failed` with
   * reason `lost`, and a new attempt is scheduled if its retry policy has attempts left.
   */
  async recover(orphans: ClaimedRun[]): Promise<{ released: number; lost: number }> {
    const now = this.#d.clock.now();
    const unstarted = orphans.filter((c) => c.run.status === 'queued');
    if (unstarted.length > 0) {
      await this.#d.store.releaseRuns(
        this.#o.node,
        unstarted.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch })),
        now,
      );
    }
    let lost = 0;
    for (const { run, task } of orphans) {
      if (run.status !== 'running') continue;
      lost++;
      const retry = planRetry(task, { ...run, status: 'failed' }, now, this.#d.planner);
      this.#writer.complete(
        run,
        {
          runId: run.id,
          leaseEpoch: run.leaseEpoch,
          status: 'failed',
          startedAt: run.startedAt,
          finishedAt: now,
          error: LOST,
          reason: 'lost',
          retry,
        },
        'running',
      );
    }
    await this.#writer.idle();
    return { released: unstarted.length, lost };
  }

  /**
   * Renews the lease of every run this node holds (in memory: held or running). After a fence,
   * the first renewal that succeeds hands the fenced runs back (recovery path, fenced by their
   * epochs).
   */
  async heartbeat(): Promise<void> {
    const sentAt = this.#d.clock.now();
    if (this.#held.size > 0 || this.#running.size > 0 || this.#fenced) {
      const runs: HeldLease[] = [];
      for (const e of this.#held.values()) runs.push({ runId: e.claimed.run.id, leaseEpoch: e.claimed.run.leaseEpoch });
      for (const r of this.#running.values()) runs.push({ runId: r.entry.claimed.run.id, leaseEpoch: r.entry.claimed.run.leaseEpoch });
      await this.#d.store.extendLeases(this.#o.node, runs, sentAt + this.#o.leaseMs);
    }
    this.#renewedAt = sentAt;
    if (this.#fenced) await this.#unfence();
  }

  /**
   * Fences this node when its leases could lapse before it renews them: its runs are stopped
   * (cancel through ctx.signal, then killed after the executor's grace) and its held runs are
   * dropped, all before the lease ends, so no run executes on two nodes at once.
   */
  checkFence(): void {
    if (!this.#shared || this.#fenced || this.#stopping) return;
    if (this.#held.size === 0 && this.#running.size === 0) return;
    const now = this.#d.clock.now();
    if (now - this.#renewedAt < this.#o.leaseMs - fenceMarginMs(this.#o.leaseMs)) return;
    this.#fenced = true;
    const held = [...this.#held.values()];
    this.#held.clear();
    this.#heap.drain();
    this.#ready.drain();
    this.#buffered.clear();
    this.#waitingForKey.clear();
    this.#blocked = [];
    for (const e of held) this.#fencedRuns.push(e.claimed);
    for (const r of this.#running.values()) this.#stopRun(r, 'fenced');
    this.#d.bus.emit('scheduler:fenced', { at: now, running: this.#running.size, held: held.length });
  }

  async #unfence(): Promise<void> {
    // Runs still stopping keep the fence up until they have ended.
    if (this.#running.size > 0) return;
    const fenced = this.#fencedRuns.splice(0);
    if (fenced.length > 0) await this.recover(fenced);
    // Nothing is held now (the fence dropped it, and claims are handed back while fenced), so
    // every lease from here on is a fresh claim's. The renewal that just returned may have been
    // sent long ago (its query hung through the outage): measured from it, the next claim would
    // look expired at once and fence the node again for nothing.
    this.#renewedAt = Math.max(this.#renewedAt, this.#d.clock.now());
    this.#fenced = false;
    this.#d.bus.emit('scheduler:unfenced', { at: this.#d.clock.now() });
    this.#interruptSleep();
  }

  /** Resolves when every recorded transition is committed. */
  idle(): Promise<void> {
    return this.#writer.idle();
  }

  /**
   * Drains: stops claiming, gives back runs that have not started, lets running runs finish
   * for up to `graceMs`, then stops them and gives them back too, and waits for the writes.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#interruptSleep();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#loop;
    const now = this.#d.clock.now();
    const unstarted = [...this.#held.values()].map((e) => ({ runId: e.claimed.run.id, leaseEpoch: e.claimed.run.leaseEpoch }));
    this.#held.clear();
    this.#heap.drain();
    this.#ready.drain();
    this.#buffered.clear();
    this.#waitingForKey.clear();
    this.#blocked = [];
    if (this.#blockedTimer) clearTimeout(this.#blockedTimer);
    this.#blockedTimer = null;
    const all = (): Promise<void> =>
      this.#running.size === 0 ? Promise.resolve() : new Promise((res) => this.#idleWaiters.push(res));
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace'>((res) => (graceTimer = setTimeout(() => res('grace'), graceMs)));
    const first = await Promise.race([all().then(() => 'done' as const), graceOver]);
    clearTimeout(graceTimer);
    if (first === 'grace') {
      for (const r of this.#running.values()) this.#stopRun(r, 'drain');
      await all();
    }
    await this.#writer.idle();
    const toRelease = [...unstarted, ...this.#released.splice(0)];
    if (toRelease.length > 0) await this.#d.store.releaseRuns(this.#o.node, toRelease, now);
  }
}

/**
 * Whether a run may start in its claim's write: admission would start it at once, with nothing to
 * check (no overlap guard, no concurrency cap, no other run to cancel) but a free node slot.
 */
function startableOnClaim(run: Run, task: Task): boolean {
  if (task.policies.concurrency !== null) return false;
  return run.trigger !== 'schedule' || task.policies.overlap === 'allow_all';
}

/** What a start must not collide with on other nodes (null: nothing to check). */
function startGuard(run: Run, task: Task): StartGuard | undefined {
  const overlap = task.policies.overlap;
  const guardsOverlap = run.trigger === 'schedule' && overlap !== 'allow_all' && overlap !== 'cancel_other';
  const cap = task.policies.concurrency;
  if (!guardsOverlap && cap === null) return undefined;
  const guard: StartGuard = {};
  if (guardsOverlap) guard.overlapTaskId = task.id;
  if (cap !== null) guard.concurrency = { key: concurrencyKey(task), cap };
  return guard;
}

function concurrencyKey(task: Task): string {
  return task.policies.concurrencyKey ?? `task:${task.id}`;
}
