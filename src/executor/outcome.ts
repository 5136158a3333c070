// Builders for RunOutcome, so every runner reports endings the same way. The error codes a runner
// may put on a run are the one catalog in core/run-errors.ts (`RunErrorCode`).

import type { Clock } from '../core/clock.js';
import type { LogLine, RunError } from '../core/types.js';
import { runError, type RunErrorCode } from '../core/run-errors.js';
import type { RunOutcome } from './executor.js';

/** Parts of an outcome a runner decides; the rest has defaults. */
export interface OutcomeParts {
  result?: unknown;
  error?: RunError | null;
  logs?: LogLine[];
  logsTruncated?: boolean;
}

/** An outcome with the given status, no resource metrics, finished now. */
export function makeOutcome(clock: Clock, status: RunOutcome['status'], parts: OutcomeParts = {}): RunOutcome {
  const out: RunOutcome = {
    status,
    error: parts.error ?? null,
    logs: parts.logs ?? [],
    logsTruncated: parts.logsTruncated ?? false,
    cpuMs: null,
    peakRssBytes: null,
    diskWriteBytes: null,
    finishedAt: clock.now(),
  };
  if (parts.result !== undefined) out.result = parts.result;
  return out;
}

/** A failed outcome with one error. */
export function failedOutcome(clock: Clock, code: RunErrorCode, message: string, detail?: unknown, parts: OutcomeParts = {}): RunOutcome {
  return makeOutcome(clock, 'failed', { ...parts, error: runError(code, message, detail) });
}
