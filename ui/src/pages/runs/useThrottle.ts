// Live pages refetch on events; at hundreds of events a second that must still cost only a few
// requests a second, so calls are folded into at most one per interval (the last one always runs).

import { useCallback, useEffect, useRef } from 'react';

/** A stable function that calls `fn` at most once per `ms`, trailing calls included. */
export function useThrottle(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  const last = useRef(0);
  const timer = useRef<number | null>(null);
  useEffect(() => {
    latest.current = fn;
  }, [fn]);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
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
