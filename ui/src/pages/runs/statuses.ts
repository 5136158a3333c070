// The run lifecycle as the API documents it (docs/api.md "Runs").

import type { RunStatus } from '../../api/client';

/** Every run status, in lifecycle order. */
export const RUN_STATUSES: readonly RunStatus[] = ['scheduled', 'queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];

const FINISHED = new Set<string>(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);

/** Whether a run with this status will not change any more. */
export function isFinished(status: string): boolean {
  return FINISHED.has(status);
}

/** Whether a run with this status may be moved to another time. */
export function isReschedulable(status: string): boolean {
  return status === 'scheduled' || status === 'queued';
}

/** Whether a run with this status may be cancelled. */
export function isCancellable(status: string): boolean {
  return status === 'scheduled' || status === 'queued' || status === 'running';
}

/** The last 8 characters of a UUIDv7 (its first ones are a timestamp, alike for runs made together). */
export function shortId(id: string): string {
  return id.slice(-8);
}
