// The one builder of the `run:transition` event (RunTransition), for every place that publishes
// one: the scheduler's claims, starts, completions and retries, and the API's creates, cancels
// and moves.

import type { RunTransition } from './events.js';
import type { RunErrorCode } from './run-errors.js';
import type { Millis, NewRun, Run, RunStatus } from './types.js';

/**
 * What the transition changed that the run object does not show (yet): the scheduler publishes
 * starts and completions from its copy of the run as it was claimed. A field left out comes from
 * the run; `null` means none.
 */
export interface TransitionChange {
  to?: RunStatus;
  startedAt?: Millis | null;
  finishedAt?: Millis | null;
  reason?: string | null;
  errorCode?: RunErrorCode | null;
}

/**
 * The event for `run` moving from `from` (null: the run was just created) to its status at `at`.
 * Without `change` everything comes from the run as it is now (a NewRun has not started, finished
 * or failed).
 */
export function transitionEvent(run: Run | NewRun, from: RunStatus | null, at: Millis, change?: TransitionChange): RunTransition {
  const stored = 'startedAt' in run ? run : null;
  return {
    runId: run.id,
    taskId: run.taskId,
    taskName: run.taskName,
    namespace: run.namespace,
    from,
    to: change?.to ?? run.status,
    at,
    scheduledFor: run.scheduledFor,
    attempt: run.attempt,
    startedAt: change?.startedAt !== undefined ? change.startedAt : (stored?.startedAt ?? null),
    finishedAt: change?.finishedAt !== undefined ? change.finishedAt : (stored?.finishedAt ?? null),
    reason: change?.reason !== undefined ? change.reason : (run.reason ?? null),
    errorCode: change?.errorCode !== undefined ? change.errorCode : (stored?.error?.code ?? null),
  };
}
