// /runs: every run the key can see, newest scheduled first, filtered by status, task, time window
// and namespace (all in the URL), paged by the server's cursor and kept live by the event stream.

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, Pager, useCursorPager } from '../components/ui';
import { listRuns } from './runs/api';
import { RunFiltersBar } from './runs/RunFiltersBar';
import { RunTable } from './runs/RunTable';
import { useLiveRunList } from './runs/useLiveRunList';
import { useUrlFilters } from './runs/useUrlFilters';
import './Runs.css';

const FILTER_KEYS = ['status', 'task', 'from', 'to', 'namespace'] as const;

export function RunList() {
  const { me } = useSession();
  const [filters, setFilters] = useUrlFilters(FILTER_KEYS);
  const pager = useCursorPager(JSON.stringify(filters));
  const queryKey = useMemo(() => ['runs-list', filters, pager.cursor ?? null], [filters, pager.cursor]);
  const runs = useQuery({
    queryKey,
    queryFn: () => listRuns(filters, pager.cursor),
    placeholderData: keepPreviousData,
  });
  useLiveRunList(queryKey, filters, pager.page === 1);
  const namespaces = me?.namespaces ?? [];
  const showNamespace = namespaces.includes('*') || namespaces.length > 1;

  return (
    <>
      <PageHeader title="Runs" subtitle="Every run, newest scheduled first. Updates live." />
      <RunFiltersBar filters={filters} onChange={setFilters} namespaces={namespaces} />
      <ErrorMessage error={runs.error} />
      {runs.data === undefined ? (
        !runs.isError && <Loading what="Loading runs" />
      ) : runs.data.items.length === 0 ? (
        <p className="empty-state">{Object.values(filters).some((v) => v !== '') ? 'No runs match these filters.' : 'No runs yet.'}</p>
      ) : (
        <div className={runs.isPlaceholderData ? 'stale' : undefined} aria-busy={runs.isFetching}>
          <RunTable runs={runs.data.items} showNamespace={showNamespace} caption="Runs" />
        </div>
      )}
      <Pager page={pager.page} nextCursor={runs.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={runs.isPlaceholderData} />
    </>
  );
}
