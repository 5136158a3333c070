import type { QueryKey } from '@tanstack/react-query';
import { useLiveEvents, type RunTransitionEvent } from '../../live/live-events';
import { overviewKeys } from './queries';
import { useThrottledRefetch } from './useThrottledRefetch';

/** How often at most the counts and lists are fetched again while events keep coming. */
const REFETCH_EVERY_MS = 2000;

/**
 * Keeps the Overview current from the event stream: run transitions go to `applySeries` (the
 * charts change at once), and each batch refetches only the parts it changes, throttled. (When
 * the stream (re)connects, LiveEventsProvider has every query read again.)
 */
export function useOverviewLive(namespace: string | undefined, applySeries: (events: RunTransitionEvent[]) => void): void {
  const refetch = useThrottledRefetch(REFETCH_EVERY_MS);

  useLiveEvents((batch) => {
    const transitions: RunTransitionEvent[] = [];
    const keys = new Map<string, QueryKey>();
    const want = (key: QueryKey): void => void keys.set(String(key[1]), key);
    for (const e of batch) {
      if (e.type === 'task:changed') {
        if (namespace !== undefined && e.task.namespace !== namespace) continue;
        want(overviewKeys.stats(namespace));
        want(overviewKeys.nextRuns(namespace));
        continue;
      }
      if (namespace !== undefined && e.namespace !== namespace) continue;
      transitions.push(e);
      want(overviewKeys.stats(namespace));
      if (e.to === 'failed' || e.to === 'timed_out') want(overviewKeys.failures(namespace));
      // A run joins the pending list when created or moved, and leaves it when claimed or cancelled.
      if (e.from === null || e.from === 'scheduled' || e.to === 'scheduled') want(overviewKeys.nextRuns(namespace));
    }
    applySeries(transitions);
    if (keys.size > 0) refetch([...keys.values()]);
  });
}
