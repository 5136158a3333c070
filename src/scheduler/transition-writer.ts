// Group commit for run transitions. The dispatcher records starts and outcomes here; one flush
// writes everything gathered since the last one (markRunning, then completeRuns, which the store
// commits in one transaction), and only then are the transitions published on the bus. While a
// flush is in flight new transitions gather for the next one, so under load each transaction
// carries thousands of runs and at idle a transition waits one event-loop turn. A store with
// several write lanes (PostgreSQL: a connection each) gets up to that many flushes at once; a
// run's start and its outcome are never in flight together (the outcome exists only once the
// start has committed), so lanes never reorder one run's writes.

import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import { coerceError } from '../core/errors.js';
import { transitionEvent } from '../core/transition-event.js';
import type { Millis, Run } from '../core/types.js';
import type { RunCompletion, RunStart, StartGuard, StartResult, Store } from '../store/store.js';

/**
 * Most starts in one flush. A burst of 20,000 starts written as one transaction keeps every one
 * of them from reaching the executor until all are committed (~150 ms); in chunks the first runs
 * execute in the worker processes while the next chunk is written.
 */
const MAX_STARTS_PER_FLUSH = 1000;
/** Most outcomes in one flush; larger, since nothing waits for them but memory. */
const MAX_COMPLETIONS_PER_FLUSH = 5000;
/** How long outcomes alone may wait for company before they are written. */
const OUTCOME_DELAY_MS = 10;

/** How a recorded start ended: written, or refused (a stale claim, or a guard of the cluster). */
export type StartVerdict = 'started' | 'stale' | 'overlap' | 'concurrency';

/** A recorded start's verdict, and the start time written (later than asked when its guard waited). */
export interface StartOutcome {
  verdict: StartVerdict;
  startedAt: Millis;
}

interface PendingStart {
  start: RunStart;
  run: Run;
  resolve: (outcome: StartOutcome) => void;
}

interface PendingCompletion {
  completion: RunCompletion;
  run: Run;
  from: Run['status'];
}

/** Batches run transitions into few transactions and publishes them after commit. */
export class TransitionWriter {
  #starts: PendingStart[] = [];
  #completions: PendingCompletion[] = [];
  #scheduled = false;
  #inFlight = 0;
  readonly #lanes: number;
  #idleWaiters: (() => void)[] = [];
  #delayTimer: NodeJS.Timeout | null = null;
  readonly #now = (): Millis => this.clock.now();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly clock: Clock,
  ) {
    this.#lanes = Math.max(1, store.capabilities.writeLanes);
  }

  /**
   * Records that `run` starts; resolves `started` once durable, `stale` if its claim went stale,
   * or the guard that refused it (the run stays queued under this node's lease).
   */
  start(run: Run, startedAt: number, guard?: StartGuard): Promise<StartOutcome> {
    return new Promise((resolve) => {
      const start: RunStart = { runId: run.id, leaseEpoch: run.leaseEpoch, startedAt };
      if (guard !== undefined) start.guard = guard;
      this.#starts.push({ start, run, resolve });
      this.#schedule();
    });
  }

  /** Records an outcome (or a skip/cancel decided before the start); `from` is the state it leaves. */
  complete(run: Run, completion: RunCompletion, from: Run['status']): void {
    this.#completions.push({ completion, run, from });
    this.#schedule();
  }

  /** Resolves when everything recorded so far is committed. */
  async idle(): Promise<void> {
    while (this.#scheduled || this.#inFlight > 0 || this.#starts.length > 0 || this.#completions.length > 0) {
      await new Promise<void>((r) => this.#idleWaiters.push(r));
    }
  }

  get pending(): number {
    return this.#starts.length + this.#completions.length;
  }

  #schedule(): void {
    if (this.#inFlight >= this.#lanes) return;
    if (this.#scheduled) {
      // A start waiting behind a delayed flush of outcomes is written now instead.
      if (this.#delayTimer && this.#starts.length > 0) {
        clearTimeout(this.#delayTimer);
        this.#delayTimer = null;
        setImmediate(this.#run);
      }
      return;
    }
    this.#scheduled = true;
    if (this.#starts.length === 0 && this.#completions.length < MAX_COMPLETIONS_PER_FLUSH) {
      // Only outcomes: nothing waits for them, so gather them a little longer. At a trickle of
      // runs this halves the commits (each one an fsync and a few pages of WAL).
      this.#delayTimer = setTimeout(this.#run, OUTCOME_DELAY_MS);
    } else {
      setImmediate(this.#run);
    }
  }

  readonly #run = (): void => {
    if (this.#delayTimer) clearTimeout(this.#delayTimer);
    this.#delayTimer = null;
    if (!this.#scheduled) return;
    this.#scheduled = false;
    this.#inFlight++;
    void this.#flush().finally(() => {
      this.#inFlight--;
      if (this.#starts.length > 0 || this.#completions.length > 0) this.#schedule();
      else if (this.#inFlight === 0 && !this.#scheduled) for (const w of this.#idleWaiters.splice(0)) w();
    });
    // More than one flush's worth waiting and a lane free: the next batch goes out at once.
    if (this.#starts.length > 0) this.#schedule();
  };

  async #flush(): Promise<void> {
    const starts = this.#starts.length <= MAX_STARTS_PER_FLUSH ? this.#starts : this.#starts.splice(0, MAX_STARTS_PER_FLUSH);
    if (starts === this.#starts) this.#starts = [];
    // Starts go first: in a burst, a run waiting to start matters more than writing down one
    // that ended (its slot is already free). Outcomes wait until the starts are written, or until
    // so many have gathered that memory matters.
    let completions: PendingCompletion[] = [];
    if (this.#starts.length === 0 || this.#completions.length >= 4 * MAX_COMPLETIONS_PER_FLUSH) {
      completions =
        this.#completions.length <= MAX_COMPLETIONS_PER_FLUSH
          ? this.#completions
          : this.#completions.splice(0, MAX_COMPLETIONS_PER_FLUSH);
      if (completions === this.#completions) this.#completions = [];
    }
    try {
      // Both calls join the store's same group commit, starts first, so a run that started and
      // ended within one flush is written in order.
      const [startRes, completeRes] = await Promise.all([
        starts.length > 0 ? this.store.markRunning(starts.map((s) => s.start), this.#now) : Promise.resolve<StartResult>({ stale: [], busy: [] }),
        completions.length > 0
          ? this.store.completeRuns(completions.map((c) => c.completion))
          : Promise.resolve({ stale: [] }),
      ]);
      const refused = new Map<string, StartVerdict>(startRes.stale.map((id) => [id, 'stale']));
      for (const b of startRes.busy) refused.set(b.runId, b.reason);
      const stampedAt = new Map((startRes.restamped ?? []).map((r) => [r.runId, r.startedAt]));
      const staleCompletions = new Set(completeRes.stale);
      const now = this.clock.now();
      const publish = this.bus.has('run:transition');
      for (const s of starts) {
        const verdict = refused.get(s.run.id) ?? 'started';
        const startedAt = stampedAt.get(s.run.id) ?? s.start.startedAt;
        if (verdict === 'started' && publish) {
          this.bus.emit(
            'run:transition',
            transitionEvent(s.run, 'queued', now, { to: 'running', startedAt, finishedAt: null, reason: null, errorCode: null }),
          );
        }
        s.resolve({ verdict, startedAt });
      }
      if (publish) {
        for (const c of completions) {
          if (staleCompletions.has(c.run.id)) continue;
          const { completion: k, run } = c;
          this.bus.emit(
            'run:transition',
            transitionEvent(run, c.from, now, {
              to: k.status,
              startedAt: k.startedAt ?? null,
              finishedAt: k.finishedAt,
              reason: k.reason ?? null,
              errorCode: k.error?.code ?? null,
            }),
          );
          if (k.retry) this.bus.emit('run:transition', transitionEvent(k.retry, null, now));
        }
      }
    } catch (err) {
      // A failed commit must not lose the transitions: put them back and let the next flush
      // retry them (after a pause, so a broken disk does not spin the CPU).
      this.bus.emit('scheduler:error', { where: 'transition-writer', error: coerceError(err) });
      this.#starts.unshift(...starts);
      this.#completions.unshift(...completions);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
