// The task list's search box and filters. The search waits for a pause in typing (250 ms)
// before it changes the URL, so each keystroke is not a request.

import { TextFilter } from '../../components/TextFilter';
import { Field } from '../../components/ui';
import { KINDS, SCHEDULE_TYPES, STATUSES, type TaskListView } from './taskListView';

/** Search, status, kind and schedule type; `onChange` gets only what changed. */
export function TaskFilters({ view, onChange }: { view: TaskListView; onChange: (patch: Partial<TaskListView>) => void }) {
  const filtered = view.q !== '' || view.status !== undefined || view.kind !== undefined || view.schedule !== undefined;
  return (
    <div className="filters task-filters" role="search">
      <TextFilter label="Search" value={view.q} placeholder="Name or description" delayMs={250} onCommit={(q) => onChange({ q })} />
      <Field label="Status">
        {(ids) => (
          <select {...ids} value={view.status ?? ''} onChange={(e) => onChange({ status: STATUSES.find((s) => s === e.target.value) })}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Kind">
        {(ids) => (
          <select {...ids} value={view.kind ?? ''} onChange={(e) => onChange({ kind: KINDS.find((k) => k === e.target.value) })}>
            <option value="">Any kind</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Schedule">
        {(ids) => (
          <select {...ids} value={view.schedule ?? ''} onChange={(e) => onChange({ schedule: SCHEDULE_TYPES.find((s) => s === e.target.value) })}>
            <option value="">Any schedule</option>
            {SCHEDULE_TYPES.map((s) => (
              <option key={s} value={s}>
                {s === 'none' ? 'none (on demand)' : s}
              </option>
            ))}
          </select>
        )}
      </Field>
      {filtered && (
        <button type="button" className="clear-filters" onClick={() => onChange({ q: '', status: undefined, kind: undefined, schedule: undefined })}>
          Clear filters
        </button>
      )}
    </div>
  );
}
