// The next pending runs, soonest first, each linking to the run.

import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { ErrorMessage, Loading, Time } from '../../components/ui';
import { nextRunsQuery } from './queries';

/** The "Next runs due" panel. */
export function NextRuns({ namespace, showNamespace }: { namespace?: string | undefined; showNamespace: boolean }) {
  const { data, error, isPending } = useQuery(nextRunsQuery(namespace));
  return (
    <section className="panel ov-list" aria-labelledby="ov-next">
      <div className="ov-panel-head">
        <h2 id="ov-next">Next runs due</h2>
        <Link to="/runs?status=scheduled">All pending</Link>
      </div>
      <ErrorMessage error={error} />
      {isPending && <Loading what="Loading next runs" />}
      {data !== undefined && data.items.length === 0 && <p className="ov-empty">No runs are scheduled.</p>}
      {data !== undefined && data.items.length > 0 && (
        <div className="table-wrap ov-table">
          <table>
            <thead>
              <tr>
                <th scope="col">Task</th>
                {showNamespace && <th scope="col">Namespace</th>}
                <th scope="col">Due</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((run) => (
                <tr key={run.id}>
                  <td className="ov-task">
                    <Link to={`/runs/${run.id}`} aria-label={`Run of ${run.taskName}`}>
                      {run.taskName}
                    </Link>
                    {run.trigger !== 'schedule' && <span className="muted"> · {run.trigger}</span>}
                  </td>
                  {showNamespace && <td className="muted">{run.namespace}</td>}
                  <td className="ov-when">
                    <Time iso={run.scheduledFor} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
