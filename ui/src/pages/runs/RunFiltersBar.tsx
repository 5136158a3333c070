// The run list's filters: statuses as checkboxes, task, a time window on scheduledFor and, for
// keys covering several namespaces, the namespace.

import { StatusBadge } from '../../components/ui';
import type { RunFilters } from './api';
import { TextFilter } from '../../components/TextFilter';
import { DateTimeFilter, SelectFilter } from './FilterInputs';
import { RUN_STATUSES } from './statuses';
import { useDraft } from './useDraft';

/** The filter controls; `namespaces` is what the key covers (`*`: all). */
export function RunFiltersBar({ filters, onChange, namespaces }: { filters: RunFilters; onChange: (patch: Partial<RunFilters>) => void; namespaces: string[] }) {
  const [status, setStatus] = useDraft(filters.status);
  const chosen = new Set(status ? status.split(',') : []);
  const toggle = (s: string, on: boolean): void => {
    const next = RUN_STATUSES.filter((x) => (x === s ? on : chosen.has(x))).join(',');
    setStatus(next);
    onChange({ status: next });
  };
  const anyFilter = Object.values(filters).some((v) => v !== '');
  return (
    <div className="run-filters" role="search" aria-label="Filter runs">
      <fieldset className="status-filter">
        <legend>Status</legend>
        {RUN_STATUSES.map((s) => (
          <label key={s} className={`status-check${chosen.has(s) ? ' on' : ''}`}>
            <input type="checkbox" checked={chosen.has(s)} onChange={(e) => toggle(s, e.target.checked)} />
            <StatusBadge status={s} />
          </label>
        ))}
      </fieldset>
      <div className="filters">
        <TextFilter label="Task" value={filters.task} placeholder="name or id" onCommit={(task) => onChange({ task })} />
        <NamespaceFilter value={filters.namespace} namespaces={namespaces} onChange={(namespace) => onChange({ namespace })} />
        <DateTimeFilter label="Scheduled from" value={filters.from} onCommit={(from) => onChange({ from })} />
        <DateTimeFilter label="Scheduled before" value={filters.to} onCommit={(to) => onChange({ to })} />
        <button type="button" onClick={() => onChange({ status: '', task: '', from: '', to: '', namespace: '' })} disabled={!anyFilter}>
          Clear filters
        </button>
      </div>
    </div>
  );
}

/** A namespace choice, only for keys that cover more than one. */
function NamespaceFilter({ value, namespaces, onChange }: { value: string; namespaces: string[]; onChange: (ns: string) => void }) {
  if (namespaces.includes('*')) return <TextFilter label="Namespace" value={value} placeholder="all" onCommit={onChange} />;
  if (namespaces.length < 2) return null;
  return (
    <SelectFilter label="Namespace" value={value} onCommit={onChange}>
      <option value="">All</option>
      {namespaces.map((n) => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </SelectFilter>
  );
}
