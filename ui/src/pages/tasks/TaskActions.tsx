// What an operator can do to a task: run it now, pause or resume it, edit it, schedule a
// one-off run, delete it. Viewers never see these (the detail page does not render them).

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';
import { client, unwrap, type Run, type Task } from '../../api/client';
import { ApiError } from '../../api/problem';
import { useSession } from '../../auth/session';
import { ConfirmButton, ErrorMessage, Field, Time } from '../../components/ui';
import { fromLocalInput } from '../../format';
import { taskRunsKey } from './RunHistory';

/** The query key of one task. */
export function taskKey(id: string): unknown[] {
  return ['tasks', 'detail', id];
}

/** A run just made by an action, to point at. */
export interface RunNotice {
  run: Run;
  what: ReactNode;
}

/** Refreshes what an action may have changed: this task, its runs, the task lists. */
function useAfterAction(task: Task) {
  const queryClient = useQueryClient();
  return (updated?: Task) => {
    if (updated !== undefined) queryClient.setQueryData(taskKey(task.id), updated);
    void queryClient.invalidateQueries({ queryKey: taskKey(task.id) });
    void queryClient.invalidateQueries({ queryKey: taskRunsKey(task.id) });
    void queryClient.invalidateQueries({ queryKey: ['tasks', 'list'] });
  };
}

/** The notice after Run now or a one-off schedule, with a link to the new run. */
export function RunNoticeBox({ notice }: { notice: RunNotice | null }) {
  if (notice === null) return null;
  return (
    <div className="notice" role="status">
      {notice.what} <Link to={`/runs/${notice.run.id}`}>View the run</Link>
    </div>
  );
}

/** Run now, Pause/Resume, Edit and Delete, for the page header. */
export function TaskHeaderActions({ task, onRun, onError }: { task: Task; onRun: (n: RunNotice) => void; onError: (e: unknown) => void }) {
  const after = useAfterAction(task);
  const { isAdmin } = useSession();
  // The server lets only admins change a shell task (what it runs is a command on the host).
  const canEdit = task.kind !== 'shell' || isAdmin;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const path = { params: { path: { idOrName: task.id } } };

  const runNow = useMutation({
    mutationFn: async () => unwrap(await client.POST('/v1/tasks/{idOrName}/runs', { ...path, body: {} })),
    onMutate: () => onError(null),
    onSuccess: (run) => {
      onRun({ run, what: task.status === 'paused' ? 'Run created; it waits until the task is resumed.' : 'Run created; it starts in a moment.' });
      after();
    },
    onError,
  });
  const toggle = useMutation({
    mutationFn: async () =>
      unwrap(task.status === 'paused' ? await client.POST('/v1/tasks/{idOrName}/resume', path) : await client.POST('/v1/tasks/{idOrName}/pause', path)),
    onMutate: () => onError(null),
    onSuccess: (updated) => after(updated),
    onError,
  });

  async function remove(): Promise<void> {
    unwrap(await client.DELETE('/v1/tasks/{idOrName}', path));
    queryClient.removeQueries({ queryKey: taskKey(task.id) });
    void queryClient.invalidateQueries({ queryKey: ['tasks', 'list'] });
    navigate('/tasks');
  }

  return (
    <>
      <button type="button" className="primary" onClick={() => runNow.mutate()} disabled={runNow.isPending}>
        {runNow.isPending ? 'Starting…' : 'Run now'}
      </button>
      <button type="button" onClick={() => toggle.mutate()} disabled={toggle.isPending}>
        {task.status === 'paused' ? 'Resume' : 'Pause'}
      </button>
      {canEdit && (
        <Link to={`/tasks/${task.id}/edit`} className="button">
          Edit
        </Link>
      )}
      <ConfirmButton
        danger
        title={`Delete ${task.name}?`}
        message={
          <p>
            Runs that have not started are cancelled and running ones are stopped. Past runs stay readable. This cannot be undone.
          </p>
        }
        confirmLabel="Delete task"
        onConfirm={remove}
      >
        Delete
      </ConfirmButton>
    </>
  );
}

/** A one-off run of the task at a chosen date and time (the browser's zone). */
export function ScheduleOnce({ task, onRun }: { task: Task; onRun: (n: RunNotice) => void }) {
  const after = useAfterAction(task);
  const [at, setAt] = useState('');
  const schedule = useMutation({
    mutationFn: async (value: string) =>
      unwrap(await client.POST('/v1/tasks/{idOrName}/schedule', { params: { path: { idOrName: task.id } }, body: { at: fromLocalInput(value) } })) as Run,
    onSuccess: (run) => {
      onRun({
        run,
        what: (
          <>
            One-off run scheduled for <Time iso={run.scheduledFor} exact />.
          </>
        ),
      });
      setAt('');
      after();
    },
  });
  const error = schedule.error;
  const atErrors = error instanceof ApiError ? error.fieldMessages('/at') : [];

  function submit(e: FormEvent): void {
    e.preventDefault();
    if (at !== '') schedule.mutate(at);
  }

  return (
    <section className="panel" aria-labelledby="once-h">
      <h2 id="once-h">Schedule a one-off run</h2>
      <p className="muted intro">One extra run at a time you choose; the regular schedule carries on.</p>
      <form className="schedule-once" onSubmit={submit}>
        <Field label="Run at" hint={`In your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`} errors={atErrors}>
          {(ids) => <input {...ids} type="datetime-local" step={1} required value={at} onChange={(e) => setAt(e.target.value)} />}
        </Field>
        <button type="submit" disabled={schedule.isPending || at === ''}>
          {schedule.isPending ? 'Scheduling…' : 'Schedule run'}
        </button>
      </form>
      {atErrors.length === 0 && <ErrorMessage error={error} />}
    </section>
  );
}
