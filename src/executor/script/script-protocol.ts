// The closed protocol of the script pool. Three parties:
//
//   pool (scheduler process) --IPC--> child main thread --postMessage--> interpreter thread
//
// The child's main thread only relays: it never runs user code, so it always answers (heartbeat,
// parent-death watch, aborts). Aborts also reach the interpreter thread through shared memory, so
// a script stuck in a synchronous loop is stopped by its interrupt handler within milliseconds.
//
// Both directions are batched per event-loop turn, as in module-protocol.ts: one message per turn
// amortises serialisation and wake-ups over every run that started or ended in it.

import type { RunErrorCode } from '../../core/run-errors.js';
import type { WireLogLine } from '../module-protocol.js';
import { isReadyOrBatch, isRunBatch } from '../pool-protocol.js';

export type { WireLogLine };

/** Limits and capabilities a child applies to every run; passed once, as argv, when forked. */
export interface ScriptWorkerConfig {
  logMaxBytes: number;
  resultMaxBytes: number;
  fetchMaxBytes: number;
  /** Hosts, addresses and CIDR ranges a script's fetch may reach although private or loopback. */
  outboundAllow: string[];
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
}

/** A run as the main thread hands it to the interpreter thread: with its abort-flag slot. */
export interface ThreadRun extends WireScriptRun {
  /** Index in the shared abort flags, or -1 when none was free. */
  slot: number;
}

/** Why the pool aborts a run. */
export type AbortReason = 'timeout' | 'cancel';

/** Values of a run's shared abort flag. */
export const ABORT_FLAG = { none: 0, timeout: 1, cancel: 2 } as const;

/** How many runs one child can have abort flags for; far above any per-worker concurrency. */
export const ABORT_SLOTS = 4096;

/** Pool → child, and child main thread → interpreter thread. */
export interface ToChildBatch {
  t: 'batch';
  runs: WireScriptRun[];
  /** [wire id, reason]. */
  aborts: [number, AbortReason][];
}

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

/** Child → pool (and interpreter thread → main thread): what happened during one turn. */
export interface FromChildBatch {
  t: 'batch';
  done: WireScriptDone[];
  /** Log lines by wire id, in order; a run's lines always travel before (or with) its ending. */
  logs?: [number, WireLogLine[]][];
  samples?: WireScriptSample[];
  /** Heartbeat: [ms since the interpreter thread's event loop last turned, child RSS bytes]. */
  hb?: [number, number];
  /**
   * Runs the child hands back unstarted (wire ids): its interpreter is held by a synchronous
   * script, so the pool gives them to another worker.
   */
  back?: number[];
}

export interface FromChildReady {
  t: 'ready';
  pid: number;
}

export type FromChild = FromChildReady | FromChildBatch;

/** Narrows an IPC message from a child. */
export function isFromChild(msg: unknown): msg is FromChild {
  return isReadyOrBatch(msg);
}

/** Narrows a message to a child. */
export function isToChild(msg: unknown): msg is ToChildBatch {
  return isRunBatch(msg);
}
