// One task: its definition, schedule (with the next fire times and daylight-saving changes),
// policies, run history (live), and, for operators, what can be done to it.

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { client, unwrap } from '../api/client';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader, StatusBadge, Time } from '../components/ui';
import { useLiveEvents } from '../live/live-events';
import { DefinitionPanel } from './tasks/DefinitionPanel';
import { PoliciesPanel } from './tasks/PoliciesPanel';
import { RunHistory } from './tasks/RunHistory';
import { SchedulePanel } from './tasks/SchedulePanel';
import { RunNoticeBox, ScheduleOnce, TaskHeaderActions, taskKey, type RunNotice } from './tasks/TaskActions';
import { useThrottled } from '../live/useThrottled';
import './Tasks.css';

function useTask(id: string) {
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: taskKey(id),
    queryFn: async ({ signal }) => unwrap(await client.GET('/v1/tasks/{idOrName}', { params: { path: { idOrName: id } }, signal })),
  });
  const refresh = useThrottled(() => void queryClient.invalidateQueries({ queryKey: taskKey(id) }), 1000);
  useLiveEvents((batch) => {
    if (batch.some((e) => e.type === 'task:changed' && e.task.id === id)) refresh();
  });
  return { ...query, refresh };
}

function Summary({ task }: { task: NonNullable<ReturnType<typeof useTask>['data']> }) {
  return (
    <div className="cards task-cards">
      <div className="card">
        <div className="label">Status</div>
        <div className="value small">
          <StatusBadge status={task.status} />
        </div>
      </div>
      <div className="card">
        <div className="label">Next run</div>
        <div className="value small">
          <Time iso={task.nextRunAt} />
        </div>
      </div>
      <div className="card">
        <div className="label">Last run</div>
        <div className="value small">
          {task.lastRunStatus !== null ? (
            <>
              <StatusBadge status={task.lastRunStatus} /> <Time iso={task.lastRunAt} />
            </>
          ) : (
            <span className="muted">never ran</span>
          )}
        </div>
      </div>
      <div className="card">
        <div className="label">Fired by the schedule</div>
        <div className="value small">{task.firedCount}</div>
      </div>
    </div>
  );
}

export function TaskDetail() {
  const { id = '' } = useParams();
  const { canOperate } = useSession();
  const { data: task, error, isPending, refresh } = useTask(id);
  const [notice, setNotice] = useState<RunNotice | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  // /tasks/<name> works too; the page then moves to the id, which its cache and live events use.
  const navigate = useNavigate();
  const byName = task !== undefined && task.id !== id;
  useEffect(() => {
    if (byName) navigate(`/tasks/${task.id}`, { replace: true });
  }, [byName, task?.id, navigate]);

  if (isPending || byName) return <Loading what="Loading the task" />;
  if (task === undefined) {
    return (
      <>
        <PageHeader title="Task" />
        <ErrorMessage error={error} />
        <p>
          <Link to="/tasks">Back to the tasks</Link>
        </p>
      </>
    );
  }

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link to="/tasks">Tasks</Link> <span aria-hidden="true">/</span> <span aria-current="page">{task.name}</span>
      </nav>
      <PageHeader
        title={task.name}
        subtitle={
          <>
            {task.namespace} · {task.kind}
            {task.description ? ` · ${task.description}` : ''}
          </>
        }
        actions={canOperate ? <TaskHeaderActions task={task} onRun={setNotice} onError={setActionError} /> : undefined}
      />
      <ErrorMessage error={actionError ?? error} />
      <RunNoticeBox notice={notice} />
      <Summary task={task} />
      <div className="task-columns">
        <div>
          <DefinitionPanel task={task} />
          <PoliciesPanel policies={task.policies} />
        </div>
        <div>
          <SchedulePanel schedule={task.schedule} description={task.scheduleDescription} />
          {canOperate && <ScheduleOnce task={task} onRun={setNotice} />}
        </div>
      </div>
      <RunHistory taskId={task.id} onRunEvent={refresh} />
    </>
  );
}
