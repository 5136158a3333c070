// The Overview's API calls, each keyed by the namespace filter (undefined: all the key covers).

import { queryOptions } from '@tanstack/react-query';
import { client, unwrap } from '../../api/client';
import { serverNow, noteServerTime } from './serverClock';

/** How many rows the two run lists show. */
export const LIST_SIZE = 10;

/** Query keys, so live events can refetch exactly what they change. */
export const overviewKeys = {
  stats: (namespace?: string) => ['overview', 'stats', namespace ?? '*'] as const,
  series: (namespace?: string) => ['overview', 'series', namespace ?? '*'] as const,
  failures: (namespace?: string) => ['overview', 'failures', namespace ?? '*'] as const,
  nextRuns: (namespace?: string) => ['overview', 'next-runs', namespace ?? '*'] as const,
};

/** Runs by status, the backlog and task totals. */
export function statsQuery(namespace?: string) {
  return queryOptions({
    queryKey: overviewKeys.stats(namespace),
    queryFn: async () => {
      const sentAt = Date.now();
      const stats = unwrap(await client.GET('/v1/stats', { params: { query: { namespace } } }));
      noteServerTime(stats.at, sentAt, Date.now());
      return stats;
    },
  });
}

/** The latest failed or timed-out runs, newest first. */
export function failuresQuery(namespace?: string) {
  return queryOptions({
    queryKey: overviewKeys.failures(namespace),
    queryFn: async () => unwrap(await client.GET('/v1/runs', { params: { query: { status: 'failed,timed_out', limit: LIST_SIZE, namespace } } })),
  });
}

/** The next pending runs, soonest first (`from` is the moment of the call, not of the render). */
export function nextRunsQuery(namespace?: string) {
  return queryOptions({
    queryKey: overviewKeys.nextRuns(namespace),
    queryFn: async () =>
      unwrap(
        await client.GET('/v1/runs', {
          params: { query: { status: 'scheduled', order: 'asc', from: new Date(serverNow()).toISOString(), limit: LIST_SIZE, namespace } },
        }),
      ),
  });
}
