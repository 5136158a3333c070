// What an operator may do to a run: move a pending one to another time, or cancel it.
// Viewers never get here (the page renders these only for operators and admins).

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { Run } from '../../api/client';
import { ApiError } from '../../api/problem';
import { ConfirmButton, ErrorMessage, Field } from '../../components/ui';
import { fromLocalInput, localTime, toLocalInput } from '../../format';
import { cancelRun, rescheduleRun } from './api';

/** A form that moves a scheduled or queued run to a new time. */
export function RescheduleForm({ run }: { run: Run }) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState(() => toLocalInput(run.scheduledFor));
  const [shownFor, setShownFor] = useState(run.scheduledFor);
  const [moved, setMoved] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  // The run moved (here or elsewhere): start from its new time.
  if (shownFor !== run.scheduledFor) {
    setShownFor(run.scheduledFor);
    setValue(toLocalInput(run.scheduledFor));
  }
  const mutation = useMutation({
    mutationFn: (at: string) => rescheduleRun(run.id, at),
    onSuccess: (updated) => {
      queryClient.setQueryData(['run', run.id], updated);
      setMoved(updated.scheduledFor);
    },
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setMoved(null);
    if (value === '' || Number.isNaN(Date.parse(value))) {
      setInvalid('Pick a date and time.');
      return;
    }
    setInvalid(null);
    mutation.mutate(fromLocalInput(value));
  };
  const fieldErrors = [...(invalid !== null ? [invalid] : []), ...(mutation.error instanceof ApiError ? mutation.error.fieldMessages('/at') : [])];
  return (
    <form className="reschedule" onSubmit={submit} aria-labelledby="reschedule-title">
      <h2 id="reschedule-title">Reschedule</h2>
      <div className="reschedule-row">
        <Field label="New time" hint={`Your local time (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`} errors={fieldErrors}>
          {(ids) => <input {...ids} type="datetime-local" step={1} value={value} onChange={(e) => setValue(e.target.value)} required />}
        </Field>
        <button type="submit" className="primary" disabled={mutation.isPending}>
          {mutation.isPending ? 'Moving…' : 'Reschedule'}
        </button>
      </div>
      {mutation.error !== null && !(mutation.error instanceof ApiError && mutation.error.fieldMessages('/at').length > 0) && <ErrorMessage error={mutation.error} />}
      {moved !== null && (
        <p className="notice" role="status">
          Moved: the run is now due <time dateTime={moved}>{localTime(moved)}</time>.
        </p>
      )}
    </form>
  );
}

/** Cancel, asked in a dialog first. */
export function CancelRunButton({ run }: { run: Run }) {
  const queryClient = useQueryClient();
  return (
    <ConfirmButton
      danger
      title="Cancel this run?"
      message={
        run.status === 'running'
          ? 'The node running it will stop it; its status changes once it has stopped.'
          : 'It will not start. This cannot be undone, but you can run the task again.'
      }
      confirmLabel="Cancel run"
      onConfirm={async () => {
        const updated = await cancelRun(run.id);
        queryClient.setQueryData(['run', run.id], updated);
      }}
    >
      Cancel run
    </ConfirmButton>
  );
}
