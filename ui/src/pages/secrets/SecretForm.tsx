// The form that sets a secret: a name (fixed when giving an existing secret a new value), the
// namespace for keys with several, and the value in a password field. Write-only: after a save
// the value is cleared from the form, and nothing ever loads one back.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/problem';
import { ErrorMessage, Field } from '../../components/ui';
import { putSecret, SECRET_NAME_PATTERN, secretKeys, type Secret } from './api';

export function SecretForm({
  editing,
  namespace,
  pickNamespace,
  onSaved,
  onCancel,
}: {
  editing: Secret | null;
  namespace: string;
  pickNamespace: boolean;
  onSaved: (s: Secret) => void;
  onCancel: () => void;
}) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(editing?.name ?? '');
  const [ns, setNs] = useState(editing?.namespace ?? namespace);
  const [value, setValue] = useState('');
  const mutation = useMutation({
    mutationFn: () => putSecret(ns.trim(), name.trim(), value),
    onSuccess: (s) => {
      setValue('');
      if (editing === null) setName('');
      void queryClient.invalidateQueries({ queryKey: secretKeys.all });
      onSaved(s);
    },
  });
  const err = mutation.error instanceof ApiError ? mutation.error : null;
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    mutation.mutate();
  };
  return (
    <form className="key-form" onSubmit={submit} aria-labelledby="secret-form-title" autoComplete="off">
      <h2 id="secret-form-title">{editing === null ? 'New secret' : `New value for ${editing.name}`}</h2>
      <div className="form-row">
        <Field label="Name" hint={<>Use it as <code>{`{{secrets.${name.trim() || 'NAME'}}}`}</code> in http and shell specs, <code>ctx.secrets.{name.trim() || 'NAME'}</code> in scripts.</>}>
          {(ids) => <input {...ids} value={name} onChange={(e) => setName(e.target.value)} required pattern={SECRET_NAME_PATTERN} maxLength={128} readOnly={editing !== null} />}
        </Field>
        {pickNamespace && (
          <Field label="Namespace" errors={err?.fieldMessages('/namespace')}>
            {(ids) => <input {...ids} value={ns} onChange={(e) => setNs(e.target.value)} required readOnly={editing !== null} />}
          </Field>
        )}
        <Field label="Value" hint="Write-only: stored encrypted, never shown again (not even to admins)." errors={err?.fieldMessages('/value')}>
          {(ids) => <input {...ids} type="password" value={value} onChange={(e) => setValue(e.target.value)} required autoComplete="new-password" spellCheck={false} />}
        </Field>
      </div>
      {mutation.error !== null && (err?.fieldMessages('/value').length ?? 0) === 0 && <ErrorMessage error={mutation.error} />}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={mutation.isPending}>
          {mutation.isPending ? 'Saving…' : editing === null ? 'Create secret' : 'Save new value'}
        </button>
        {editing !== null && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
