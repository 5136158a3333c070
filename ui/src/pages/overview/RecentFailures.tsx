// The last failed or timed-out runs with their error, each linking to the run.

import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { ErrorMessage, Loading, StatusBadge, Time } from '../../components/ui';
import { failuresQuery } from './queries';

/** The "Recent failures" panel. */
export function RecentFailures({ namespace }: { namespace?: string | undefined }) {
  const { data, error, isPending } = useQuery(failuresQuery(namespace));
  return (
    <section className="panel ov-list" aria-labelledby="ov-failures">
      <div className="ov-panel-head">
        <h2 id="ov-failures">Recent failures</h2>
        <Link to="/runs?status=failed,timed_out">All failures</Link>
      </div>
      <ErrorMessage error={error} />
      {isPending && <Loading what="Loading failures" />}
      {data !== undefined && data.items.length === 0 && <p className="ov-empty">No failed or timed-out runs.</p>}
      {data !== undefined && data.items.length > 0 && (
        <div className="table-wrap ov-table">
          <table>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Error</th>
                <th scope="col">Status</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((run) => (
                <tr key={run.id}>
                  <td className="ov-task">
                    <Link to={`/runs/${run.id}`} aria-label={`Run of ${run.taskName}`}>
                      {run.taskName}
                    </Link>
                    {run.attempt > 1 && <span className="muted"> · attempt {run.attempt}</span>}
                  </td>
                  <td className="ov-error" title={run.error?.message}>
                    {run.error === null ? (
                      <span className="muted">{run.reason ?? 'no error recorded'}</span>
                    ) : (
                      <>
                        <code>{run.error.code}</code> {run.error.message}
                      </>
                    )}
                  </td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td className="ov-when">
                    <Time iso={run.finishedAt ?? run.scheduledFor} />
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
