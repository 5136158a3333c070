// Where script runs go. A script that computes synchronously holds its worker's interpreter thread
// until it ends or is stopped, so a worker can be busy without being full. Each worker sends a
// heartbeat every 100 ms while it has runs, saying how long ago its interpreter last turned its
// event loop; a worker that has not turned for STALL_MS (or not sent a heartbeat) is "stalled" and
// gets no new runs. A run goes to the least loaded worker that is neither stalled nor full
// (perWorkerConcurrency); if there is none, it waits in the pool's FIFO queue, and one extra worker
// at a time is started, up to maxWorkers, while the queue is not empty and another worker would
// add capacity: there are fewer workers than cores, some worker is stalled, or the full ones
// mostly wait (on timers, fetches) rather than compute. Once every core has a worker, workers
// that are full because they compute get no company: more processes would only share the same
// cores, and each costs ~100 MB (on 2 cores, a flood of 20,000 no-op scripts ran at 620 runs/s in
// 8 workers, 1,107 in 2). Extra workers leave again after a while idle; a worker whose resident
// memory passes the ceiling is killed and replaced.
//
// The base workers start on the first run (a server without script tasks never loads QuickJS) and
// are kept while the pool is in use. Workers that die before saying ready, or crash right after,
// make the next start back off: a broken entry or environment must not make the pool fork in a loop.

import type { Flight } from '../pool/flight.js';
import type { PoolChild } from '../pool/pool-child.js';
import { STD_TAIL_CHARS } from '../pool/pool-child.js';
import type { Placement, PoolHost, PoolTypes } from '../pool/worker-pool.js';
import { backoff } from '../pool/worker-process.js';
import { failedOutcome } from '../outcome.js';
import { HEARTBEAT_MS, STALL_MS } from './script-limits.js';
import type { FromChildBatch, WireScriptDone, WireScriptRun } from './script-protocol.js';

/** What the placement keeps on each worker. */
export interface WorkerLoad {
  /** Beyond the `workers` base count: stopped again once idle for extraIdleMs. */
  extra: boolean;
  /** performance.now() of the last heartbeat (or of the moment it got work while idle). */
  lastHbAt: number;
  /** The interpreter's event-loop lag the last heartbeat reported. */
  lag: number;
  /** How busy the interpreter was (per mille) over the last heartbeats; 1000 until they say otherwise. */
  busy: number;
  idleSince: number;
}

export interface ScriptTypes extends PoolTypes {
  run: WireScriptRun;
  end: WireScriptDone;
  batch: FromChildBatch;
  tag: WorkerLoad;
}

export interface ElasticOptions {
  /** Workers kept while the pool is in use. */
  workers: number;
  maxWorkers: number;
  /** Runs one worker holds at once. */
  concurrency: number;
  /** Extra workers idle this long are stopped. */
  extraIdleMs: number;
  /** A worker whose resident memory passes this is killed and replaced. */
  maxRssBytes: number;
  /** Cores the workers share: below this many workers, another one adds capacity whatever the others do. */
  cores: number;
}

/** A worker that crashes sooner than this after it started counts as failing to start. */
const QUICK_CRASH_MS = 2000;

/** A full worker whose interpreter was busy less than this (per mille) mostly waits: another worker adds capacity. */
const WAITING_BUSY = 500;

type Worker = PoolChild<ScriptTypes>;

export class ElasticWorkers implements Placement<ScriptTypes> {
  readonly #host: PoolHost<ScriptTypes>;
  readonly #o: ElasticOptions;
  /** Consecutive workers that died before saying ready; drives back-off and `worker_start_failed`. */
  #startFailures = 0;
  #lastStartFailure = '';
  #respawnTimer: NodeJS.Timeout | null = null;
  #tickTimer: NodeJS.Timeout | null = null;

  constructor(host: PoolHost<ScriptTypes>, opts: ElasticOptions) {
    this.#host = host;
    this.#o = { ...opts, workers: Math.max(1, opts.workers) };
  }

  start(): void {
    for (let i = 0; i < this.#o.workers; i++) this.#spawn(false);
    // Re-evaluates stalls while runs wait (time alone can make every worker stalled), and stops
    // idle extra workers.
    this.#tickTimer = setInterval(() => this.#tick(), HEARTBEAT_MS);
    this.#tickTimer.unref();
  }

  place(f: Flight<ScriptTypes>): void {
    if (this.#host.queue.size === 0) {
      const w = this.#pick(performance.now());
      if (w !== null) {
        this.#assign(f, w);
        return;
      }
    }
    this.#host.queue.add(f);
    this.#grow();
  }

  ready(w: Worker): void {
    w.tag.idleSince = performance.now();
    this.#drainQueue();
  }

  afterBatch(w: Worker, msg: FromChildBatch): void {
    if (msg.hb !== undefined) {
      w.tag.lastHbAt = performance.now();
      w.tag.lag = msg.hb[0];
      // Smoothed over a few heartbeats: one interval alone swings with what it happened to cover.
      w.tag.busy = Math.round((w.tag.busy + (msg.hb[2] ?? 1000)) / 2);
      const rss = msg.hb[1];
      if (rss > this.#o.maxRssBytes && w.killReason === null) {
        this.#host.report.warning(w.pid, `resident memory ${rss} bytes is over the ceiling of ${this.#o.maxRssBytes}; killing it`);
        w.kill('memory', { ceilingBytes: this.#o.maxRssBytes });
      }
    }
    if (w.inflight.size === 0) w.tag.idleSince = performance.now();
    if (this.#host.queue.size > 0) this.#drainQueue();
  }

  gone(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#host.closing) return;
    const reason = w.killReason;
    const quickCrash = reason === null && performance.now() - w.startedAt < QUICK_CRASH_MS;
    if ((!w.everReady && reason !== 'close' && reason !== 'retire') || quickCrash) {
      this.#startFailures++;
      this.#lastStartFailure = w.stdTail.slice(-STD_TAIL_CHARS) || `exit code ${code}, signal ${signal}`;
    }
    this.#replenish();
  }

  setRef(on: boolean): void {
    // Runs waiting for a replacement keep the process alive; an idle pool does not.
    if (on) this.#respawnTimer?.ref();
    else this.#respawnTimer?.unref();
  }

  close(): void {
    if (this.#respawnTimer !== null) clearTimeout(this.#respawnTimer);
    if (this.#tickTimer !== null) clearInterval(this.#tickTimer);
    this.#respawnTimer = this.#tickTimer = null;
  }

  #stalled(w: Worker, now: number): boolean {
    return w.inflight.size > 0 && (w.tag.lag > STALL_MS || now - w.tag.lastHbAt > STALL_MS + HEARTBEAT_MS);
  }

  /** Whether another worker would add capacity: a core has none, one is stalled, or a full one mostly waits rather than computes. */
  #extraHelps(now: number): boolean {
    if (this.#host.children.length < this.#o.cores) return true;
    return this.#host.children.some((w) => w.state === 'ready' && (this.#stalled(w, now) || (w.inflight.size >= this.#o.concurrency && w.tag.busy < WAITING_BUSY)));
  }

  /** The least loaded worker that is ready, not stalled and not full. */
  #pick(now: number): Worker | null {
    let best: Worker | null = null;
    for (const w of this.#host.children) {
      if (w.state !== 'ready' || w.inflight.size >= this.#o.concurrency || this.#stalled(w, now)) continue;
      if (best === null || w.inflight.size < best.inflight.size) best = w;
    }
    return best;
  }

  #assign(f: Flight<ScriptTypes>, w: Worker): void {
    if (w.inflight.size === 0) {
      // An idle worker sends no heartbeats; its clock starts now.
      w.tag.lastHbAt = performance.now();
      w.tag.lag = 0;
      w.tag.busy = 1000;
    }
    this.#host.assign(f, w);
  }

  #drainQueue(): void {
    const queue = this.#host.queue;
    const now = performance.now();
    for (const f of queue) {
      const w = this.#pick(now);
      if (w === null) break;
      queue.delete(f);
      this.#assign(f, w);
    }
    if (queue.size > 0) this.#grow();
  }

  /** Starts one extra worker while runs wait and nothing is starting; fails them if none can start. */
  #grow(): void {
    const host = this.#host;
    if (host.closing || host.queue.size === 0) return;
    if (host.children.some((w) => w.state === 'starting') || this.#respawnTimer !== null) return;
    if (host.children.length < this.#o.workers || (host.children.length < this.#o.maxWorkers && this.#extraHelps(performance.now()))) {
      this.#spawn(host.children.length >= this.#o.workers);
      return;
    }
    if (host.children.length === 0) this.#failQueue();
  }

  #failQueue(): void {
    const queue = this.#host.queue;
    const waiting = [...queue];
    queue.clear();
    for (const f of waiting) {
      this.#host.finish(f, failedOutcome(this.#host.clock, 'worker_start_failed', 'no script worker process could be started', { output: this.#lastStartFailure }));
    }
  }

  #tick(): void {
    const host = this.#host;
    if (host.queue.size > 0) this.#drainQueue();
    const now = performance.now();
    // Every worker stalled or full while the pool is busy: start a spare before runs queue up
    // (a worker takes a second or more to start, longer than many scripts' timeouts).
    if (host.inflight > 0 && host.children.length < this.#o.maxWorkers && this.#pick(now) === null && this.#extraHelps(now)) {
      if (!host.children.some((w) => w.state === 'starting') && this.#respawnTimer === null && !host.closing) this.#spawn(true);
    }
    // Start failures are forgiven once a worker has stayed up for a while.
    if (this.#startFailures > 0 && host.children.some((w) => w.state === 'ready' && now - w.startedAt > QUICK_CRASH_MS)) this.#startFailures = 0;
    for (const w of host.children) {
      if (w.tag.extra && w.state === 'ready' && w.inflight.size === 0 && host.queue.size === 0 && now - w.tag.idleSince > this.#o.extraIdleMs) w.stop('retire');
    }
  }

  #spawn(extra: boolean): void {
    if (this.#host.closing) return;
    try {
      const now = performance.now();
      this.#host.spawn({ extra, lastHbAt: 0, lag: 0, busy: 1000, idleSince: now });
    } catch (err) {
      this.#startFailures++;
      this.#lastStartFailure = `fork failed: ${(err as Error).message}`;
      this.#replenish();
    }
  }

  /** Keeps `workers` processes while the pool is in use; a worker that keeps failing to start backs off. */
  #replenish(): void {
    const host = this.#host;
    if (host.closing || this.#respawnTimer !== null) return;
    const missing = this.#o.workers - host.children.length;
    if (missing <= 0 && host.queue.size === 0) return;
    if (this.#startFailures > 0) {
      // No worker can serve soon: the waiting runs fail now rather than wait out the back-off.
      if (!host.children.some((w) => w.state === 'ready' || w.state === 'starting')) this.#failQueue();
      this.#respawnTimer = setTimeout(() => {
        this.#respawnTimer = null;
        this.#spawn(false);
      }, backoff(this.#startFailures));
      // Runs waiting for the replacement keep the process alive; an idle pool does not.
      if (host.inflight === 0) this.#respawnTimer.unref();
      return;
    }
    for (let i = 0; i < missing; i++) this.#spawn(false);
    if (host.queue.size > 0) this.#drainQueue();
  }
}
