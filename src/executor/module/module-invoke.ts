// Runs module tasks inside a worker child: loads each file once, calls its export with a ctx,
// checks the result, and reports every ending as a WireDone. Many runs are in flight at once;
// nothing here blocks between them.

import type { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { jsonTextDepth, MAX_JSON_DEPTH, tooDeepMessage } from '../../core/json-depth.js';
import type { RunErrorCode } from '../../core/run-errors.js';
import { RunLog, toLevel } from '../log-capture.js';
import type { AbortReason, WireDone, WireLogLine, WireRun, WireSample, WorkerConfig } from './module-protocol.js';
import { ProcessUsage, RunUsage } from './worker-usage.js';

type Namespace = Record<string, unknown>;
type TaskFn = (ctx: unknown) => unknown;

const STACK_LINES = 12;
const STACK_CHARS = 4000;

/** The first lines of an error's stack: enough to find the bug, small enough to store per run. */
export function stackExcerpt(err: unknown): string | undefined {
  const stack = err instanceof Error ? err.stack : undefined;
  if (typeof stack !== 'string') return undefined;
  return stack.split('\n').slice(0, STACK_LINES).join('\n').slice(0, STACK_CHARS);
}

/** The function a task names, or undefined. Tolerates CommonJS files compiled from ESM. */
function pickExport(ns: Namespace, name: string): TaskFn | undefined {
  const direct = ns[name];
  if (typeof direct === 'function') return direct as TaskFn;
  const def = ns.default;
  if (def !== null && typeof def === 'object') {
    // `exports.default = fn` or `exports.name = fn` that Node's CJS export detection missed.
    const inner = (def as Namespace)[name];
    if (typeof inner === 'function') return inner as TaskFn;
  }
  return undefined;
}

/** One run in flight in this child. */
class ActiveRun {
  readonly log: RunLog;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;

  constructor(
    readonly wire: WireRun,
    logMaxBytes: number,
    onPendingLog: (run: ActiveRun) => void,
    readonly usage: RunUsage,
  ) {
    this.log = new RunLog(logMaxBytes, () => onPendingLog(this));
  }

  // Created on first use: most runs never look at their signal, and an AbortController per run
  // is measurable at tens of thousands of runs per second.
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  abort(reason: AbortReason): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason =
      reason === 'timeout' ? new DOMException('The run timed out', 'TimeoutError') : new DOMException('The run was cancelled', 'AbortError');
    this.#controller?.abort(this.#abortReason);
  }

  get aborted(): boolean {
    return this.#aborted;
  }
}

/** The `ctx` handed to user code. `signal` is an own getter, so `{ ...ctx }` still carries it. */
function makeContext(active: ActiveRun): unknown {
  const w = active.wire;
  const log = active.log;
  return {
    payload: w.payload,
    run: { id: w.runId, attempt: w.attempt, scheduledFor: new Date(w.scheduledFor).toISOString(), idempotencyKey: w.idempotencyKey },
    task: { id: w.taskId, name: w.taskName },
    log(message: unknown, level?: unknown): void {
      log.push(toLevel(level), typeof message === 'string' ? message : format(message));
    },
    get signal(): AbortSignal {
      return active.signal;
    },
  };
}

/**
 * Starts runs, tracks them until they end, and hands each ending to `onDone`. Log lines of runs
 * still running wait in their RunLog; `onLogs` says that some are waiting, and the caller takes
 * them with `takeLogs` when it next writes to the parent.
 */
export class ModuleInvoker {
  readonly #cfg: WorkerConfig;
  readonly #als: AsyncLocalStorage<RunLog>;
  readonly #onDone: (done: WireDone) => void;
  readonly #onLogs: () => void;
  readonly #active = new Map<number, ActiveRun>();
  readonly #modules = new Map<string, Namespace>();
  readonly #loading = new Map<string, Promise<Namespace>>();
  readonly #usage = new ProcessUsage();
  #pendingLogs: ActiveRun[] = [];
  readonly #markPending = (run: ActiveRun): void => {
    if (this.#pendingLogs.push(run) === 1) this.#onLogs();
  };

  constructor(cfg: WorkerConfig, als: AsyncLocalStorage<RunLog>, onDone: (done: WireDone) => void, onLogs: () => void = () => {}) {
    this.#cfg = cfg;
    this.#als = als;
    this.#onDone = onDone;
    this.#onLogs = onLogs;
  }

  /** Runs in flight. */
  get size(): number {
    return this.#active.size;
  }

  /** Lines written by runs that are still running, since the last call. */
  takeLogs(): [number, WireLogLine[]][] {
    const out: [number, WireLogLine[]][] = [];
    const runs = this.#pendingLogs;
    this.#pendingLogs = [];
    for (const run of runs) {
      // A run that ended meanwhile sent its lines with its ending.
      if (!this.#active.has(run.wire.id)) continue;
      const lines = run.log.take();
      if (lines !== undefined) out.push([run.wire.id, lines]);
    }
    return out;
  }

  /** Folds a fresh reading into every run's peak; returns samples of runs due one (every second after the first). */
  sample(now: number): WireSample[] {
    const r = this.#usage.read();
    const out: WireSample[] = [];
    for (const run of this.#active.values()) {
      run.usage.see(r);
      if (now - run.usage.lastSampleAt < 1000) continue;
      run.usage.lastSampleAt = now;
      const [cpuMs, , disk] = run.usage.totals(r);
      out.push([run.wire.id, now, cpuMs, r.rssBytes, disk]);
    }
    return out;
  }

  /** Starts one run; it reports through `onDone` exactly once. */
  start(wire: WireRun): void {
    const run = new ActiveRun(wire, this.#cfg.logMaxBytes, this.#markPending, new RunUsage(this.#usage.read(), Date.now()));
    this.#active.set(wire.id, run);
    const ns = this.#modules.get(wire.file);
    // The common case (module already loaded) calls user code in this very turn.
    if (ns !== undefined) {
      this.#invoke(run, ns);
      return;
    }
    this.#load(wire.file).then(
      (loaded) => this.#invoke(run, loaded),
      (err: unknown) =>
        this.#fail(run, 'module_load_failed', `cannot load ${wire.file}: ${errorMessage(err)}`, { stack: stackExcerpt(err) }),
    );
  }

  /** Aborts a run's ctx.signal; the run still reports when its code settles. */
  abort(id: number, reason: AbortReason): void {
    this.#active.get(id)?.abort(reason);
  }

  #load(file: string): Promise<Namespace> {
    let p = this.#loading.get(file);
    if (p === undefined) {
      // Node caches the module by URL; this map only saves the async hop on every later run.
      p = (import(pathToFileURL(file).href) as Promise<Namespace>).then(
        (ns) => {
          this.#modules.set(file, ns);
          this.#loading.delete(file);
          return ns;
        },
        (err: unknown) => {
          this.#loading.delete(file);
          throw err;
        },
      );
      this.#loading.set(file, p);
    }
    return p;
  }

  #invoke(run: ActiveRun, ns: Namespace): void {
    const w = run.wire;
    if (run.aborted) {
      // Cancelled or timed out while its module was loading: user code never starts. The parent
      // decides the status; this only says that nothing ran.
      this.#fail(run, 'aborted_before_start', 'the run was aborted before its code started');
      return;
    }
    const fn = pickExport(ns, w.export);
    if (fn === undefined) {
      const kind = w.export in ns ? `is not a function (${typeof ns[w.export]})` : 'does not exist';
      this.#fail(run, 'module_export_missing', `export "${w.export}" of ${w.file} ${kind}`);
      return;
    }
    let ret: unknown;
    try {
      ret = this.#als.run(run.log, fn, makeContext(run));
    } catch (err) {
      this.#threw(run, err);
      return;
    }
    if (ret !== null && typeof ret === 'object' && typeof (ret as PromiseLike<unknown>).then === 'function') {
      (ret as PromiseLike<unknown>).then(
        (value) => this.#settle(run, value),
        (err: unknown) => this.#threw(run, err),
      );
    } else {
      this.#settle(run, ret);
    }
  }

  #settle(run: ActiveRun, value: unknown): void {
    if (!this.#active.has(run.wire.id)) return;
    const result = value === undefined ? null : value;
    // Scalars need no check; objects are stringified once here to prove they are JSON and small
    // enough. The IPC channel serialises them again: cheaper for the parent than a string to parse.
    if (result !== null && typeof result !== 'number' && typeof result !== 'boolean') {
      let json: string | undefined;
      try {
        json = JSON.stringify(result);
      } catch (err) {
        this.#fail(run, 'result_not_json', `the returned value is not JSON-serialisable: ${errorMessage(err)}`);
        return;
      }
      if (json === undefined) {
        this.#fail(run, 'result_not_json', `the returned value is not JSON-serialisable (${typeof result})`);
        return;
      }
      const max = this.#cfg.resultMaxBytes;
      if (json.length > max || (json.length * 3 > max && Buffer.byteLength(json, 'utf8') > max)) {
        const size = Buffer.byteLength(json, 'utf8');
        this.#fail(run, 'result_too_large', `the result is ${size} bytes of JSON; the limit is ${max}`, { bytes: size, limit: max });
        return;
      }
      // Deeper data would overflow the stack of whoever walks it next (the IPC channel, the
      // store, the API, the dashboard); JSON.stringify itself gives up only near 4,800 levels.
      if (jsonTextDepth(json) > MAX_JSON_DEPTH) {
        this.#fail(run, 'result_too_deep', tooDeepMessage('the result'), { limit: MAX_JSON_DEPTH });
        return;
      }
    }
    this.#end(run, { id: run.wire.id, ok: true, result });
  }

  #threw(run: ActiveRun, err: unknown): void {
    const name = err instanceof Error ? err.name : typeof err;
    this.#fail(run, 'module_threw', errorMessage(err), { name, stack: stackExcerpt(err) });
  }

  #fail(run: ActiveRun, code: RunErrorCode | 'aborted_before_start', message: string, detail?: unknown): void {
    if (!this.#active.has(run.wire.id)) return;
    this.#end(run, detail === undefined ? { id: run.wire.id, ok: false, code, message } : { id: run.wire.id, ok: false, code, message, detail });
  }

  #end(run: ActiveRun, done: WireDone): void {
    this.#active.delete(run.wire.id);
    run.log.seal();
    const lines = run.log.take();
    if (lines !== undefined) done.logs = lines;
    if (run.log.truncated) done.truncated = true;
    done.u = run.usage.totals(this.#usage.read());
    this.#onDone(done);
  }
}

/** A thrown value's message, whatever was thrown. */
function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
  } catch {
    return String(err);
  }
}
