// The closed IPC protocol between the module pool (parent) and its worker children, inside the
// envelope both pools share (pool/pool-protocol.ts).
//
// Both directions are batched: everything one side has to say in one event-loop turn travels as
// one message. Node's IPC channel costs a JSON.stringify, a pipe write and a wake-up of the other
// process per message, so one message per run caps the pool at a few thousand runs/s; one message
// per turn amortises that over hundreds of runs (bench/executor-bench.ts --no-coalesce shows it).
//
// Run ids on the wire are small pool-local integers, not run UUIDs: they are map keys on both
// sides and cost a few bytes. Log lines are tuples for the same reason.

import type { RunErrorCode } from '../../core/run-errors.js';
import {
  isReadyOrBatch,
  isRunBatch,
  type FromChildBatch as PoolBatch,
  type FromChildReady,
  type ToChildBatch as PoolRunBatch,
  type WireLogLine,
} from '../pool/pool-protocol.js';

export { MAX_BATCH, type AbortReason, type FromChildReady, type WireLogLine } from '../pool/pool-protocol.js';

/** Limits a child applies to every run; passed once, as argv, when the child is forked. */
export interface WorkerConfig {
  logMaxBytes: number;
  resultMaxBytes: number;
  /** false: one message per ended run (only to measure what batching buys). */
  coalesce: boolean;
}

/** One run for a child to start. `file` is absolute and already checked against the tasks dir. */
export interface WireRun {
  id: number;
  file: string;
  export: string;
  payload: unknown;
  runId: string;
  attempt: number;
  /** Epoch ms; the child hands user code an ISO string. */
  scheduledFor: number;
  idempotencyKey: string;
  taskId: string;
  taskName: string;
}

/** Parent → child: runs to start and runs to abort, gathered over one turn. */
export type ToChildBatch = PoolRunBatch<WireRun>;

export type ToChild = ToChildBatch;

interface WireDoneBase {
  id: number;
  /** [cpuMs, peakRssBytes, diskWriteBytes] of the worker while the run was in flight. */
  u?: [number, number, number];
  /** Absent when the run logged nothing (most runs), to keep messages small. */
  logs?: WireLogLine[];
  truncated?: true;
}

/** A run that returned a JSON-serialisable value within the size limit. */
export interface WireSucceeded extends WireDoneBase {
  ok: true;
  result: unknown;
}

/** A run that ended in an error the child detected (threw, bad result, missing export…). */
export interface WireFailed extends WireDoneBase {
  ok: false;
  /** A run error code, or `aborted_before_start` (aborted while its module loaded; the parent decides the status). */
  code: RunErrorCode | 'aborted_before_start';
  message: string;
  detail?: unknown;
}

export type WireDone = WireSucceeded | WireFailed;

/** [wire id, epoch ms, cpuMs, rssBytes, diskWriteBytes]: cumulative since the run started. */
export type WireSample = [number, number, number, number, number];

/** Child → parent: runs that ended during one turn, and what running runs logged meanwhile. */
export type FromChildBatch = PoolBatch<WireDone, WireSample>;

export type FromChild = FromChildReady | FromChildBatch;

/** Narrows an IPC message from a child; anything else is a protocol violation. */
export function isFromChild(msg: unknown): msg is FromChild {
  return isReadyOrBatch(msg);
}

/** Narrows an IPC message from the parent. */
export function isToChild(msg: unknown): msg is ToChild {
  return isRunBatch(msg);
}
