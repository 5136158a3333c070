// The runs of one page as a table: what ran, when, how late and how long.

import { Link } from 'react-router';
import { StatusBadge, Time } from '../../components/ui';
import { duration } from '../../format';
import type { RunPage } from './api';
import { shortId } from './statuses';

type RunRow = RunPage['items'][number];

/** A table of runs; `showNamespace` adds a namespace column (keys covering several). */
export function RunTable({ runs, showNamespace, caption }: { runs: RunRow[]; showNamespace: boolean; caption: string }) {
  return (
    <div className="table-wrap">
      <table className="run-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Task</th>
            {showNamespace && <th scope="col">Namespace</th>}
            <th scope="col">Trigger</th>
            <th scope="col" className="num">Attempt</th>
            <th scope="col">Scheduled for</th>
            <th scope="col">Started</th>
            <th scope="col" className="num">Lateness</th>
            <th scope="col" className="num">Duration</th>
            <th scope="col">Run</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td className="run-task">
                <Link to={`/tasks/${r.taskId}`} title={r.taskName}>
                  {r.taskName}
                </Link>
              </td>
              {showNamespace && <td>{r.namespace}</td>}
              <td>{r.trigger}</td>
              <td className="num">{r.attempt}</td>
              <td>
                <Time iso={r.scheduledFor} />
              </td>
              <td>
                <Time iso={r.startedAt} />
              </td>
              <td className="num">{r.lateMs === null ? <span className="muted">—</span> : duration(Math.max(0, r.lateMs))}</td>
              <td className="num">{r.durationMs === null ? <span className="muted">{r.status === 'running' ? 'running' : '—'}</span> : duration(r.durationMs)}</td>
              <td>
                <Link to={`/runs/${r.id}`} className="mono" title={r.id} aria-label={`Run ${shortId(r.id)} of ${r.taskName}`}>
                  {shortId(r.id)}
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
