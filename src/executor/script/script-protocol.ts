// The closed protocol of the script pool, inside the envelope both pools share
// (pool/pool-protocol.ts). Three parties:
//
//   pool (scheduler process) --IPC--> child main thread --postMessage--> interpreter thread
//
// The child's main thread only relays (script-relay.ts): it never runs user code, so it always
// answers (heartbeat, parent-death watch, aborts). Aborts also reach the interpreter thread
// (script-interpreter.ts) through shared memory, so a script stuck in a synchronous loop is
// stopped by its interrupt handler within milliseconds.
//
// Both directions are batched per event-loop turn, as in module/module-protocol.ts: one message
// per turn amortises serialisation and wake-ups over every run that started or ended in it.

import type { RunErrorCode } from '../../core/run-errors.js';
import {
  isReadyOrBatch,
  isRunBatch,
  type FromChildBatch as PoolBatch,
  type FromChildReady,
  type ToChildBatch as PoolRunBatch,
} from '../pool/pool-protocol.js';

export type { AbortReason, FromChildReady, WireLogLine } from '../pool/pool-protocol.js';

/** Limits and capabilities a child applies to every run; passed once, as argv, when forked. */
export interface ScriptWorkerConfig {
  logMaxBytes: number;
  resultMaxBytes: number;
  fetchMaxBytes: number;
  /** Hosts, addresses and CIDR ranges a script's fetch may reach although private or loopback. */
  outboundAllow: string[];
}

/** What the pool passes a child as argv[2]. */
export interface ScriptChildConfig extends ScriptWorkerConfig {
  /** The pool's per-worker concurrency: how many wasm instances the thread keeps warm. */
  concurrency: number;
}

/** One run for a child to start. */
export interface WireScriptRun {
  id: number;
  code: string;
  /** Interpreter memory limit of this run, already clamped by the pool. */
  memoryBytes: number;
  timeoutMs: number;
  payload: unknown;
  runId: string;
  attempt: number;
  /** Epoch ms; the sandbox hands scripts an ISO string. */
  scheduledFor: number;
  idempotencyKey: string;
  taskId: string;
  taskName: string;
  /** The values of the secrets the spec lists, for `ctx.secrets` (absent: none). */
  secrets?: Record<string, string>;
}

/** A run as the main thread hands it to the interpreter thread: with its abort-flag slot. */
export interface ThreadRun extends WireScriptRun {
  /** Index in the shared abort flags, or -1 when none was free. */
  slot: number;
}

/** Values of a run's shared abort flag. */
export const ABORT_FLAG = { none: 0, timeout: 1, cancel: 2 } as const;

/** How many runs one child can have abort flags for; far above any per-worker concurrency. */
export const ABORT_SLOTS = 4096;

/** Pool → child, and child main thread → interpreter thread. */
export type ToChildBatch = PoolRunBatch<WireScriptRun>;

/** [cpuMs, peak interpreter memory in bytes]. */
export type WireUsage = [number, number];

interface WireDoneBase {
  id: number;
  u: WireUsage;
  /** The run's log reached its cap (the marker line was streamed with the others). */
  truncated?: true;
}

export interface WireScriptSucceeded extends WireDoneBase {
  ok: true;
  /** Absent when the script returned undefined. */
  result?: unknown;
}

/**
 * A run that failed in the sandbox (`script_*`, `result_*`), or ended because it was aborted
 * (`aborted`) or passed the child's own copy of its deadline (`timeout`). The pool decides the
 * status of the last two.
 */
export interface WireScriptFailed extends WireDoneBase {
  ok: false;
  code: RunErrorCode | 'aborted';
  message: string;
  detail?: unknown;
}

export type WireScriptDone = WireScriptSucceeded | WireScriptFailed;

/** [wire id, epoch ms, cpuMs, interpreter bytes in use]: cumulative since the run started. */
export type WireScriptSample = [number, number, number, number];

/**
 * Child → pool (and interpreter thread → main thread): what happened during one turn. Log lines
 * always travel in `logs`, before (or with) the run's ending. `back`: runs the child hands back
 * unstarted because its interpreter is held by a synchronous script.
 */
export interface FromChildBatch extends PoolBatch<WireScriptDone, WireScriptSample> {
  /**
   * Heartbeat: [ms since the interpreter thread's event loop last turned, child RSS bytes, share
   * of the time since the last heartbeat the interpreter thread was busy, in per mille].
   */
  hb?: [number, number, number];
}

export type FromChild = FromChildReady | FromChildBatch;

/** Interpreter thread → main thread: QuickJS is loaded. */
export interface ThreadReady {
  t: 'ready';
}

/** Interpreter thread → main thread: a run's first synchronous stretch is over. */
export interface ThreadBegun {
  t: 'begun';
}

/** Narrows an IPC message from a child. */
export function isFromChild(msg: unknown): msg is FromChild {
  return isReadyOrBatch(msg);
}

/** Narrows a message to a child. */
export function isToChild(msg: unknown): msg is ToChildBatch {
  return isRunBatch(msg);
}
