import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { client, unwrap } from '../../api/client';
import type { RunTransitionEvent } from '../../live/live-events';
import { overviewKeys } from './queries';
import { advance, applyTransitions, fromResponse, type LiveSeries } from './series';
import { serverNow } from './serverClock';

/** Minutes the charts cover. */
export const SERIES_MINUTES = 60;

/**
 * The last hour of runs per minute, fetched once and then kept current by `apply(events)` and
 * by a timer that starts a new minute at each minute boundary (server time). Events that arrive
 * while a fetch is in flight are held and applied to its answer; only events after the moment
 * the server counted are applied (so a run is counted once, not twice or never).
 */
export function useRunSeries(namespace: string | undefined) {
  const queryClient = useQueryClient();
  // One buffer per fetch in flight (a namespace change can overlap two).
  const inFlight = useRef(new Set<RunTransitionEvent[]>());
  const query = useQuery({
    queryKey: overviewKeys.series(namespace),
    queryFn: async (): Promise<LiveSeries> => {
      const held: RunTransitionEvent[] = [];
      inFlight.current.add(held);
      try {
        const sentAt = serverNow();
        const res = unwrap(await client.GET('/v1/stats/runs', { params: { query: { minutes: SERIES_MINUTES, namespace } } }));
        // The answer says when its window ends, not when it was counted: take the middle of the
        // round trip, in server time.
        const countedAt = (sentAt + serverNow()) / 2;
        return advance(applyTransitions(fromResponse(res, countedAt), held), serverNow());
      } finally {
        inFlight.current.delete(held);
      }
    },
    // Events keep it current while the page is open; a refetch would only repeat them. Coming
    // back to the page fetches again: nothing listened meanwhile.
    staleTime: Infinity,
    refetchOnMount: 'always',
    // A namespace not on screen gets no events: drop its series at once, so coming back to it
    // fetches again instead of showing a cached hour with a hole in it.
    gcTime: 0,
  });

  const apply = useCallback(
    (events: RunTransitionEvent[]) => {
      if (events.length === 0) return;
      for (const held of inFlight.current) held.push(...events);
      queryClient.setQueryData<LiveSeries>(overviewKeys.series(namespace), (s) => (s === undefined ? s : applyTransitions(s, events)));
    },
    [queryClient, namespace],
  );

  const lastMinute = query.data?.minutes[query.data.minutes.length - 1]?.at;
  const bucketMs = query.data?.bucketMs;
  useEffect(() => {
    if (lastMinute === undefined || bucketMs === undefined) return;
    const boundary = lastMinute + bucketMs;
    const t = window.setTimeout(() => {
      // At least to the boundary the timer was set for, even if the clock estimate moved since.
      const now = Math.max(serverNow(), boundary);
      queryClient.setQueryData<LiveSeries>(overviewKeys.series(namespace), (s) => (s === undefined ? s : advance(s, now)));
    }, Math.max(0, boundary - serverNow()) + 20);
    return () => clearTimeout(t);
  }, [lastMinute, bucketMs, queryClient, namespace]);

  return { query, apply };
}
