// One `script` run inside QuickJS (WebAssembly), in the interpreter thread of a pool child.
//
// Isolation: every run gets a fresh QuickJS runtime AND context, so no global, prototype change
// or leftover job of one run is visible to the next, and its memory limit is its own. The
// runtime lives in a wasm instance of its own for the run (wasm-instances.ts).
//
// The script reaches the host only through the prelude's host functions (script-prelude.ts).
// Values cross the boundary as strings (JSON) or numbers; the host never trusts a value that
// came out of the sandbox (types and sizes are checked before anything is copied out).
//
// The interrupt handler is the run's guard while its code runs synchronously: it enforces the
// deadline, the pool's aborts (through shared memory, so a tight loop is stopped without the
// event loop), and the memory limit by sampling the runtime's real usage. QuickJS's own
// setMemoryLimit only stops single allocations under emscripten (it cannot see allocation sizes),
// so sampling plus a cap on the instance's memory growth do the rest.

import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten';
import { toLevel } from '../log-capture.js';
import type { SandboxEnv } from './sandbox-env.js';
import {
  ABORT_BUDGET_MS,
  FETCH_CONCURRENCY,
  FETCH_QUEUE_MAX,
  growthCapBytes,
  JOB_CHUNK,
  LINE_MAX_BYTES,
  QUICKJS_INTERRUPT_TICKS,
  QUICKJS_STACK_BYTES,
  RESOURCE_SAMPLE_MS,
  SAMPLE_COST_RATIO,
  SAMPLE_MIN_MS,
  HOT_INTERRUPT_MS,
  HOT_MS,
  HOT_SAMPLE_COST_RATIO,
  HOT_SAMPLE_MS,
  SLICE_MS,
  TIMERS_MAX,
} from './script-limits.js';
import { ScriptLog } from './script-log.js';
import { PARTS, PRELUDE } from './script-prelude.js';
import { ABORT_FLAG, type AbortReason, type ThreadRun, type WireScriptDone } from './script-protocol.js';
import { pointerOf, type Instance } from './wasm-instances.js';

type Stop = 'timeout' | 'abort' | 'memory' | 'budget';
/** An ending before the pool-facing fields are added (distributes over the union). */
type Ending = WireScriptDone extends infer T ? (T extends WireScriptDone ? Omit<T, 'id' | 'u'> : never) : never;
interface Pending {
  handle: QuickJSHandle;
  ok: (value: QuickJSHandle) => void;
  fail: (error: QuickJSHandle) => void;
}
interface PendingFetch {
  req: string;
  cb: QuickJSHandle;
}

/** Sentinel: a host exception went through QuickJS; the run has been failed already. */
const BROKEN = Symbol('broken');

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

const STACK_LINES = 12;
const STACK_CHARS = 4000;
/** A parse error's stack is one frame at the script itself; a runtime SyntaxError has callers. */
const COMPILE_ERROR_STACK = /^\s*at script\.js:(\d+):(\d+)\s*$/;
const MEMORY_ERRORS: ReadonlySet<string> = new Set([
  'InternalError: out of memory',
  'InternalError: string too long',
  'RangeError: invalid array buffer length',
  'RangeError: invalid string length',
]);

/** The first lines of a stack, without the prelude's own frames. */
function stackExcerpt(stack: string): string {
  const lines = stack.split('\n').filter((l) => !l.includes('sundial:prelude') && !l.includes('<input>'));
  return lines.slice(0, STACK_LINES).join('\n').slice(0, STACK_CHARS);
}

export class ScriptRun {
  readonly id: number;
  readonly log: ScriptLog;
  readonly #env: SandboxEnv;
  readonly #wire: ThreadRun;
  readonly #startedAt = performance.now();
  #deadline: number;
  #inst: Instance | null = null;
  #rt: QuickJSRuntime | null = null;
  #vm: QuickJSContext | null = null;
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
  // Accounting.
  #cpuUs = 0;
  #entryCpu = -1;
  #usedBytes = 0;
  #peakBytes = 0;
  #nextSampleAt = 0;
  #seenGrew = 0;
  #hotUntil = 0;
  #nextHotSampleAt = 0;
  #lastInterruptAt = 0;
  #hotTicks = 0;
  #hotTime = 0;
  #lastCounter = QUICKJS_INTERRUPT_TICKS;
  #lastResourceAt: number;
  // Host work that could still settle the script's promise.
  readonly #timers = new Map<number, { timer: NodeJS.Timeout; cb: QuickJSHandle }>();
  #timerSeq = 0;
  readonly #fetchQueue: PendingFetch[] = [];
  readonly #fetchActive = new Set<PendingFetch>();
  #fetchAbort: AbortController | null = null;

  constructor(env: SandboxEnv, wire: ThreadRun) {
    this.#env = env;
    this.#wire = wire;
    this.id = wire.id;
    this.log = new ScriptLog(env.cfg.logMaxBytes);
    // The pool owns the real deadline and aborts the run at it; this copy (a little later, as the
    // pool's clock started first) only matters if that abort cannot arrive.
    this.#deadline = this.#startedAt + Math.max(0, wire.timeoutMs) + 50;
    this.#lastResourceAt = this.#startedAt;
  }

  start(): void {
    this.#env.instances.acquire().then(
      (inst) => {
        try {
          this.#begin(inst);
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
    if (measure && this.#entryCpu < 0 && this.#rt !== null) this.#measure(now);
    const cpu = this.#cpuUs + (this.#entryCpu >= 0 ? cpuMicros() - this.#entryCpu : 0);
    this.#env.hooks.sample([this.id, Date.now(), Math.round(cpu / 100) / 10, this.#usedBytes]);
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
    const rt = this.#inst!.module.newRuntime();
    this.#rt = rt;
    rt.setMemoryLimit(w.memoryBytes);
    rt.setMaxStackSize(QUICKJS_STACK_BYTES);
    rt.setInterruptHandler(this.#onInterrupt);
    const vm = rt.newContext();
    this.#vm = vm;
    const offset = this.#env.instances.counterOffset;
    const ctxPtr = pointerOf(vm, 'ctx');
    this.#inst!.counterAddr = offset !== null && ctxPtr !== 0 ? ctxPtr + offset : 0;
    this.#seenGrew = this.#inst!.grew;
    this.#lastInterruptAt = performance.now();
    let scheduledFor: string | null = null;
    try {
      scheduledFor = new Date(w.scheduledFor).toISOString();
    } catch {
      // An invalid date reaches the script as null.
    }
    const info = JSON.stringify({
      run: { id: w.runId, attempt: w.attempt, scheduledFor, idempotencyKey: w.idempotencyKey },
      task: { id: w.taskId, name: w.taskName },
    });
    const payload = w.payload === undefined ? undefined : JSON.stringify(w.payload);
    const factory = vm.unwrapResult(vm.evalCode(PRELUDE, 'sundial:prelude', { type: 'global' }));
    const args = [
      vm.newFunction('log', (level, message) => this.#hostLog(level, message)),
      vm.newFunction('timer', (ms, cb) => this.#hostTimer(ms, cb)),
      vm.newFunction('clearTimer', (id) => this.#hostClearTimer(id)),
      vm.newFunction('fetch', (req, cb) => this.#hostFetch(req, cb)),
      vm.newFunction('source', (name) => {
        const key = name !== undefined && vm.typeof(name) === 'string' ? vm.getString(name) : '';
        const src = Object.hasOwn(PARTS, key) ? PARTS[key] : undefined;
        if (src === undefined) throw new Error('no such part');
        return vm.newString(src);
      }),
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
        if (this.#hostWork() === 0) {
          this.#finish({
            ok: false,
            code: 'script_never_settled',
            message: 'the promise the script returned can never settle: no job, timer or fetch is left that could settle it',
          });
        }
        this.#measureIfDue(now);
        return; // a timer or fetch wakes the run up
      }
      if (now >= sliceEnd) {
        this.#measureIfDue(now);
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
        this.#memoryExceeded();
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
    const inst = this.#inst!;
    // Ticks QuickJS counted down since the last call: what we set then, or 1 after a growth poke.
    let ticks = this.#lastCounter;
    // The heap grew past the limit's size: the run may be over it, whatever sampling costs (the
    // linear memory bounds what is in use, so below the limit no sample is needed to be safe).
    const mustSample = inst.grew !== this.#seenGrew && inst.memory.buffer.byteLength > this.#wire.memoryBytes;
    if (inst.grew !== this.#seenGrew) {
      if (now >= this.#hotUntil) this.#hotTicks = this.#hotTime = 0;
      this.#hotUntil = now + HOT_MS;
      ticks = 1;
    }
    const elapsed = now - this.#lastInterruptAt;
    this.#lastInterruptAt = now;
    const hot = now < this.#hotUntil;
    if (hot) {
      this.#hotTicks += ticks;
      this.#hotTime += elapsed;
    }
    if (mustSample || now >= this.#nextSampleAt || (hot && now >= this.#nextHotSampleAt)) {
      this.#measure(now);
      if (this.#usedBytes > this.#wire.memoryBytes) {
        this.#stop = 'memory';
        return true;
      }
    }
    // While the heap grows, ask QuickJS to call back about every HOT_INTERRUPT_MS instead of every
    // 10,000 ticks (which a loop of 100 big allocations never reaches): the counter is set from
    // the tick rate just observed, so a tight loop is not slowed down by the handler.
    if (hot && inst.counterAddr !== 0) {
      // Ticks per ms over the whole hot period: single intervals are too noisy (a growth poke
      // fires after one tick, an allocation may take milliseconds).
      const rate = this.#hotTicks / Math.max(this.#hotTime, 0.05);
      this.#lastCounter = Math.max(1, Math.min(QUICKJS_INTERRUPT_TICKS, Math.round(rate * HOT_INTERRUPT_MS)));
      new Int32Array(inst.memory.buffer)[inst.counterAddr >> 2] = this.#lastCounter;
    } else {
      this.#lastCounter = QUICKJS_INTERRUPT_TICKS;
    }
    this.maybeSample(now, false);
    return false;
  };

  /** Reads the runtime's real memory use (its own dump: no object is created in the sandbox). */
  #measure(now: number): void {
    const rt = this.#rt;
    if (rt === null || this.#inst === null || this.#inst.poisoned) return;
    let used = -1;
    try {
      const m = /^memory used\s+\d+\s+(\d+)/m.exec(rt.dumpMemoryUsage());
      if (m !== null) used = Number(m[1]);
    } catch {
      // The dump itself may fail when the heap is exhausted; the growth cap still holds.
    }
    const after = performance.now();
    // Sampling a heap of millions of values costs milliseconds: space samples so they take at
    // most 1/SAMPLE_COST_RATIO of the run's time.
    // While the heap grows, up to 1/HOT_SAMPLE_COST_RATIO: that is when the peak happens.
    const cost = after - now;
    this.#nextSampleAt = after + Math.max(SAMPLE_MIN_MS, cost * SAMPLE_COST_RATIO);
    this.#nextHotSampleAt = after + Math.max(HOT_SAMPLE_MS, cost * HOT_SAMPLE_COST_RATIO);
    this.#seenGrew = this.#inst.grew;
    if (used < 0) return;
    this.#usedBytes = used;
    if (used > this.#peakBytes) this.#peakBytes = used;
  }

  #measureIfDue(now: number): void {
    if (now >= this.#nextSampleAt) this.#measure(now);
    if (this.#usedBytes > this.#wire.memoryBytes) this.#memoryExceeded();
  }

  /**
   * Every synchronous entry into the interpreter goes through here: it counts CPU time, and a
   * host exception out of QuickJS (the native stack exhausted, a wasm trap) fails the run and
   * retires its instance, whose C state may be half-updated.
   */
  #enter<T>(fn: () => T): T | typeof BROKEN {
    const outer = this.#entryCpu < 0;
    const wall = outer ? performance.now() : 0;
    const current = this.#env.current;
    if (outer) {
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
        const cpu = cpuMicros() - this.#entryCpu;
        this.#cpuUs += threadCpu !== undefined ? cpu : Math.min(cpu, (performance.now() - wall) * 1000);
        this.#entryCpu = -1;
      }
    }
  }

  #broken(err: unknown): void {
    if (this.#inst !== null) this.#inst.poisoned = true;
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.#stop === 'memory' || (e instanceof RangeError && /memory|allocation/i.test(e.message))) {
      this.#memoryExceeded();
    } else if (e instanceof RangeError && /call stack/i.test(e.message)) {
      this.#finish({ ok: false, code: 'script_threw', message: 'stack overflow', detail: { name: 'InternalError', stack: '' } });
    } else if (this.#stop !== null && this.#stop !== 'budget') {
      this.#abortKind ??= 'timeout';
      this.#finishAborted();
    } else {
      this.#finish({ ok: false, code: 'internal', message: `the interpreter failed: ${e.name}: ${e.message}` });
    }
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
      const max = this.#env.cfg.resultMaxBytes;
      // Check the length before copying the string out: a result can be hundreds of megabytes.
      const len = vm.typeof(h) === 'string' ? vm.getNumber(vm.getProp(h, 'length')) : -1;
      if (len < 1) {
        this.#finish({ ok: false, code: 'internal', message: 'the result could not be read' });
        return;
      }
      if (len - 1 > max) {
        const message = `the result is at least ${len - 1} bytes of JSON; the limit is ${max}`;
        this.#finish({ ok: false, code: 'result_too_large', message, detail: { bytes: len - 1, limit: max } });
        return;
      }
      const text = vm.getString(h);
      const tag = text[0];
      if (tag === 'U') {
        this.#finish({ ok: true });
      } else if (tag === 'E') {
        this.#finish({ ok: false, code: 'result_not_json', message: `the returned value is not JSON-serialisable: ${text.slice(1)}` });
      } else {
        const json = text.slice(1);
        const bytes = Buffer.byteLength(json, 'utf8');
        if (bytes > max) {
          this.#finish({ ok: false, code: 'result_too_large', message: `the result is ${bytes} bytes of JSON; the limit is ${max}`, detail: { bytes, limit: max } });
        } else {
          this.#finish({ ok: true, result: JSON.parse(json) as unknown });
        }
      }
    } finally {
      h.dispose();
    }
  }

  /** What a thrown value says about itself (asked inside the sandbox, under the run's limits). */
  #describe(err: QuickJSHandle): { name: string; message: string; stack: string } {
    const vm = this.#vm!;
    const fallback = { name: 'Error', message: 'the script threw a value that could not be described', stack: '' };
    if (this.#stop !== null) return fallback;
    const r = this.#enter(() => vm.callFunction(this.#fns[2]!, vm.undefined, err));
    if (r === BROKEN) return fallback;
    if (r.error) {
      r.error.dispose();
      return fallback;
    }
    try {
      if (vm.typeof(r.value) !== 'string') return fallback;
      const d = JSON.parse(vm.getString(r.value)) as Record<string, unknown>;
      const str = (v: unknown): string => (typeof v === 'string' ? v : '');
      return { name: str(d.name), message: str(d.message), stack: str(d.stack) };
    } catch {
      return fallback;
    } finally {
      r.value.dispose();
    }
  }

  /** The script threw or its promise rejected. */
  #threw(err: QuickJSHandle): void {
    if (this.#done || this.#stop !== null) return;
    const d = this.#describe(err);
    if (this.#done || this.#stop !== null) return;
    if (MEMORY_ERRORS.has(`${d.name}: ${d.message}`)) {
      this.#memoryExceeded(d.message);
      return;
    }
    this.#finish({ ok: false, code: 'script_threw', message: d.message === '' ? d.name : d.message, detail: { name: d.name, stack: stackExcerpt(d.stack) } });
  }

  /** Evaluating the module failed: a syntax error, a failed import, or its top-level code threw. */
  #moduleFailed(err: QuickJSHandle): void {
    const d = this.#describe(err);
    err.dispose();
    if (this.#done || this.#stopIfFlagged()) return;
    const pos = d.name === 'SyntaxError' ? COMPILE_ERROR_STACK.exec(d.stack) : null;
    if (pos !== null) {
      this.#finish({ ok: false, code: 'script_syntax', message: d.message, detail: { line: Number(pos[1]), column: Number(pos[2]) } });
    } else if (MEMORY_ERRORS.has(`${d.name}: ${d.message}`)) {
      this.#memoryExceeded(d.message);
    } else {
      this.#finish({ ok: false, code: 'script_threw', message: d.message === '' ? d.name : d.message, detail: { name: d.name, stack: stackExcerpt(d.stack) } });
    }
  }

  #memoryExceeded(cause?: string): void {
    const limit = this.#wire.memoryBytes;
    const message = `the script used more than its interpreter memory limit of ${limit} bytes${cause ? ` (${cause})` : ''}`;
    this.#finish({ ok: false, code: 'script_memory_limit', message, detail: { limitBytes: limit } });
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
    this.#clearHostWork();
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
    const kind = this.#abortKind ?? 'timeout';
    if (this.#poolAborted) this.#finish({ ok: false, code: 'aborted', message: `the run was aborted (${kind})` });
    else this.#finish({ ok: false, code: 'timeout', message: `the run did not finish within ${this.#wire.timeoutMs} ms` });
  }

  /**
   * Ends the run exactly once and reports it. The interpreter is freed a microtask later: callers
   * up the stack may still hold handles (the value being serialised, the error being described),
   * and QuickJS aborts if a runtime is freed with live objects.
   */
  #finish(ending: Ending): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearHostWork();
    const inst = this.#inst;
    if (inst !== null && !inst.poisoned && this.#rt !== null) this.#measure(performance.now());
    this.log.seal();
    const usage: [number, number] = [Math.round(this.#cpuUs / 100) / 10, this.#peakBytes];
    const done = { ...ending, id: this.id, u: usage } as WireScriptDone;
    if (this.log.truncated) done.truncated = true;
    this.#env.ended(this, done, this.log.take());
    queueMicrotask(() => this.#teardown());
  }

  #teardown(): void {
    const inst = this.#inst;
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

  // ---- host capabilities (called from inside the sandbox) ------------------------------------

  #str(h: QuickJSHandle | undefined, maxChars: number): string | null {
    const vm = this.#vm!;
    if (h === undefined || vm.typeof(h) !== 'string') return null;
    const len = vm.getNumber(vm.getProp(h, 'length'));
    return len > maxChars ? null : vm.getString(h);
  }

  /** Appends a line; answers 0 once the log is full, so the prelude stops formatting lines. */
  #hostLog(level: QuickJSHandle | undefined, message: QuickJSHandle | undefined): QuickJSHandle {
    const vm = this.#vm!;
    if (!this.log.truncated) {
      const lv = this.#str(level, 16) ?? 'info';
      const text = this.#str(message, LINE_MAX_BYTES + 64) ?? '[a log line too long to read]';
      if (this.log.push(toLevel(lv), text)) this.#env.hooks.logsPending(this);
    }
    return vm.newNumber(this.log.truncated ? 0 : 1);
  }

  #hostTimer(msH: QuickJSHandle | undefined, cbH: QuickJSHandle | undefined): QuickJSHandle {
    const vm = this.#vm!;
    if (this.#timers.size >= TIMERS_MAX) throw new Error(`too many pending timers (at most ${TIMERS_MAX} per run)`);
    if (cbH === undefined || vm.typeof(cbH) !== 'function') throw new TypeError('timer callback must be a function');
    const ms = msH !== undefined && vm.typeof(msH) === 'number' ? vm.getNumber(msH) : 0;
    const delay = Number.isFinite(ms) ? Math.min(Math.max(0, ms), 2 ** 31 - 1) : 0;
    const id = ++this.#timerSeq;
    const cb = cbH.dup();
    this.#timers.set(id, { timer: setTimeout(() => this.#fireTimer(id), delay), cb });
    return vm.newNumber(id);
  }

  #hostClearTimer(idH: QuickJSHandle | undefined): void {
    const vm = this.#vm!;
    if (idH === undefined || vm.typeof(idH) !== 'number') return;
    const id = vm.getNumber(idH);
    const t = this.#timers.get(id);
    if (t === undefined) return;
    this.#timers.delete(id);
    clearTimeout(t.timer);
    t.cb.dispose();
  }

  #fireTimer(id: number): void {
    const t = this.#timers.get(id);
    if (t === undefined || this.#done) return;
    this.#timers.delete(id);
    const vm = this.#vm!;
    const r = this.#enter(() => vm.callFunction(t.cb, vm.undefined));
    t.cb.dispose();
    if (!this.#settleCallback(r)) return;
    this.#afterHostEvent();
  }

  /**
   * Disposes what a host-invoked callback returned; a throw ends the run, as an uncaught
   * exception would end a process. False when the interpreter broke under the call.
   */
  #settleCallback(r: ReturnType<QuickJSContext['callFunction']> | typeof BROKEN): boolean {
    if (r === BROKEN) return false;
    if (r.error) {
      if (this.#stop === null) this.#threw(r.error);
      r.error.dispose();
    } else {
      r.value.dispose();
    }
    return true;
  }

  #hostFetch(reqH: QuickJSHandle | undefined, cbH: QuickJSHandle | undefined): void {
    const vm = this.#vm!;
    if (this.#fetchActive.size + this.#fetchQueue.length >= FETCH_CONCURRENCY + FETCH_QUEUE_MAX) {
      throw new Error(`too many fetches at once (at most ${FETCH_CONCURRENCY} running and ${FETCH_QUEUE_MAX} waiting per run)`);
    }
    if (cbH === undefined || vm.typeof(cbH) !== 'function') throw new TypeError('fetch callback must be a function');
    const req = this.#str(reqH, this.#env.cfg.fetchMaxBytes * 2 + 65536);
    if (req === null) throw new TypeError('fetch: the request is too large');
    this.#fetchQueue.push({ req, cb: cbH.dup() });
    this.#startFetches();
  }

  #startFetches(): void {
    while (this.#fetchActive.size < FETCH_CONCURRENCY && this.#fetchQueue.length > 0 && !this.#done) {
      const f = this.#fetchQueue.shift()!;
      this.#fetchActive.add(f);
      this.#fetchAbort ??= new AbortController();
      this.#env.fetcher.fetch(f.req, this.#fetchAbort.signal).then(
        (out) => this.#fetchDone(f, out.error, out.response),
        (err: unknown) => this.#fetchDone(f, JSON.stringify({ name: 'TypeError', message: `fetch failed: ${(err as Error).message}` }), null),
      );
    }
  }

  #fetchDone(f: PendingFetch, error: string | null, response: string | null): void {
    if (!this.#fetchActive.delete(f) || this.#done) return;
    const vm = this.#vm!;
    const r = this.#enter(() => {
      const a = error === null ? vm.null : vm.newString(error);
      const b = response === null ? vm.null : vm.newString(response);
      try {
        return vm.callFunction(f.cb, vm.undefined, a, b);
      } finally {
        a.dispose();
        b.dispose();
      }
    });
    f.cb.dispose();
    if (!this.#settleCallback(r)) return;
    this.#startFetches();
    this.#afterHostEvent();
  }

  #hostWork(): number {
    return this.#timers.size + this.#fetchActive.size + this.#fetchQueue.length;
  }

  /** Cancels timers and fetches; their callbacks never run. */
  #clearHostWork(): void {
    for (const t of this.#timers.values()) {
      clearTimeout(t.timer);
      this.#disposeQuietly(t.cb);
    }
    this.#timers.clear();
    for (const f of this.#fetchQueue) this.#disposeQuietly(f.cb);
    this.#fetchQueue.length = 0;
    for (const f of this.#fetchActive) this.#disposeQuietly(f.cb);
    this.#fetchActive.clear();
    this.#fetchAbort?.abort();
    this.#fetchAbort = null;
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
