// One `script` run inside QuickJS (WebAssembly), in the interpreter thread of a pool child: its
// life from start to teardown. The parts it is made of live beside it: the host functions it
// offers the script (script-host.ts), its memory guard (script-memory-guard.ts), and what its
// endings become (script-endings.ts).
//
// Isolation: every run gets a fresh QuickJS runtime AND context, so no global, prototype change
// or leftover job of one run is visible to the next, and its memory limit is its own. The
// runtime lives in a wasm instance of its own for the run (wasm-instances.ts). A runtime kept
// per worker with a fresh context per run was measured and is no cheaper (freeing a context
// leaves its cyclic garbage to QuickJS's cycle collector; freeing the runtime drops it all at
// once), and it would share the job queue, finalizer callbacks and memory accounting between
// runs; see docs/benchmarks.md (issue 10, "Scripts").
//
// The interrupt handler is the run's guard while its code runs synchronously: it enforces the
// deadline, the pool's aborts (through shared memory, so a tight loop is stopped without the
// event loop), and the memory limit. It only decides; the host acts once QuickJS has unwound
// (every entry point checks the decision afterwards).

import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten';
import type { SandboxEnv } from './sandbox-env.js';
import { abortedEnding, memoryEnding, parseThrown, resultEnding, STACK_OVERFLOW, thrownEnding, UNDESCRIBED, type Ending, type Thrown } from './script-endings.js';
import { BROKEN, ScriptHost, type Entered, type HostRun } from './script-host.js';
import { ABORT_BUDGET_MS, growthCapBytes, JOB_CHUNK, LINE_MAX_BYTES, QUICKJS_STACK_BYTES, RESOURCE_SAMPLE_MS, SLICE_MS } from './script-limits.js';
import { ScriptLog } from './script-log.js';
import { MemoryGuard } from './script-memory-guard.js';
import { PRELUDE } from './script-prelude.js';
import { ABORT_FLAG, type AbortReason, type ThreadRun, type WireScriptDone } from './script-protocol.js';
import { pointerOf, type Instance } from './wasm-instances.js';

/** Why the run must stop, decided by the interrupt handler, the deadline or an abort flag. */
type Stop = 'timeout' | 'abort' | 'memory' | 'budget';

interface Pending {
  handle: QuickJSHandle;
  ok: (value: QuickJSHandle) => void;
  fail: (error: QuickJSHandle) => void;
}

const threadCpu = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
/**
 * CPU time in microseconds. Where Node can tell (process.threadCpuUsage, Node 23.9+) it is this
 * thread's; otherwise it is the process's, which also counts the child's main thread and V8's
 * helpers, so #enter also takes the wall time of the entry and counts the smaller of the two.
 */
function cpuMicros(): number {
  const u = threadCpu !== undefined ? threadCpu.call(process) : process.cpuUsage();
  return u.user + u.system;
}

export class ScriptRun {
  readonly id: number;
  readonly log: ScriptLog;
  readonly #env: SandboxEnv;
  readonly #wire: ThreadRun;
  readonly #host: ScriptHost;
  readonly #startedAt = performance.now();
  #deadline: number;
  #inst: Instance | null = null;
  #rt: QuickJSRuntime | null = null;
  #vm: QuickJSContext | null = null;
  #memory: MemoryGuard | null = null;
  /** [abort, serialize, describe, invoke] from the prelude. */
  #fns: QuickJSHandle[] = [];
  #awaited: Pending | null = null;
  #stop: Stop | null = null;
  #abortKind: AbortReason | null = null;
  /** The pool aborted the run (rather than this thread's own copy of the deadline). */
  #poolAborted = false;
  /** In the short budget after an abort, for abort listeners. */
  #budget = false;
  #done = false;
  #pumpQueued = false;
  #cpuUs = 0;
  /** CPU and wall clock at the start of the current outer entry (-1: none). */
  #entryCpu = -1;
  #entryWall = 0;
  #lastResourceAt: number;

  constructor(env: SandboxEnv, wire: ThreadRun) {
    this.#env = env;
    this.#wire = wire;
    this.id = wire.id;
    this.log = new ScriptLog(env.cfg.logMaxBytes);
    // The pool owns the real deadline and aborts the run at it; this copy (a little later, as the
    // pool's clock started first) only matters if that abort cannot arrive.
    this.#deadline = this.#startedAt + Math.max(0, wire.timeoutMs) + 50;
    this.#lastResourceAt = this.#startedAt;
    const run: HostRun = {
      vm: () => this.#vm!,
      done: () => this.#done,
      log: this.log,
      logsPending: () => env.hooks.logsPending(this),
      enter: (fn) => this.#enter(fn),
      settle: (r) => this.#settleCallback(r),
      afterHostEvent: () => this.#afterHostEvent(),
      disposeQuietly: (h) => this.#disposeQuietly(h),
    };
    this.#host = new ScriptHost(run, env);
  }

  start(): void {
    this.#env.instances.acquire().then(
      (inst) => {
        try {
          // One entry for the whole first stretch (most runs end in it): CPU is read twice, not at
          // every call into QuickJS (process.cpuUsage costs a system call).
          this.#enter(() => this.#begin(inst));
        } finally {
          this.#env.hooks.begun(this);
        }
      },
      (err: unknown) => {
        this.#finish({ ok: false, code: 'internal', message: `cannot load the interpreter: ${(err as Error).message}` });
        this.#env.hooks.begun(this);
      },
    );
  }

  /** Aborts the run (pool timeout or cancel): abort listeners get a short budget, then it ends. */
  abort(reason: AbortReason): void {
    if (this.#done) return;
    this.#abortKind ??= reason;
    this.#poolAborted = true;
    if (this.#vm === null || this.#budget) return; // not started yet: #begin sees it
    this.#beginAbort();
  }

  /** Emits a resource sample if the run is older than a second and has had none for a second. */
  maybeSample(now: number, measure: boolean): void {
    if (this.#done || now - this.#startedAt < RESOURCE_SAMPLE_MS || now - this.#lastResourceAt < RESOURCE_SAMPLE_MS) return;
    this.#lastResourceAt = now;
    if (measure && this.#entryCpu < 0) this.#memory?.measure(now);
    const cpu = this.#cpuUsed();
    this.#env.hooks.sample([this.id, Date.now(), Math.round(cpu / 100) / 10, this.#memory?.usedBytes ?? 0]);
  }

  // ---- start ------------------------------------------------------------------------------

  #begin(inst: Instance): void {
    this.#inst = inst;
    if (this.#abortKind !== null) {
      // Aborted while waiting for an instance: no code ran.
      this.#finish({ ok: false, code: 'aborted', message: 'the run was aborted before its code started' });
      return;
    }
    inst.cap = growthCapBytes(this.#wire.memoryBytes);
    if (this.#enter(() => this.#setup()) === BROKEN) return;
    const r = this.#enter(() => this.#vm!.evalCode(this.#wire.code, 'script.js', { type: 'module' }));
    if (r === BROKEN) return;
    if (r.error) {
      this.#moduleFailed(r.error);
      return;
    }
    // A module with top-level await yields a promise of its namespace; #await handles both.
    this.#await(r.value, (ns) => this.#callDefault(ns), (err) => this.#threw(err));
    this.#pump();
  }

  #setup(): void {
    const w = this.#wire;
    const inst = this.#inst!;
    const rt = inst.module.newRuntime();
    this.#rt = rt;
    rt.setMemoryLimit(w.memoryBytes);
    rt.setMaxStackSize(QUICKJS_STACK_BYTES);
    rt.setInterruptHandler(this.#onInterrupt);
    const vm = rt.newContext();
    this.#vm = vm;
    const offset = this.#env.instances.counterOffset;
    const ctxPtr = pointerOf(vm, 'ctx');
    inst.counterAddr = offset !== null && ctxPtr !== 0 ? ctxPtr + offset : 0;
    this.#memory = new MemoryGuard(inst, rt, w.memoryBytes);
    let scheduledFor: string | null = null;
    try {
      scheduledFor = new Date(w.scheduledFor).toISOString();
    } catch {
      // An invalid date reaches the script as null.
    }
    const info = JSON.stringify({
      run: { id: w.runId, attempt: w.attempt, scheduledFor, idempotencyKey: w.idempotencyKey },
      task: { id: w.taskId, name: w.taskName },
      secrets: w.secrets ?? {},
    });
    const payload = w.payload === undefined ? undefined : JSON.stringify(w.payload);
    const factory = vm.unwrapResult(vm.evalCode(PRELUDE, 'sundial:prelude', { type: 'global' }));
    const args = [
      ...this.#host.functions(vm),
      payload === undefined ? vm.undefined : vm.newString(payload),
      vm.newString(info),
      vm.newNumber(LINE_MAX_BYTES),
    ];
    const result = vm.callFunction(factory, vm.undefined, args);
    for (const a of args) a.dispose();
    factory.dispose();
    const list = vm.unwrapResult(result);
    this.#fns = [0, 1, 2, 3].map((i) => vm.getProp(list, i));
    list.dispose();
  }

  #callDefault(ns: QuickJSHandle): void {
    const vm = this.#vm!;
    const def = vm.getProp(ns, 'default');
    const kind = vm.typeof(def);
    if (kind !== 'function') {
      def.dispose();
      const message = kind === 'undefined' ? 'the script has no default export' : `the default export is not a function (${kind})`;
      this.#finish({ ok: false, code: 'script_no_default_export', message });
      return;
    }
    const r = this.#enter(() => vm.callFunction(this.#fns[3]!, vm.undefined, def));
    def.dispose();
    if (r === BROKEN) return;
    if (r.error) {
      this.#threw(r.error);
      r.error.dispose();
      return;
    }
    this.#await(r.value, (value) => this.#returned(value), (err) => this.#threw(err));
  }

  // ---- driving the interpreter --------------------------------------------------------------

  /** Waits for a promise handle (or a plain value) to settle; takes ownership of the handle. */
  #await(handle: QuickJSHandle, ok: Pending['ok'], fail: Pending['fail']): void {
    this.#awaited = { handle, ok, fail };
  }

  /** Settles the awaited promise if it has settled; true when it did. */
  #pollAwaited(): boolean {
    const a = this.#awaited!;
    const vm = this.#vm!;
    const st = vm.getPromiseState(a.handle);
    if (st.type === 'pending') return false;
    this.#awaited = null;
    if (st.type === 'fulfilled') {
      try {
        a.ok(st.value);
      } finally {
        if (st.value !== a.handle) st.value.dispose();
        a.handle.dispose();
      }
    } else {
      try {
        a.fail(st.error);
      } finally {
        st.error.dispose();
        a.handle.dispose();
      }
    }
    return true;
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    setImmediate(this.#pump);
  }

  /**
   * Runs pending jobs in chunks until the awaited promise settles, nothing is left to run, or the
   * run's slice of this turn is used up (then it yields, so timers, IPC and other runs go on).
   */
  readonly #pump = (): void => {
    this.#pumpQueued = false;
    const sliceEnd = performance.now() + SLICE_MS;
    while (!this.#done && this.#awaited !== null) {
      if (this.#stopIfFlagged()) return;
      if (this.#pollAwaited()) continue;
      const r = this.#enter(() => this.#rt!.executePendingJobs(JOB_CHUNK));
      if (r === BROKEN) return;
      if (r.error) {
        // A job ended in an uncatchable error (an interrupt) or in an uncaught exception.
        if (this.#stop === null) this.#threw(r.error);
        r.error.dispose();
        if (!this.#done) this.#stopIfFlagged();
        return;
      }
      const now = performance.now();
      if (r.value === 0) {
        if (this.#pollAwaited()) continue;
        if (this.#host.pending === 0) {
          this.#finish({
            ok: false,
            code: 'script_never_settled',
            message: 'the promise the script returned can never settle: no job, timer or fetch is left that could settle it',
          });
        }
        this.#checkMemory(now);
        return; // a timer or fetch wakes the run up
      }
      if (now >= sliceEnd) {
        this.#checkMemory(now);
        this.#schedulePump();
        return;
      }
    }
  };

  /** After a host event ran sandbox code: stop if something says so, else go on. */
  #afterHostEvent(): void {
    if (this.#done || this.#stopIfFlagged()) return;
    if (this.#budget) return;
    this.#pump();
  }

  /** Acts on a stop decided by the interrupt handler, the deadline or an abort flag; true when the run is ending. */
  #stopIfFlagged(): boolean {
    if (this.#done) return true;
    if (this.#stop === null) {
      if (!this.#budget) this.#readAbortFlag();
      if (this.#stop === null && performance.now() >= this.#deadline) this.#stop = this.#budget ? 'budget' : 'timeout';
    }
    switch (this.#stop) {
      case null:
        return false;
      case 'memory':
        this.#finish(memoryEnding(this.#wire.memoryBytes));
        return true;
      case 'timeout':
        this.#abortKind ??= 'timeout';
        this.#beginAbort();
        return true;
      case 'abort':
        this.#beginAbort();
        return true;
      case 'budget':
        this.#finishAborted();
        return true;
    }
  }

  #readAbortFlag(): boolean {
    const flags = this.#env.flags;
    const slot = this.#wire.slot;
    if (flags === null || slot < 0) return false;
    const flag = Atomics.load(flags, slot);
    if (flag === ABORT_FLAG.none) return false;
    this.#abortKind ??= flag === ABORT_FLAG.cancel ? 'cancel' : 'timeout';
    this.#poolAborted = true;
    this.#stop = 'abort';
    return true;
  }

  /**
   * Called by QuickJS every few thousand instructions (and inside regex matching). It must be
   * cheap and must not touch the context: it only decides, and the host acts once QuickJS has
   * unwound (every entry point checks #stop afterwards).
   */
  readonly #onInterrupt = (): boolean => {
    if (this.#stop !== null) return true;
    const now = performance.now();
    if (now >= this.#deadline) {
      this.#stop = this.#budget ? 'budget' : 'timeout';
      return true;
    }
    if (!this.#budget && this.#readAbortFlag()) return true;
    if (this.#memory?.interrupt(now) === true) {
      this.#stop = 'memory';
      return true;
    }
    this.maybeSample(now, false);
    return false;
  };

  /** Between slices: the memory limit, sampled when due. */
  #checkMemory(now: number): void {
    if (this.#memory?.checkIfDue(now) === true) this.#finish(memoryEnding(this.#wire.memoryBytes));
  }

  /**
   * Every synchronous entry into the interpreter goes through here: it counts CPU time, and a
   * host exception out of QuickJS (the native stack exhausted, a wasm trap) fails the run and
   * retires its instance, whose C state may be half-updated.
   */
  #enter<T>(fn: () => T): Entered<T> {
    const outer = this.#entryCpu < 0;
    const current = this.#env.current;
    if (outer) {
      this.#entryWall = performance.now();
      this.#entryCpu = cpuMicros();
      if (current !== null) current[1] = this.id;
    }
    try {
      return fn();
    } catch (err) {
      this.#broken(err);
      return BROKEN;
    } finally {
      if (outer) {
        if (current !== null) current[1] = 0;
        this.#cpuUs = this.#cpuUsed();
        this.#entryCpu = -1;
      }
    }
  }

  /** CPU time of the run so far, the current entry included. */
  #cpuUsed(): number {
    if (this.#entryCpu < 0) return this.#cpuUs;
    const cpu = cpuMicros() - this.#entryCpu;
    return this.#cpuUs + (threadCpu !== undefined ? cpu : Math.min(cpu, (performance.now() - this.#entryWall) * 1000));
  }

  #broken(err: unknown): void {
    if (this.#inst !== null) this.#inst.poisoned = true;
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.#stop === 'memory' || (e instanceof RangeError && /memory|allocation/i.test(e.message))) {
      this.#finish(memoryEnding(this.#wire.memoryBytes));
    } else if (e instanceof RangeError && /call stack/i.test(e.message)) {
      this.#finish(STACK_OVERFLOW);
    } else if (this.#stop !== null && this.#stop !== 'budget') {
      this.#abortKind ??= 'timeout';
      this.#finishAborted();
    } else {
      this.#finish({ ok: false, code: 'internal', message: `the interpreter failed: ${e.name}: ${e.message}` });
    }
  }

  /**
   * Disposes what a host-invoked callback returned; a throw ends the run, as an uncaught
   * exception would end a process. False when the interpreter broke under the call.
   */
  #settleCallback(r: Entered<ReturnType<QuickJSContext['callFunction']>>): boolean {
    if (r === BROKEN) return false;
    if (r.error) {
      if (this.#stop === null) this.#threw(r.error);
      r.error.dispose();
    } else {
      r.value.dispose();
    }
    return true;
  }

  // ---- endings ------------------------------------------------------------------------------

  #returned(value: QuickJSHandle): void {
    const vm = this.#vm!;
    const r = this.#enter(() => vm.callFunction(this.#fns[1]!, vm.undefined, value));
    if (r === BROKEN) return;
    if (r.error) {
      // Only an interrupt or an out-of-memory escapes serialize(): it catches everything else.
      if (this.#stop === null) this.#threw(r.error);
      r.error.dispose();
      this.#stopIfFlagged();
      return;
    }
    const h = r.value;
    try {
      if (this.#stopIfFlagged()) return;
      this.#finish(resultEnding(vm, h, this.#env.cfg.resultMaxBytes));
    } finally {
      h.dispose();
    }
  }

  /** What a thrown value says about itself (asked inside the sandbox, under the run's limits). */
  #describe(err: QuickJSHandle): Thrown {
    const vm = this.#vm!;
    if (this.#stop !== null) return UNDESCRIBED;
    const r = this.#enter(() => vm.callFunction(this.#fns[2]!, vm.undefined, err));
    if (r === BROKEN) return UNDESCRIBED;
    if (r.error) {
      r.error.dispose();
      return UNDESCRIBED;
    }
    try {
      return vm.typeof(r.value) === 'string' ? parseThrown(vm.getString(r.value)) : UNDESCRIBED;
    } finally {
      r.value.dispose();
    }
  }

  /** The script threw or its promise rejected. */
  #threw(err: QuickJSHandle): void {
    if (this.#done || this.#stop !== null) return;
    const d = this.#describe(err);
    if (this.#done || this.#stop !== null) return;
    this.#finish(thrownEnding(d, this.#wire.memoryBytes, false));
  }

  /** Evaluating the module failed: a syntax error, a failed import, or its top-level code threw. */
  #moduleFailed(err: QuickJSHandle): void {
    const d = this.#describe(err);
    err.dispose();
    if (this.#done || this.#stopIfFlagged()) return;
    this.#finish(thrownEnding(d, this.#wire.memoryBytes, true));
  }

  /**
   * Timeout or cancel: the sandbox's signal aborts (pending sleeps and fetches reject, listeners
   * run) within ABORT_BUDGET_MS, then the run ends whatever the script does.
   */
  #beginAbort(): void {
    if (this.#done) return;
    if (this.#budget) {
      this.#finishAborted();
      return;
    }
    this.#budget = true;
    this.#stop = null;
    this.#deadline = performance.now() + ABORT_BUDGET_MS;
    this.#host.clear();
    const vm = this.#vm;
    if (vm === null || this.#fns.length === 0) {
      this.#finishAborted();
      return;
    }
    const kind = this.#abortKind ?? 'timeout';
    const r = this.#enter(() => {
      const arg = vm.newString(kind);
      try {
        return vm.callFunction(this.#fns[0]!, vm.undefined, arg);
      } finally {
        arg.dispose();
      }
    });
    if (r === BROKEN) return;
    if (r.error) r.error.dispose();
    else r.value.dispose();
    // What the listeners queued (catch blocks of awaited sleeps, logs) runs within the budget.
    while (this.#stop === null && !this.#done && performance.now() < this.#deadline) {
      const j = this.#enter(() => this.#rt!.executePendingJobs(JOB_CHUNK));
      if (j === BROKEN) return;
      if (j.error) j.error.dispose();
      else if (j.value === 0) break;
    }
    this.#finishAborted();
  }

  #finishAborted(): void {
    this.#finish(abortedEnding(this.#abortKind ?? 'timeout', this.#poolAborted, this.#wire.timeoutMs));
  }

  /**
   * Ends the run exactly once and reports it. The interpreter is freed a microtask later: callers
   * up the stack may still hold handles (the value being serialised, the error being described),
   * and QuickJS aborts if a runtime is freed with live objects.
   */
  #finish(ending: Ending): void {
    if (this.#done) return;
    this.#done = true;
    this.#host.clear();
    this.#memory?.measure(performance.now());
    this.log.seal();
    const usage: [number, number] = [Math.round(this.#cpuUsed() / 100) / 10, this.#memory?.peakBytes ?? 0];
    const done = { ...ending, id: this.id, u: usage } as WireScriptDone;
    if (this.log.truncated) done.truncated = true;
    this.#env.ended(this, done, this.log.take());
    queueMicrotask(() => this.#teardown());
  }

  #teardown(): void {
    const inst = this.#inst;
    this.#memory?.detach();
    if (inst !== null) inst.counterAddr = 0;
    if (inst !== null && !inst.poisoned) {
      try {
        this.#awaited?.handle.dispose();
        for (const h of this.#fns) h.dispose();
        this.#vm?.dispose();
        this.#rt?.dispose();
      } catch {
        inst.poisoned = true;
      }
    }
    this.#awaited = null;
    this.#fns = [];
    this.#vm = null;
    this.#rt = null;
    this.#inst = null;
    if (inst !== null) this.#env.instances.release(inst);
  }

  #disposeQuietly(h: QuickJSHandle): void {
    if (this.#inst?.poisoned) return;
    try {
      h.dispose();
    } catch {
      if (this.#inst !== null) this.#inst.poisoned = true;
    }
  }
}
