// Live pages refetch on events; at hundreds of events a second that must still cost only a
// few requests a second, so calls fold into at most one run per window (the last always runs).

import { useCallback, useEffect, useRef } from 'react';

/**
 * A stable function that runs `fn` soon, at most once every `ms`: the first call in a quiet
 * period runs at once, calls during the window fold into one run at its end.
 */
export function useThrottled(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  useEffect(() => {
    latest.current = fn;
  });
  const last = useRef(0);
  const timer = useRef<number | null>(null);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
      timer.current = null;
    },
    [],
  );
  return useCallback(() => {
    if (timer.current !== null) return;
    const wait = Math.max(0, last.current + ms - Date.now());
    timer.current = window.setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      latest.current();
    }, wait);
  }, [ms]);
}
