// What the runs of one interpreter thread share: its wasm instances, the ctx.fetch client and the
// abort flags the child's main thread sets, plus the hooks through which runs report to the
// thread's batching. A run only lives here while it is running.

import { createOutboundGuard, type OutboundGuard } from '../outbound-guard.js';
import { ScriptFetcher } from './script-fetch.js';
import type { AbortReason, ScriptWorkerConfig, ThreadRun, WireLogLine, WireScriptDone, WireScriptSample } from './script-protocol.js';
import { ScriptRun } from './script-run.js';
import { InstancePool } from './wasm-instances.js';

/** How runs report to the interpreter thread's batching. */
export interface SandboxHooks {
  /** A run has log lines waiting (called once per batch of lines, at the first). */
  logsPending(run: ScriptRun): void;
  /** A run ended; `lines` are its last log lines (sent before the ending). */
  ended(run: ScriptRun, done: WireScriptDone, lines: WireLogLine[] | undefined): void;
  /** A long run's resource sample; may be called from inside a run's interrupt handler. */
  sample(sample: WireScriptSample): void;
  /** A run's first synchronous stretch is over (it yielded or ended): the thread can take another. */
  begun(run: ScriptRun): void;
}

/** Everything runs in one interpreter thread share: instances, the fetcher, the abort flags. */
export class SandboxEnv {
  readonly cfg: ScriptWorkerConfig;
  readonly hooks: SandboxHooks;
  readonly flags: Int32Array | null;
  /** [1] is set to the id of the run executing synchronously (shared with the child's main thread). */
  current: Int32Array | null = null;
  readonly instances: InstancePool;
  readonly #runs = new Map<number, ScriptRun>();
  #fetcher: ScriptFetcher | null = null;
  #guard: OutboundGuard | null = null;

  constructor(cfg: ScriptWorkerConfig, flags: Int32Array | null, hooks: SandboxHooks, keepIdle = 8) {
    this.cfg = cfg;
    this.flags = flags;
    this.hooks = hooks;
    this.instances = new InstancePool(keepIdle);
  }

  /** Loads QuickJS and makes one instance, so the first run does not pay for it. */
  async warm(): Promise<void> {
    this.instances.release(await this.instances.acquire());
  }

  get size(): number {
    return this.#runs.size;
  }

  start(wire: ThreadRun): void {
    const run = new ScriptRun(this, wire);
    this.#runs.set(wire.id, run);
    run.start();
  }

  abort(id: number, reason: AbortReason): void {
    this.#runs.get(id)?.abort(reason);
  }

  /** Samples of runs running longer than a second (from the thread's timer). */
  sampleLongRuns(): void {
    const now = performance.now();
    for (const run of this.#runs.values()) run.maybeSample(now, true);
  }

  /** Created on the first fetch: most scripts never fetch, and undici's Agent is not free. */
  get fetcher(): ScriptFetcher {
    this.#guard ??= createOutboundGuard(this.cfg.outboundAllow);
    this.#fetcher ??= new ScriptFetcher(this.#guard, this.cfg.fetchMaxBytes);
    return this.#fetcher;
  }

  /** Called by a run once it has ended and freed its interpreter. */
  ended(run: ScriptRun, done: WireScriptDone, lines: WireLogLine[] | undefined): void {
    this.#runs.delete(run.id);
    this.hooks.ended(run, done, lines);
  }
}
