// The host functions one script run can call (through the prelude, script-prelude.ts): log lines,
// timers, fetch, and the prelude's own source parts. Values cross the boundary as strings or
// numbers, and the host never trusts a value that came out of the sandbox: types and sizes are
// checked before anything is copied out. Timers and fetches are the host work that can still
// settle the script's promise; each is bounded per run.

import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import { toLevel } from '../log-capture.js';
import type { SandboxEnv } from './sandbox-env.js';
import { FETCH_CONCURRENCY, FETCH_QUEUE_MAX, LINE_MAX_BYTES, TIMERS_MAX } from './script-limits.js';
import type { ScriptLog } from './script-log.js';
import { PARTS } from './script-prelude.js';

/** A call into the interpreter as the run makes it: its result, or BROKEN when the interpreter broke. */
export type Entered<T> = T | typeof BROKEN;

/** Sentinel: a host exception went through QuickJS; the run has been failed already. */
export const BROKEN = Symbol('broken');

type CallResult = ReturnType<QuickJSContext['callFunction']>;

/** What the host functions need of their run. */
export interface HostRun {
  /** The run's context (only asked while the run has one). */
  vm(): QuickJSContext;
  done(): boolean;
  readonly log: ScriptLog;
  /** The log has lines waiting to be sent. */
  logsPending(): void;
  /** Enters the interpreter the way every entry must (CPU accounting, host exceptions). */
  enter<T>(fn: () => T): Entered<T>;
  /**
   * A callback the host invoked has returned: disposes its value, a throw ends the run. False when
   * the interpreter broke under the call.
   */
  settle(r: Entered<CallResult>): boolean;
  /** Sandbox code ran from a host event: stop if something says so, else go on. */
  afterHostEvent(): void;
  /** Disposes a handle unless its instance is broken (a failure marks it broken). */
  disposeQuietly(h: QuickJSHandle): void;
}

interface PendingFetch {
  req: string;
  cb: QuickJSHandle;
}

export class ScriptHost {
  readonly #run: HostRun;
  readonly #env: SandboxEnv;
  readonly #timers = new Map<number, { timer: NodeJS.Timeout; cb: QuickJSHandle }>();
  #timerSeq = 0;
  readonly #fetchQueue: PendingFetch[] = [];
  readonly #fetchActive = new Set<PendingFetch>();
  #fetchAbort: AbortController | null = null;

  constructor(run: HostRun, env: SandboxEnv) {
    this.#run = run;
    this.#env = env;
  }

  /** The functions the prelude receives, in its order: log, timer, clearTimer, fetch, source. The caller disposes them. */
  functions(vm: QuickJSContext): QuickJSHandle[] {
    return [
      vm.newFunction('log', (level, message) => this.#log(level, message)),
      vm.newFunction('timer', (ms, cb) => this.#timer(ms, cb)),
      vm.newFunction('clearTimer', (id) => this.#clearTimer(id)),
      vm.newFunction('fetch', (req, cb) => this.#fetch(req, cb)),
      vm.newFunction('source', (name) => {
        const key = name !== undefined && vm.typeof(name) === 'string' ? vm.getString(name) : '';
        const src = Object.hasOwn(PARTS, key) ? PARTS[key] : undefined;
        if (src === undefined) throw new Error('no such part');
        return vm.newString(src);
      }),
    ];
  }

  /** Timers and fetches that could still settle the script's promise. */
  get pending(): number {
    return this.#timers.size + this.#fetchActive.size + this.#fetchQueue.length;
  }

  /** Cancels timers and fetches; their callbacks never run. */
  clear(): void {
    for (const t of this.#timers.values()) {
      clearTimeout(t.timer);
      this.#run.disposeQuietly(t.cb);
    }
    this.#timers.clear();
    for (const f of this.#fetchQueue) this.#run.disposeQuietly(f.cb);
    this.#fetchQueue.length = 0;
    for (const f of this.#fetchActive) this.#run.disposeQuietly(f.cb);
    this.#fetchActive.clear();
    this.#fetchAbort?.abort();
    this.#fetchAbort = null;
  }

  #str(h: QuickJSHandle | undefined, maxChars: number): string | null {
    const vm = this.#run.vm();
    if (h === undefined || vm.typeof(h) !== 'string') return null;
    const len = vm.getNumber(vm.getProp(h, 'length'));
    return len > maxChars ? null : vm.getString(h);
  }

  /** Appends a line; answers 0 once the log is full, so the prelude stops formatting lines. */
  #log(level: QuickJSHandle | undefined, message: QuickJSHandle | undefined): QuickJSHandle {
    const run = this.#run;
    if (!run.log.truncated) {
      const lv = this.#str(level, 16) ?? 'info';
      const text = this.#str(message, LINE_MAX_BYTES + 64) ?? '[a log line too long to read]';
      if (run.log.push(toLevel(lv), text)) run.logsPending();
    }
    return run.vm().newNumber(run.log.truncated ? 0 : 1);
  }

  #timer(msH: QuickJSHandle | undefined, cbH: QuickJSHandle | undefined): QuickJSHandle {
    const vm = this.#run.vm();
    if (this.#timers.size >= TIMERS_MAX) throw new Error(`too many pending timers (at most ${TIMERS_MAX} per run)`);
    if (cbH === undefined || vm.typeof(cbH) !== 'function') throw new TypeError('timer callback must be a function');
    const ms = msH !== undefined && vm.typeof(msH) === 'number' ? vm.getNumber(msH) : 0;
    const delay = Number.isFinite(ms) ? Math.min(Math.max(0, ms), 2 ** 31 - 1) : 0;
    const id = ++this.#timerSeq;
    const cb = cbH.dup();
    this.#timers.set(id, { timer: setTimeout(() => this.#fireTimer(id), delay), cb });
    return vm.newNumber(id);
  }

  #clearTimer(idH: QuickJSHandle | undefined): void {
    const vm = this.#run.vm();
    if (idH === undefined || vm.typeof(idH) !== 'number') return;
    const id = vm.getNumber(idH);
    const t = this.#timers.get(id);
    if (t === undefined) return;
    this.#timers.delete(id);
    clearTimeout(t.timer);
    t.cb.dispose();
  }

  #fireTimer(id: number): void {
    const run = this.#run;
    const t = this.#timers.get(id);
    if (t === undefined || run.done()) return;
    this.#timers.delete(id);
    const vm = run.vm();
    const r = run.enter(() => vm.callFunction(t.cb, vm.undefined));
    t.cb.dispose();
    if (!run.settle(r)) return;
    run.afterHostEvent();
  }

  #fetch(reqH: QuickJSHandle | undefined, cbH: QuickJSHandle | undefined): void {
    const vm = this.#run.vm();
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
    while (this.#fetchActive.size < FETCH_CONCURRENCY && this.#fetchQueue.length > 0 && !this.#run.done()) {
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
    const run = this.#run;
    if (!this.#fetchActive.delete(f) || run.done()) return;
    const vm = run.vm();
    const r = run.enter(() => {
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
    if (!run.settle(r)) return;
    this.#startFetches();
    run.afterHostEvent();
  }
}
