// Create a task (/tasks/new) or change one (/tasks/:id/edit). Lazy-loaded by App.tsx: it is the
// only page that pulls in CodeMirror (through editor/CodeEditor.tsx).

import { useQuery } from '@tanstack/react-query';
import { KEEP_ON_RECONNECT } from '../live/live-events';
import { useMemo } from 'react';
import { Link, useParams } from 'react-router';
import { client, unwrap, type Task } from '../api/client';
import { ErrorMessage, Loading, PageHeader } from '../components/ui';
import { emptyForm, formFromTask } from '../editor/model';
import { TaskEditorForm } from '../editor/TaskEditorForm';
import './TaskEditor.css';

export default function TaskEditor() {
  const { id } = useParams();
  return id === undefined ? <CreateTask /> : <EditTask id={id} />;
}

function CreateTask() {
  const initial = useMemo(() => emptyForm(''), []);
  return (
    <div className="task-editor">
      <PageHeader title="New task" subtitle="What runs, when, and what happens when it fails." />
      <TaskEditorForm mode={{ type: 'create' }} initial={initial} />
    </div>
  );
}

function EditTask({ id }: { id: string }) {
  // The form is filled once from this answer; it is fetched again only on "load the latest".
  const query = useQuery({
    queryKey: ['task-editor', id],
    queryFn: async ({ signal }) => unwrap(await client.GET('/v1/tasks/{idOrName}', { params: { path: { idOrName: id } }, signal })),
    staleTime: Infinity,
    gcTime: 0,
    refetchOnReconnect: false,
    // A newer version would remount the form and drop the user's edits; the PATCH's If-Match
    // finds a conflict instead.
    meta: { [KEEP_ON_RECONNECT]: true },
  });
  if (query.isPending) return <Loading what="Loading the task" />;
  if (query.isError) {
    return (
      <div className="task-editor">
        <PageHeader title="Edit task" actions={<Link to="/tasks">All tasks</Link>} />
        <ErrorMessage error={query.error} />
      </div>
    );
  }
  return <EditLoaded task={query.data} reload={() => void query.refetch()} reloading={query.isFetching} />;
}

function EditLoaded({ task, reload, reloading }: { task: Task; reload: () => void; reloading: boolean }) {
  const initial = useMemo(() => formFromTask(task), [task]);
  return (
    <div className="task-editor">
      <PageHeader
        title={
          <>
            Edit <span className="mono">{task.name}</span>
          </>
        }
        subtitle={
          <>
            {task.namespace} · {task.kind} · version {task.version}
            {reloading && ' · loading the latest…'}
          </>
        }
      />
      {/* A newer version remounts the form with its values. */}
      <TaskEditorForm key={`${task.id}@${task.version}`} mode={{ type: 'edit', task, reloadLatest: reload }} initial={initial} />
    </div>
  );
}
