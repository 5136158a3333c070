// Run transitions the API causes (a run created, cancelled or moved), published on the bus
// after the store committed them, like the scheduler does for its own.

import type { EventBus } from '../core/events.js';
import { transitionEvent } from '../core/transition-event.js';
import type { Millis, Run, RunStatus } from '../core/types.js';
import type { NewRun } from '../store/store.js';

/** Publishes that `run` moved from `from` to its current status at `at`. */
export function publishRun(bus: EventBus, run: Run | NewRun, from: RunStatus | null, at: Millis): void {
  if (bus.has('run:transition')) bus.emit('run:transition', transitionEvent(run, from, at));
}

/** The status a cancelled, never-started run had before: queued runs carry `queuedAt`. */
export function statusBeforeCancel(run: Run): RunStatus {
  return run.queuedAt === null ? 'scheduled' : 'queued';
}
