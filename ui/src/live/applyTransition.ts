// A run on screen brought up to date by a run:transition event, with the figures the API
// derives (lateness, duration) worked out the same way, so a patched row reads like a fetched one.

import type { Run } from '../api/client';
import type { RunTransitionEvent } from './live-events';

/** `r` with the transition `e` applied. */
export function applyTransition(r: Run, e: RunTransitionEvent): Run {
  const startedAt = e.startedAt ?? r.startedAt;
  const finishedAt = e.finishedAt ?? r.finishedAt;
  return {
    ...r,
    status: e.to as Run['status'],
    scheduledFor: e.scheduledFor,
    startedAt,
    finishedAt,
    lateMs: startedAt !== null ? Date.parse(startedAt) - Date.parse(e.scheduledFor) : r.lateMs,
    durationMs: startedAt !== null && finishedAt !== null ? Date.parse(finishedAt) - Date.parse(startedAt) : r.durationMs,
    reason: e.reason ?? r.reason,
  };
}
