// The fixed limits of the script sandbox, and the few helpers that turn options into limits.
// Every number here was chosen against a measurement on quickjs-emscripten 0.32 (QuickJS
// 2025-09-13, wasm32, 2 GiB maximum linear memory); the reasons are next to each one.

/** Interpreter memory of a run when neither the task nor the operator says otherwise. */
export const DEFAULT_MEMORY_BYTES = 128 * 1024 * 1024;

/**
 * QuickJS's own stack limit. Deep recursion must hit it (a clean, catchable `InternalError:
 * stack overflow`) before the native stack of the thread runs out: a V8 `RangeError` unwinding
 * through wasm frames leaves that wasm instance unusable. The parser spends ~64 bytes of this
 * stack per nesting level and well over 1 KiB of native stack, hence the big thread stack below.
 */
export const QUICKJS_STACK_BYTES = 512 * 1024;

/**
 * Native stack of the interpreter thread (worker_threads `resourceLimits.stackSizeMb`). With
 * 32 MiB and a 512 KiB QuickJS stack, ~40 hostile recursion shapes (parser nesting, getters,
 * Proxy traps, toJSON, Array.prototype.flat/join, bound functions…) all end in QuickJS's check.
 */
export const THREAD_STACK_MB = 32;

/** The interpreter thread's own JS heap (logs, fetch bodies, bookkeeping): not the scripts'. */
export const THREAD_HEAP_MB = 512;

/**
 * wasm32 instances cannot grow past 2 GiB. QuickJS under emscripten cannot see allocation sizes
 * (malloc_usable_size is unavailable), so its memory limit only stops single allocations larger
 * than the limit; the sandbox therefore also samples the real usage and caps the growth of the
 * instance's linear memory at this multiple of the run's limit (realloc copying and
 * fragmentation need headroom: a 100 MB array built by pushes peaks at ~430 MB of linear memory).
 */
export const GROWTH_FACTOR = 3;
export const GROWTH_SLACK_BYTES = 32 * 1024 * 1024;
export const WASM_MAX_BYTES = 2 * 1024 * 1024 * 1024;

/** A wasm instance larger than this after its run is dropped rather than kept for the next run. */
export const KEEP_INSTANCE_BYTES = 64 * 1024 * 1024;

/** Longest single log line (bytes of UTF-8); longer lines are cut. */
export const LINE_MAX_BYTES = 64 * 1024;

/**
 * What each log line costs on top of its bytes, so a flood of empty lines is bounded like any
 * other: 1 MiB of log is at most 64 Ki lines in the worker, in IPC and in the store.
 */
export const LINE_OVERHEAD_BYTES = 16;

/** Default cap of a fetch response body. */
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;
/** Fetches of one run in flight at once; more wait in a queue of at most FETCH_QUEUE_MAX. */
export const FETCH_CONCURRENCY = 6;
export const FETCH_QUEUE_MAX = 64;
export const FETCH_MAX_REDIRECTS = 5;

/** Timers (sleep, setTimeout) one run may have pending at once. */
export const TIMERS_MAX = 1000;

/** Pending jobs run per executePendingJobs call, and the longest slice of one run per turn. */
export const JOB_CHUNK = 256;
export const SLICE_MS = 5;

/** How long abort listeners (and what they await) may run after a timeout or cancel. */
export const ABORT_BUDGET_MS = 50;

/** Memory sampling: at most every SAMPLE_MIN_MS, and never more than 1/SAMPLE_COST_RATIO of the time. */
export const SAMPLE_MIN_MS = 10;
export const SAMPLE_COST_RATIO = 20;

/** QuickJS calls the interrupt handler every this many ticks (calls, loop iterations). */
export const QUICKJS_INTERRUPT_TICKS = 10_000;

/**
 * After the wasm heap grew ("hot"), for HOT_MS: the interrupt handler asks to be called about
 * every HOT_INTERRUPT_MS and samples up to every HOT_SAMPLE_MS, so a burst of large allocations
 * (100 × 1 MiB in a 100-iteration loop never reaches a regular interrupt) is measured near its
 * peak and stopped near the limit.
 */
export const HOT_MS = 250;
export const HOT_INTERRUPT_MS = 0.5;
export const HOT_SAMPLE_MS = 1;
export const HOT_SAMPLE_COST_RATIO = 5;

/** Runs longer than this get a resource sample about this often. */
export const RESOURCE_SAMPLE_MS = 1000;

/** The interpreter thread's liveness tick, the child's heartbeat to the pool, and when a child counts as stalled. */
export const TICK_MS = 20;
export const HEARTBEAT_MS = 100;
export const STALL_MS = 250;

/** The memory limit of one run: the task's, else the default, never above the operator's maximum. */
export function runMemoryBytes(spec: unknown, defaultBytes: number, maxBytes: number): number {
  const limits = spec !== null && typeof spec === 'object' ? (spec as { limits?: unknown }).limits : undefined;
  const asked = limits !== null && typeof limits === 'object' ? (limits as { memoryBytes?: unknown }).memoryBytes : undefined;
  const wanted = typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? Math.floor(asked) : defaultBytes;
  return Math.max(1024 * 1024, Math.min(wanted, maxBytes, WASM_MAX_BYTES));
}

/** The most linear memory a wasm instance may grow to while it runs a script with this limit. */
export function growthCapBytes(memoryBytes: number): number {
  return Math.min(WASM_MAX_BYTES, memoryBytes * GROWTH_FACTOR + GROWTH_SLACK_BYTES);
}

/** Niceness of interpreter threads (0 normal, 19 lowest): below the server's own threads. */
export const INTERPRETER_NICE = 10;
