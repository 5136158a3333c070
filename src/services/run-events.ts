// Run transitions the API causes (a run created, cancelled or moved), published on the bus
// after the store committed them, like the scheduler does for its own.

import type { EventBus, RunTransition } from '../core/events.js';
import type { Millis, Run, RunStatus } from '../core/types.js';
import type { NewRun } from '../store/store.js';

/** Publishes that `run` moved from `from` to its current status at `at`. */
export function publishRun(bus: EventBus, run: Run | NewRun, from: RunStatus | null, at: Millis): void {
  if (!bus.has('run:transition')) return;
  const transition: RunTransition = {
    runId: run.id,
    taskId: run.taskId,
    taskName: run.taskName,
    namespace: run.namespace,
    from,
    to: run.status,
    at,
    scheduledFor: run.scheduledFor,
    attempt: run.attempt,
    startedAt: 'startedAt' in run ? run.startedAt : null,
    finishedAt: 'finishedAt' in run ? run.finishedAt : null,
    reason: run.reason ?? null,
    errorCode: 'error' in run ? (run.error?.code ?? null) : null,
  };
  bus.emit('run:transition', transition);
}

/** The status a cancelled, never-started run had before: queued runs carry `queuedAt`. */
export function statusBeforeCancel(run: Run): RunStatus {
  return run.queuedAt === null ? 'scheduled' : 'queued';
}
