// The envelope both pools' IPC protocols share (module/module-protocol.ts,
// script/script-protocol.ts): a child says `ready` once, then both sides send per-turn `batch`
// messages. Each protocol owns its payload types (what a run is, what a child reports of its
// usage) and narrows with its own type predicate; the envelope, and the checks of it, live here so
// that a child of either pool is held to the same rules and the pool (worker-pool.ts) can read
// both.

import type { RunErrorCode } from '../../core/run-errors.js';
import type { LogLevel } from '../../core/types.js';

/**
 * Most runs (or endings) in one message. Unbounded batches make the two sides take turns: the
 * child idles while the parent serialises 1,000 runs. Sending every 256 lets them overlap; with
 * 2,000 in flight on a quiet 2-core machine this measured ~100k runs/s against ~65-85k unbounded.
 */
export const MAX_BATCH = 256;

/** Why the parent aborts a run. */
export type AbortReason = 'timeout' | 'cancel';

/** [epoch ms, level, message]. */
export type WireLogLine = [number, LogLevel, string];

/** A run as the parent sends it: a pool-local integer id (a map key on both sides) and the kind's fields. */
export interface WireRunBase {
  id: number;
}

/** Parent → child: runs to start and runs to abort, gathered over one turn. */
export interface ToChildBatch<R extends WireRunBase> {
  t: 'batch';
  runs: R[];
  /** [wire id, reason] pairs. */
  aborts: [number, AbortReason][];
}

interface WireEndBase {
  id: number;
  /** The run's log reached its cap (the marker line travels with the others). */
  truncated?: true;
  /** The run's last lines, when they travel with its ending rather than in `logs`. */
  logs?: WireLogLine[];
}

/** A run that returned a JSON-serialisable value within the size limit (absent: undefined). */
export interface WireEndOk extends WireEndBase {
  ok: true;
  result?: unknown;
}

/**
 * What a child reports of a run that ended because it was aborted: `aborted` (script),
 * `aborted_before_start` (module: aborted while its module loaded). The pool decides the status.
 */
export type WireAbortCode = 'aborted' | 'aborted_before_start';

/**
 * A run that ended in an error the child detected, or that ended because it was aborted
 * (WireAbortCode) or passed the child's own copy of its deadline (`timeout`): the pool decides the
 * status of those.
 */
export interface WireEndFailed extends WireEndBase {
  ok: false;
  code: RunErrorCode | WireAbortCode;
  message: string;
  detail?: unknown;
}

/** How a run ended, as any child reports it. */
export type WireEnd = WireEndOk | WireEndFailed;

/** [wire id, epoch ms, cpuMs, rssBytes, diskWriteBytes?]: cumulative since the run started. */
export type WireSampleBase = [number, number, number, number] | [number, number, number, number, number];

/** Child → parent: sent once, after the child's message handler is installed. */
export interface FromChildReady {
  t: 'ready';
  pid: number;
}

/** Child → parent: runs that ended during one turn, and what running runs logged meanwhile. */
export interface FromChildBatch<D extends WireEnd, S extends WireSampleBase> {
  t: 'batch';
  done: D[];
  /** Lines of runs still running, by wire id, in order; a run's lines travel before (or with) its ending. */
  logs?: [number, WireLogLine[]][];
  /** Samples of runs running longer than a second. */
  samples?: S[];
  /** Runs the child hands back unstarted (wire ids): the pool places them again, first in line. */
  back?: number[];
}

/** A child's `ready` with its pid, or a batch that carries a `done` list. */
export function isReadyOrBatch(msg: unknown): boolean {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { t?: unknown; pid?: unknown; done?: unknown };
  if (m.t === 'ready') return typeof m.pid === 'number';
  if (m.t === 'batch') return Array.isArray(m.done);
  return false;
}

/** A parent's batch: runs to start and runs to abort. */
export function isRunBatch(msg: unknown): boolean {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { t?: unknown; runs?: unknown; aborts?: unknown };
  return m.t === 'batch' && Array.isArray(m.runs) && Array.isArray(m.aborts);
}
