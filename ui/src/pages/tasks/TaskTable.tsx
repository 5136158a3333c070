// The task list's table: one row per task, sortable by the columns the server can order by.
// Each row is drawn from its list item alone (no per-row requests).

import { Link } from 'react-router';
import { Sparkline } from '../../components/Sparkline';
import { StatusBadge, Time } from '../../components/ui';
import { sortState, type Sort, type SortField, type TaskListItem } from './taskListView';

/** A column header that sorts: a button inside the th, which carries aria-sort. */
function SortHeader({ field, label, sort, onSort, className }: { field: SortField; label: string; sort: Sort; onSort: (f: SortField) => void; className?: string }) {
  const state = sortState(sort, field);
  return (
    <th scope="col" aria-sort={state} className={className}>
      <button type="button" className="sort" onClick={() => onSort(field)}>
        {label}
        <span className={`sort-arrow${state === 'none' ? ' idle' : ''}`} aria-hidden="true">
          {state === 'descending' ? '▼' : '▲'}
        </span>
      </button>
    </th>
  );
}

function TaskRow({ task, showNamespace }: { task: TaskListItem; showNamespace: boolean }) {
  return (
    <tr data-task-id={task.id}>
      <td className="col-name">
        <Link to={`/tasks/${task.id}`} className="task-name" title={task.description ? `${task.name}: ${task.description}` : task.name}>
          {task.name}
        </Link>
        {showNamespace && <span className="task-ns">{task.namespace}</span>}
      </td>
      <td className="col-kind">
        <span className="kind">{task.kind}</span>
      </td>
      <td className="col-status">
        <StatusBadge status={task.status} />
      </td>
      <td className="col-schedule">{task.scheduleDescription ?? <span className="muted">—</span>}</td>
      <td className="col-time">
        <Time iso={task.nextRunAt} />
      </td>
      <td className="col-last">
        {task.lastRunStatus !== null ? (
          <span className="last-result">
            <StatusBadge status={task.lastRunStatus} /> <Time iso={task.lastRunAt} />
          </span>
        ) : (
          <span className="muted">never ran</span>
        )}
      </td>
      <td className="col-spark">
        <Sparkline runs={task.recentRuns ?? []} />
      </td>
      <td className="col-time">
        <Time iso={task.createdAt} />
      </td>
    </tr>
  );
}

/** The tasks of one page. */
export function TaskTable({ tasks, sort, onSort, showNamespace, busy }: { tasks: TaskListItem[]; sort: Sort; onSort: (f: SortField) => void; showNamespace: boolean; busy: boolean }) {
  return (
    <div className="table-wrap">
      <table className="task-table" aria-label="Tasks" aria-busy={busy}>
        <thead>
          <tr>
            <SortHeader field="name" label="Name" sort={sort} onSort={onSort} className="col-name" />
            <th scope="col" className="col-kind">Kind</th>
            <th scope="col" className="col-status">Status</th>
            <th scope="col" className="col-schedule">Schedule</th>
            <SortHeader field="nextRunAt" label="Next run" sort={sort} onSort={onSort} className="col-time" />
            <SortHeader field="lastRunAt" label="Last run" sort={sort} onSort={onSort} className="col-last" />
            <th scope="col" className="col-spark">Recent runs</th>
            <SortHeader field="createdAt" label="Created" sort={sort} onSort={onSort} className="col-time" />
          </tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <TaskRow key={t.id} task={t} showNamespace={showNamespace} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
