// Cursor paging whose cursors live in the history entry's state: Back from a task detail, or a
// reload, returns to the same page, and any change of the search params (a filter, the sort)
// starts again at page 1 because such a navigation carries no pager state.

import { useCallback } from 'react';
import { useLocation, useNavigate } from 'react-router';

interface PagerState {
  taskPager: string[];
}

function cursorsOf(state: unknown): string[] {
  if (state === null || typeof state !== 'object' || !('taskPager' in state)) return [];
  const c = (state as PagerState).taskPager;
  return Array.isArray(c) && c.every((x) => typeof x === 'string') ? c : [];
}

/** The current cursor (undefined: first page), the page number, and next/previous. */
export function useHistoryPager() {
  const location = useLocation();
  const navigate = useNavigate();
  const cursors = cursorsOf(location.state);
  const search = location.search;
  const go = useCallback(
    (next: string[]) => navigate({ search }, { replace: true, state: { taskPager: next } satisfies PagerState }),
    [navigate, search],
  );
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length + 1,
    next: (c: string) => go([...cursors, c]),
    prev: () => go(cursors.slice(0, -1)),
  };
}
