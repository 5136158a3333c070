// Keeps a page of runs current from the shared event stream: rows on screen take each transition
// at once (status and times patched in the cache), and the first page is refetched, throttled to
// once a second, so new runs and runs that now match the filters appear.

import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useLiveEvents, type RunTransitionEvent } from '../../live/live-events';
import type { RunFilters, RunPage } from './api';
import { applyTransition } from '../../live/applyTransition';
import { useThrottled } from '../../live/useThrottled';

/** Whether a transition may change what a list with these filters shows. */
function concerns(f: RunFilters, e: RunTransitionEvent): boolean {
  if (f.namespace && e.namespace !== f.namespace) return false;
  if (f.task && e.taskId !== f.task && e.taskName !== f.task) return false;
  if (f.from && e.scheduledFor < f.from) return false;
  if (f.to && e.scheduledFor >= f.to) return false;
  if (f.status) {
    const wanted = f.status.split(',');
    if (!wanted.includes(e.to) && (e.from === null || !wanted.includes(e.from))) return false;
  }
  return true;
}

/** Live updates for the page of runs cached under `queryKey` (`firstPage`: also refetch it). */
export function useLiveRunList(queryKey: QueryKey, filters: RunFilters, firstPage: boolean): void {
  const queryClient = useQueryClient();
  const refetch = useThrottled(() => void queryClient.invalidateQueries({ queryKey, exact: true }), 1000);
  useLiveEvents((batch) => {
    const transitions = batch.filter((e): e is RunTransitionEvent => e.type === 'run:transition' && concerns(filters, e));
    if (transitions.length === 0) return;
    const latest = new Map<string, RunTransitionEvent>();
    for (const e of transitions) latest.set(e.runId, e);
    queryClient.setQueryData<RunPage>(queryKey, (page) => {
      if (page === undefined || !page.items.some((r) => latest.has(r.id))) return page;
      return { ...page, items: page.items.map((r) => (latest.has(r.id) ? applyTransition(r, latest.get(r.id)!) : r)) };
    });
    if (firstPage) refetch();
  });
}
