// The run state machine of DESIGN.md "Run states": which status may follow which. Stores and the
// dispatcher check transitions here, so a late or duplicated write cannot revive a finished run.
import { TERMINAL_STATUSES, type RunStatus } from './types.js';

/** Every allowed move, by the status it starts from. */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  scheduled: ['queued', 'cancelled', 'skipped'],
  // Back to `scheduled`: released on shutdown or rescheduled. `failed`: lost with its node.
  queued: ['running', 'scheduled', 'cancelled', 'skipped', 'failed'],
  // Back to `scheduled`: released on drain before the work had any effect.
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'scheduled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  skipped: [],
};

/**
 * True when a run may move from `from` to `to`. Staying in the same status (a rescheduled
 * `scheduled` run, a renewed lease) is an update, not a transition, and is false here.
 */
export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

/** True for statuses a run never leaves. */
export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
