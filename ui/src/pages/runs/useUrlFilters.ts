// List filters live in the URL's search params, so a filtered view survives a reload and can be
// shared. Changing a filter replaces the history entry rather than adding one per keystroke.

import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';

/** The current values of `keys` ('' when absent) and a setter that patches them in the URL. */
export function useUrlFilters<K extends string>(keys: readonly K[]): [Record<K, string>, (patch: Partial<Record<K, string>>) => void] {
  const [params, setParams] = useSearchParams();
  const joined = keys.join(',');
  const values = useMemo(() => {
    const out = {} as Record<K, string>;
    for (const k of joined.split(',') as K[]) out[k] = params.get(k) ?? '';
    return out;
  }, [params, joined]);
  const set = useCallback(
    (patch: Partial<Record<K, string>>) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(patch) as [K, string | undefined][]) {
            if (v === undefined || v === '') next.delete(k);
            else next.set(k, v);
          }
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );
  return [values, set];
}
