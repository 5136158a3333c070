// The task list: server-side search, filters, sort and cursor paging (one request per page,
// never the whole set), the view in the URL, and live refreshes of the page on screen.

import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link } from 'react-router';
import { client, unwrap } from '../api/client';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, Pager } from '../components/ui';
import { useLiveEvents } from '../live/live-events';
import { TaskFilters } from './tasks/TaskFilters';
import { TaskTable } from './tasks/TaskTable';
import { DEFAULT_SORT, listQuery, nextSort, useTaskListView, type TaskListView } from './tasks/taskListView';
import { useHistoryPager } from './tasks/useHistoryPager';
import { useThrottled } from '../live/useThrottled';
import './Tasks.css';

/** Live changes refresh the page on screen at most this often. */
const LIVE_REFRESH_MS = 2000;

function useTaskPage(view: TaskListView, cursor: string | undefined) {
  const query = listQuery(view, cursor);
  return useQuery({
    queryKey: ['tasks', 'list', query],
    queryFn: async ({ signal }) => unwrap(await client.GET('/v1/tasks', { params: { query }, signal })),
    // The page on screen stays while the next one loads: paging does not flash.
    placeholderData: keepPreviousData,
  });
}

/** Refetches the page when a task changes, or a task on it has a run transition. */
function useLiveTaskPage(taskIds: ReadonlySet<string>) {
  const queryClient = useQueryClient();
  const refresh = useThrottled(() => void queryClient.invalidateQueries({ queryKey: ['tasks', 'list'] }), LIVE_REFRESH_MS);
  useLiveEvents((batch) => {
    if (batch.some((e) => e.type === 'task:changed' || taskIds.has(e.taskId))) refresh();
  });
}

export function TaskList() {
  const { me, canOperate } = useSession();
  const [view, setView] = useTaskListView();
  const pager = useHistoryPager();
  const { data, error, isPending, isPlaceholderData } = useTaskPage(view, pager.cursor);
  const taskIds = useMemo(() => new Set(data?.items.map((t) => t.id)), [data]);
  useLiveTaskPage(taskIds);

  const sort = view.sort ?? DEFAULT_SORT;
  const manyNamespaces = me !== null && (me.namespaces.includes('*') || me.namespaces.length > 1);
  const filtered = view.q !== '' || view.status !== undefined || view.kind !== undefined || view.schedule !== undefined;

  return (
    <>
      <PageHeader
        title="Tasks"
        subtitle="What runs, when, and how it went lately."
        actions={
          canOperate && (
            <Link to="/tasks/new" className="button primary">
              New task
            </Link>
          )
        }
      />
      <TaskFilters view={view} onChange={setView} />
      <ErrorMessage error={error} />
      {isPending ? (
        <Loading what="Loading tasks" />
      ) : data === undefined ? null : data.items.length === 0 ? (
        <div className="panel empty-state">
          {filtered || pager.page > 1 ? (
            <p>No tasks match this search and these filters.</p>
          ) : (
            <p>
              No tasks yet.{' '}
              {canOperate && <Link to="/tasks/new">Create the first one</Link>}
            </p>
          )}
        </div>
      ) : (
        <TaskTable
          tasks={data.items}
          sort={sort}
          onSort={(field) => setView({ sort: nextSort(sort, field) })}
          showNamespace={manyNamespaces}
          busy={isPlaceholderData}
        />
      )}
      <div className="list-footer">
        <span className="muted" role="status" aria-live="polite">
          {isPlaceholderData ? 'Loading…' : ''}
        </span>
        {data !== undefined && (data.items.length > 0 || pager.page > 1) && (
          <Pager page={pager.page} nextCursor={data.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={isPlaceholderData} />
        )}
      </div>
    </>
  );
}
