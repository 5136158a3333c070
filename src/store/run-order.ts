// The order runs are claimed and handed to the dispatcher in, shared by every store.
import type { Run } from '../core/types.js';

/** Due time, then priority (higher first), then id: the order runs are claimed in. */
export function byDueOrder(a: Run, b: Run): number {
  if (a.scheduledFor !== b.scheduledFor) return a.scheduledFor - b.scheduledFor;
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** True when `runs` are already in due order (checking costs one pass; sorting more). */
export function isDueOrdered(runs: readonly Run[]): boolean {
  for (let i = 1; i < runs.length; i++) if (byDueOrder(runs[i - 1]!, runs[i]!) > 0) return false;
  return true;
}
