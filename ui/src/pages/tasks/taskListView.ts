// What the task list shows (search, filters, sort) lives in the URL's search params, so a reload
// or a shared link opens the same view. Unknown values in a hand-edited URL are ignored.

import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { paths } from '../../api/schema';

type ListQuery = NonNullable<paths['/v1/tasks']['get']['parameters']['query']>;
type TaskListBody = paths['/v1/tasks']['get']['responses'][200]['content']['application/json'];

/** One row of GET /v1/tasks. */
export type TaskListItem = TaskListBody['items'][number];
export type StatusFilter = NonNullable<ListQuery['status']>;
export type KindFilter = NonNullable<ListQuery['kind']>;
export type ScheduleFilter = NonNullable<ListQuery['schedule']>;
export type Sort = NonNullable<ListQuery['sort']>;
/** The columns one can sort by. */
export type SortField = Exclude<Sort, `-${string}`>;

export const STATUSES = ['active', 'paused'] as const satisfies readonly StatusFilter[];
export const KINDS = ['http', 'module', 'script', 'shell'] as const satisfies readonly KindFilter[];
export const SCHEDULE_TYPES = ['once', 'interval', 'cron', 'none'] as const satisfies readonly ScheduleFilter[];
const SORTS = ['name', '-name', 'createdAt', '-createdAt', 'nextRunAt', '-nextRunAt', 'lastRunAt', '-lastRunAt'] as const satisfies readonly Sort[];

/** The server's order when the URL names none: creation order, oldest first. */
export const DEFAULT_SORT: Sort = 'createdAt';

export interface TaskListView {
  q: string;
  status?: StatusFilter;
  kind?: KindFilter;
  schedule?: ScheduleFilter;
  sort?: Sort;
}

function oneOf<T extends string>(values: readonly T[], v: string | null): T | undefined {
  return values.find((x) => x === v);
}

/** The view a URL describes. */
export function readView(params: URLSearchParams): TaskListView {
  return {
    q: params.get('q') ?? '',
    status: oneOf(STATUSES, params.get('status')),
    kind: oneOf(KINDS, params.get('kind')),
    schedule: oneOf(SCHEDULE_TYPES, params.get('schedule')),
    sort: oneOf(SORTS, params.get('sort')),
  };
}

/** The URL params of a view (empty fields left out, so the plain list has a plain URL). */
export function writeView(view: TaskListView): URLSearchParams {
  const p = new URLSearchParams();
  if (view.q.trim() !== '') p.set('q', view.q.trim());
  for (const key of ['status', 'kind', 'schedule', 'sort'] as const) {
    const v = view[key];
    if (v !== undefined) p.set(key, v);
  }
  return p;
}

/** The API query for a view (the page size and the sparkline's depth are fixed). */
export function listQuery(view: TaskListView, cursor: string | undefined): ListQuery {
  const q = view.q.trim();
  return {
    limit: 50,
    recentRuns: 20,
    ...(q !== '' ? { q } : {}),
    ...(view.status ? { status: view.status } : {}),
    ...(view.kind ? { kind: view.kind } : {}),
    ...(view.schedule ? { schedule: view.schedule } : {}),
    ...(view.sort ? { sort: view.sort } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
}

// Clicking a column that is not the sort column starts in the order one usually wants there:
// names A→Z, the soonest next run, the latest last run, the newest task.
const FIRST_CLICK: Record<SortField, Sort> = { name: 'name', nextRunAt: 'nextRunAt', lastRunAt: '-lastRunAt', createdAt: '-createdAt' };

/** The sort after clicking `field`'s header: flips the direction of the current column. */
export function nextSort(current: Sort, field: SortField): Sort {
  if (current === field) return `-${field}`;
  if (current === `-${field}`) return field;
  return FIRST_CLICK[field];
}

/** How `field` is sorted now, for aria-sort. */
export function sortState(current: Sort, field: SortField): 'ascending' | 'descending' | 'none' {
  if (current === field) return 'ascending';
  if (current === `-${field}`) return 'descending';
  return 'none';
}

/** The view in the URL and a setter that replaces the URL (and so goes back to page 1). */
export function useTaskListView(): [TaskListView, (patch: Partial<TaskListView>) => void] {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => readView(params), [params]);
  // From the URL as it is when the change applies, not as it was rendered: a search committed
  // in the same tick as a filter change must not undo it.
  const update = useCallback(
    (patch: Partial<TaskListView>) => setParams((prev) => writeView({ ...readView(prev), ...patch }), { replace: true }),
    [setParams],
  );
  return [view, update];
}
