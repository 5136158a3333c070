import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useCallback, useRef } from 'react';
import { useThrottled } from '../../live/useThrottled';

/**
 * Returns `refetch(keys)`: invalidates those queries at once when nothing was refetched in the
 * last `intervalMs`, otherwise once at the end of that interval (keys asked for meanwhile are
 * merged). A burst of 500 events a second thus costs one refetch of each query per interval.
 */
export function useThrottledRefetch(intervalMs: number): (keys: QueryKey[]) => void {
  const queryClient = useQueryClient();
  const pending = useRef(new Map<string, QueryKey>());
  const flush = useThrottled(() => {
    const keys = [...pending.current.values()];
    pending.current.clear();
    for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
  }, intervalMs);
  return useCallback(
    (keys: QueryKey[]) => {
      for (const k of keys) pending.current.set(JSON.stringify(k), k);
      if (pending.current.size > 0) flush();
    },
    [flush],
  );
}
