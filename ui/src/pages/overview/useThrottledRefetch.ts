import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';

/**
 * Returns `refetch(keys)`: invalidates those queries at once when nothing was refetched in the
 * last `intervalMs`, otherwise once at the end of that interval (keys asked for meanwhile are
 * merged). A burst of 500 events a second thus costs one refetch of each query per interval.
 */
export function useThrottledRefetch(intervalMs: number): (keys: QueryKey[]) => void {
  const queryClient = useQueryClient();
  const pending = useRef(new Map<string, QueryKey>());
  const timer = useRef<number | null>(null);
  const last = useRef(0);

  const flush = useCallback(() => {
    timer.current = null;
    last.current = Date.now();
    const keys = [...pending.current.values()];
    pending.current.clear();
    for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
  }, [queryClient]);

  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );

  return useCallback(
    (keys: QueryKey[]) => {
      for (const k of keys) pending.current.set(JSON.stringify(k), k);
      if (pending.current.size === 0 || timer.current !== null) return;
      const wait = last.current + intervalMs - Date.now();
      if (wait <= 0) flush();
      else timer.current = window.setTimeout(flush, wait);
    },
    [flush, intervalMs],
  );
}
