// /audit (admin keys): every change made through the API, newest first, filtered by action,
// actor and time (in the URL), paged by the server's cursor.

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorMessage, Loading, PageHeader, Pager, useCursorPager } from '../components/ui';
import { AUDIT_ACTIONS, listApiKeys, listAudit } from './admin/api';
import { AuditTable } from './admin/AuditTable';
import { TextFilter } from '../components/TextFilter';
import { DateTimeFilter, SelectFilter } from './runs/FilterInputs';
import { useUrlFilters } from './runs/useUrlFilters';
import './Runs.css';

const FILTER_KEYS = ['action', 'actor', 'from', 'to'] as const;

export function AuditLog() {
  const [params] = useSearchParams();
  const [filters, setFilters] = useUrlFilters(FILTER_KEYS);
  const pager = useCursorPager(JSON.stringify(filters));
  const entries = useQuery({
    queryKey: ['audit', filters, pager.cursor ?? null],
    queryFn: () => listAudit(filters, pager.cursor),
    placeholderData: keepPreviousData,
  });
  // Names for the `key:<id>` actors (one page of up to 500 keys covers any real installation).
  const keys = useQuery({ queryKey: ['api-keys', 'names'], queryFn: () => listApiKeys(undefined, 500), staleTime: 60_000 });
  const keyNames = useMemo(() => new Map((keys.data?.items ?? []).map((k) => [`key:${k.id}`, k.name])), [keys.data]);
  const anyFilter = Object.values(filters).some((v) => v !== '');

  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change made through the API, newest first." />
      <div className="filters admin-filters" role="search" aria-label="Filter the audit log">
        <SelectFilter label="Action" value={filters.action} onCommit={(action) => setFilters({ action })}>
          <option value="">All actions</option>
          {AUDIT_ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </SelectFilter>
        <TextFilter label="Actor" value={filters.actor} placeholder="key:…" list="audit-actors" onCommit={(actor) => setFilters({ actor })} />
        <datalist id="audit-actors">
          <option value="system">system</option>
          {[...keyNames].map(([actor, name]) => (
            <option key={actor} value={actor}>
              {name}
            </option>
          ))}
        </datalist>
        <DateTimeFilter label="From" value={filters.from} onCommit={(from) => setFilters({ from })} />
        <DateTimeFilter label="Before" value={filters.to} onCommit={(to) => setFilters({ to })} />
        <button type="button" onClick={() => setFilters({ action: '', actor: '', from: '', to: '' })} disabled={!anyFilter}>
          Clear filters
        </button>
      </div>
      <ErrorMessage error={entries.error} />
      {entries.data === undefined ? (
        !entries.isError && <Loading what="Loading the audit log" />
      ) : entries.data.items.length === 0 ? (
        <p className="empty-state">{anyFilter ? 'No entries match these filters.' : 'Nothing has been changed yet.'}</p>
      ) : (
        <div className={entries.isPlaceholderData ? 'stale' : undefined}>
          <AuditTable entries={entries.data.items} keyNames={keyNames} params={params} />
        </div>
      )}
      <Pager page={pager.page} nextCursor={entries.data?.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={entries.isPlaceholderData} />
    </>
  );
}
