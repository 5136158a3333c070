// The dispatcher: the hot path from "due" to "running".
//
// 1. A claim loop takes due-soon runs from the store (scheduledFor <= now + lookahead) in
//    batches; the store plans each schedule occurrence's successor in the same transaction.
// 2. Claimed runs wait in a timer heap; one timer is armed for the earliest and never for more
//    than a second, so a wall-clock jump or a schedule months away cannot stall or overflow it.
// 3. When a run is due it passes admission (./admission.ts decides, the dispatcher acts): the
//    overlap policy (schedule occurrences only), the per-task / per-key concurrency cap, then the
//    node's slot cap. Runs that must wait stay in memory, held under this node's lease (renewed by
//    heartbeat), and admission gives them back as runs end.
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
import type { ClaimedRun, HeldLease, PlanOccurrence, Store } from '../store/store.js';
import { Admission, startGuard, type Admitted, type Decision, type Entry } from './admission.js';
import { ClaimSizer } from './claim-sizer.js';
import { withNotifications } from './notify-outcome.js';
import type { SchedulerControl } from './scheduler-control.js';
import { TimerHeap } from './timer-heap.js';
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
  /** The most runs of a namespace running at once on this node (its concurrentRuns quota), if any. */
  namespaceCap?: ((namespace: string) => number | undefined) | undefined;
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
/**
 * How often a full claim also takes the due runs of the namespaces not in it (ClaimOptions.spread):
 * often enough that a flood in one namespace delays another's runs by milliseconds, rarely
 * enough that skipping through many namespaces stays a small part of claiming.
 */
const SPREAD_EVERY_MS = 10;
/**
 * Free slots that wake a claim loop waiting for slots (a quarter of the node's cap if that is
 * smaller): a claim has a fixed cost, so it waits for a few runs to end rather than claim one
 * run per ended run. The poll interval bounds the wait.
 */
const SLOT_WAKE = 64;

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
  readonly #o: Required<Omit<DispatcherOptions, 'namespaceCap'>> & Pick<DispatcherOptions, 'namespaceCap'>;
  readonly #d: DispatcherDeps;
  readonly #writer: TransitionWriter;
  readonly #heap = new TimerHeap<Entry>();
  /** Every claimed run not yet started, wherever it waits; an entry not in here is dropped (admission reads it too). */
  readonly #held = new Map<string, Entry>();
  readonly #running = new Map<string, Running>();
  /** The admission rules and what they count (running runs, waiting lists); see ./admission.ts. */
  readonly #admission: Admission;
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
  /** Retries the starts a guard refused (Admission.refused) at the next poll. */
  #blockedTimer: NodeJS.Timeout | null = null;
  /** When the last lease renewal that succeeded was sent (leases run from then at the latest). */
  #renewedAt: Millis;
  #fenced = false;
  /** Runs stopped or dropped by fencing, to hand back once the database answers. */
  #fencedRuns: ClaimedRun[] = [];
  /** Keeps claims on an in-process store short while runs wait to be due (./claim-sizer.ts). */
  readonly #sizer: ClaimSizer;
  #nextSpreadAt = 0;
  /**
   * The last claim took as many due runs as it asked for: more are due than this node took. While
   * that holds, claims take no more runs than there are free slots, and none while none is free.
   */
  #dueBacklog = false;
  /** The claim loop sleeps until runs end and free slots (a due backlog and none free). */
  #claimWaitsForSlots = false;
  /** Free slots that wake a claim loop waiting for them (SLOT_WAKE). */
  readonly #slotWake: number;

  constructor(opts: DispatcherOptions, deps: DispatcherDeps) {
    this.#o = { maxHeld: Math.max(10_000, 2 * opts.maxConcurrentRuns), ...opts };
    this.#d = deps;
    this.#admission = new Admission(this.#o, this.#held);
    this.#writer = new TransitionWriter(deps.store, deps.bus, deps.clock);
    this.#shared = deps.store.capabilities.shared;
    this.#sizer = new ClaimSizer(deps.store.capabilities.inProcess);
    this.#slotWake = Math.max(1, Math.min(SLOT_WAKE, Math.floor(opts.maxConcurrentRuns / 4)));
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
      let free = this.#admission.freeSlots();
      if (free <= 0 && this.#admission.runningCount < this.#o.maxConcurrentRuns) {
        // Slots owed to runs waiting for one that were dropped meanwhile (cancelled while
        // waiting): pumping the waiting list forgets them and starts live ones.
        this.#actAll(this.#admission.claimDone());
        free = this.#admission.freeSlots();
      }
      if (room > 0 && this.#dueBacklog && free <= 0) {
        // Due runs wait in the database, not here, until a slot frees: a run claimed now could
        // only wait for one (under this node's lease, out of other nodes' reach), and its start
        // would cost a write of its own instead of riding on the claim's (ClaimOptions.startDue).
        // Runs not yet due are not claimed either: when they fall due they could not start
        // before a slot frees, and then the next claim takes them in due order.
        this.#claimWaitsForSlots = true;
        await this.#sleep(this.#o.pollIntervalMs);
        this.#claimWaitsForSlots = false;
        // Runs end in batches (one message from a worker ends hundreds): let the whole batch
        // free its slots before sizing the claim.
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      if (room > 0) {
        limit = this.#sizer.limit(Math.min(this.#o.claimBatch, room), this.#heap.size > 0);
        // With a backlog, as many as can start: due runs beyond the free slots would only wait here.
        if (this.#dueBacklog) limit = Math.min(limit, free);
        try {
          const now = this.#d.clock.now();
          // Real time, not the injected clock: this measures how long the thread was busy.
          const began = performance.now();
          const leaseUntil = now + this.#o.leaseMs;
          const spread = now >= this.#nextSpreadAt ? Math.max(16, limit >> 2) : undefined;
          if (spread !== undefined) this.#nextSpreadAt = now + SPREAD_EVERY_MS;
          const claimed = await this.#d.store.claimDueRuns({
            node: this.#o.node,
            now,
            horizon: now + this.#o.lookaheadMs,
            limit,
            leaseUntil,
            plan: this.#d.plan,
            startDue: this.#chooseClaimStarts,
            spread,
          });
          claimedCount = claimed.length;
          let due = 0;
          for (const c of claimed) if (c.run.scheduledFor <= now) due++;
          this.#dueBacklog = due >= limit;
          this.#sizer.measured(performance.now() - began, claimedCount);
          if (claimedCount > 0) {
            // A claim that came back after the fence went up, or so late that its lease is
            // already inside the fence margin (the database answered after a long stall), is
            // not held: another node may take these runs over before this one could renew them.
            if (this.#fenced || (this.#shared && this.#d.clock.now() >= leaseUntil - fenceMarginMs(this.#o.leaseMs))) this.#handBack(claimed, now);
            else this.#accept(claimed, now);
          }
        } catch (err) {
          this.#dueBacklog = false;
          this.#d.bus.emit('scheduler:error', { where: 'claim', error: coerceError(err) });
        } finally {
          // The runs the claim started are in #running now (or were handed back): their promised
          // slots are released, and runs that waited for a slot meanwhile go on.
          this.#actAll(this.#admission.claimDone());
        }
      }
      if (this.#stopping) break;
      if (room <= 0) {
        // Full: wait for held runs to start (#heldShrank), with the poll as a safety net.
        this.#claimBlocked = true;
        await this.#sleep(this.#o.pollIntervalMs);
        continue;
      }
      // A full batch (or slice) means more is due: claim again at once, after the timers' turn
      // (the store's write waits for setImmediate). Otherwise sleep until the poll
      // interval passes or something wakes us (a run created or rescheduled to be due soon).
      if (claimedCount >= limit) continue;
      if (!this.#wakeRequested) await this.#sleep(this.#o.pollIntervalMs);
    }
  }

  /**
   * Chooses the claimed runs that start in the claim's own write (ClaimOptions.startDue; see
   * Admission.chooseClaimStarts): none while fenced or stopping.
   */
  readonly #chooseClaimStarts = (due: readonly ClaimedRun[]): ReadonlySet<ClaimedRun> =>
    this.#admission.chooseClaimStarts(this.#fenced || this.#stopping ? [] : due);

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
      this.#act(top, this.#admission.admit(top));
    }
    if (!this.#stopping) this.#armTimer();
  }

  // ---- acting on admission ----

  /**
   * Carries out admission's decision for a run: skips it, leaves it waiting, stops or drops the
   * task's other runs (cancel_other, on the other nodes too), starts it.
   */
  #act(entry: Entry, d: Decision): void {
    if (d.action === 'skip') return this.#skip(entry, d.reason);
    if (d.action === 'buffer') return;
    const { run, task } = entry.claimed;
    for (const id of d.cancel) {
      const r = this.#running.get(id);
      if (r) this.#stopRun(r, 'overlap');
      else this.#dropWaiting(id);
    }
    if (this.#shared && run.trigger === 'schedule' && task.policies.overlap === 'cancel_other') this.#cancelOthersElsewhere(run, task);
    if (d.action === 'start') this.#start(entry);
  }

  /** Acts on the runs a waiting list gave back, in order. */
  #actAll(admitted: readonly Admitted[]): void {
    for (const a of admitted) this.#act(a.entry, a.decision);
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
    if (this.#admission.refused(entry, reason) === 'skip') return this.#skip(entry, 'overlap');
    this.#held.set(entry.claimed.run.id, entry);
    if (this.#blockedTimer !== null || this.#stopping) return;
    this.#blockedTimer = setTimeout(() => {
      this.#blockedTimer = null;
      for (const e of this.#admission.takeRefused()) {
        if (this.#held.get(e.claimed.run.id) === e && !this.#fenced) this.#act(e, this.#admission.admit(e));
      }
    }, this.#o.pollIntervalMs);
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

  // ---- running ----

  #start(entry: Entry): void {
    const { run, task } = entry.claimed;
    this.#held.delete(run.id);
    this.#heldShrank();
    const startedAt = this.#d.clock.now();
    const r: Running = { entry, startedAt, abortReason: null, executing: false };
    this.#running.set(run.id, r);
    this.#writer
      .start(run, startedAt, this.#shared ? startGuard(run, task) : undefined)
      .then(({ verdict, startedAt: stamped }) => {
        if (verdict !== 'started') {
          // Cancelled or rescheduled after the claim (stale): it must not run. Refused by a
          // guard: another node runs the task or fills its key.
          this.#release(r);
          if (verdict !== 'stale' && r.abortReason === null) this.#refused(entry, verdict);
          return;
        }
        r.startedAt = stamped;
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
    const { run } = claimed;
    const startedAt = run.startedAt!;
    const entry: Entry = { dueAt: run.scheduledFor, priority: run.priority, seq: this.#seq++, claimed };
    const r: Running = { entry, startedAt, abortReason: null, executing: false };
    this.#running.set(run.id, r);
    this.#admission.started(entry);
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
      withNotifications(task, run, {
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
      }, this.#d.planner.newId),
      'running',
    );
    if (retry) this.wake(retry.scheduledFor);
  }

  /** Frees the run's slot and counters, then starts whatever was waiting for them. */
  #release(r: Running): void {
    const { run, task } = r.entry.claimed;
    if (!this.#running.delete(run.id)) return;
    this.#admission.ended(r.entry);
    if (this.#claimWaitsForSlots && this.#admission.freeSlots() >= this.#slotWake) this.#interruptSleep();
    if (this.#running.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
    if (this.#stopping) return;
    this.#actAll(this.#admission.pump(task));
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
        withNotifications(task, run, {
          runId: run.id,
          leaseEpoch: run.leaseEpoch,
          status: 'failed',
          startedAt: run.startedAt,
          finishedAt: now,
          error: LOST,
          reason: 'lost',
          retry,
        }, this.#d.planner.newId),
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
    this.#admission.clear();
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
    this.#admission.clear();
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
