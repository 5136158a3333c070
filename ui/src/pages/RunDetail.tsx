// /runs/:id: one run: its timeline, facts, outcome, log (followed live while it runs), resource
// use and, for operators, reschedule and cancel. Transitions of this run refetch it.

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { Link, useParams } from 'react-router';
import type { Run } from '../api/client';
import { ApiError } from '../api/problem';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, StatusBadge } from '../components/ui';
import { useLiveEvents } from '../live/live-events';
import { getRun } from './runs/api';
import { CancelRunButton, RescheduleForm } from './runs/RunActions';
import { RunFacts, RunOutcome, RunPayload } from './runs/RunFacts';
import { RunLog } from './runs/RunLog';
import { RunResources } from './runs/RunResources';
import { StatusTimeline } from './runs/StatusTimeline';
import { isCancellable, isReschedulable, shortId } from './runs/statuses';
import './Runs.css';

export function RunDetail() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const run = useQuery({ queryKey: ['run', id], queryFn: () => getRun(id) });
  const refetch = useCallback(() => void queryClient.invalidateQueries({ queryKey: ['run', id], exact: true }), [queryClient, id]);
  useLiveEvents((batch) => {
    if (batch.some((e) => e.type === 'run:transition' && e.runId === id)) refetch();
  });

  if (run.error instanceof ApiError && run.error.status === 404) {
    return (
      <>
        <PageHeader title="Run not found" />
        <ErrorMessage error={run.error} />
        <p>
          Back to the <Link to="/runs">run list</Link>.
        </p>
      </>
    );
  }
  if (run.data === undefined) return run.isError ? <ErrorMessage error={run.error} /> : <Loading what="Loading the run" />;
  return <RunView run={run.data} onEnd={refetch} />;
}

/** The page for a loaded run. */
function RunView({ run, onEnd }: { run: Run; onEnd: () => void }) {
  const { canOperate } = useSession();
  return (
    <>
      <PageHeader
        title={
          <>
            Run of {run.taskName} <StatusBadge status={run.status} />
          </>
        }
        subtitle={
          <>
            <span className="mono" title={run.id}>{shortId(run.id)}</span> · attempt {run.attempt} · {run.trigger} · <Link to="/runs">all runs</Link>
          </>
        }
        actions={
          <>
            <Link className="button" to={`/tasks/${run.taskId}`}>
              Open task
            </Link>
            {canOperate && isCancellable(run.status) && <CancelRunButton run={run} />}
          </>
        }
      />
      <section className="panel" aria-labelledby="timeline-title">
        <h2 id="timeline-title" className="visually-hidden">
          Status
        </h2>
        <StatusTimeline run={run} />
      </section>
      {canOperate && isReschedulable(run.status) && (
        <section className="panel">
          <RescheduleForm key={run.id} run={run} />
        </section>
      )}
      <div className="run-columns">
        <section className="panel" aria-labelledby="facts-title">
          <h2 id="facts-title">Details</h2>
          <RunFacts run={run} />
        </section>
        <div>
          <section className="panel" aria-labelledby="outcome-title">
            <h2 id="outcome-title">{run.error !== null ? 'Error' : 'Result'}</h2>
            <RunOutcome run={run} />
          </section>
          <section className="panel" aria-labelledby="payload-title">
            <h2 id="payload-title">Payload</h2>
            <RunPayload run={run} />
          </section>
        </div>
      </div>
      <RunLog key={run.id} run={run} onEnd={onEnd} />
      <RunResources run={run} />
    </>
  );
}
