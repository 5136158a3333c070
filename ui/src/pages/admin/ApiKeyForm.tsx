// The form that creates an API key: name, role, the namespaces it covers and how long it lives.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/problem';
import { ErrorMessage, Field } from '../../components/ui';
import { createApiKey, type ApiKeyRole, type CreatedApiKey } from './api';

const ROLES: { value: ApiKeyRole; text: string }[] = [
  { value: 'viewer', text: 'viewer: reads everything' },
  { value: 'operator', text: 'operator: also changes and runs tasks' },
  { value: 'admin', text: 'admin: also keys and the audit log' },
];

/** Lifetimes offered (the API takes any duration; these cover the usual choices). */
const LIFETIMES: { value: string; text: string }[] = [
  { value: '', text: 'never expires' },
  { value: '7d', text: '7 days' },
  { value: '30d', text: '30 days' },
  { value: '90d', text: '90 days' },
  { value: '365d', text: '1 year' },
];

const FIELDS = ['/name', '/role', '/namespaces', '/expiresIn'];

/** "a, b ,c" → ["a", "b", "c"]. */
export function parseNamespaces(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Creates a key and hands the answer (with its secret) to `onCreated`. */
export function ApiKeyForm({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiKeyRole>('viewer');
  const [namespaces, setNamespaces] = useState('default');
  const [expiresIn, setExpiresIn] = useState('');
  const mutation = useMutation({
    mutationFn: () => {
      // Admin keys cover every namespace whatever they say, so they send none.
      const ns = role === 'admin' ? [] : parseNamespaces(namespaces);
      return createApiKey({ name: name.trim(), role, ...(ns.length > 0 ? { namespaces: ns } : {}), ...(expiresIn !== '' ? { expiresIn } : {}) });
    },
    onSuccess: (key) => {
      onCreated(key);
      setName('');
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const err = mutation.error instanceof ApiError ? mutation.error : null;
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    mutation.mutate();
  };
  return (
    <form className="key-form" onSubmit={submit} aria-labelledby="new-key-title">
      <h2 id="new-key-title">New API key</h2>
      <div className="form-row">
        <Field label="Name" hint="Who or what uses it, e.g. ci-deployer." errors={err?.fieldMessages('/name')}>
          {(ids) => <input {...ids} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoComplete="off" />}
        </Field>
        <Field label="Role" errors={err?.fieldMessages('/role')}>
          {(ids) => (
            <select {...ids} value={role} onChange={(e) => setRole(e.target.value as ApiKeyRole)}>
              {ROLES.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.text}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Namespaces"
          hint={role === 'admin' ? 'Admin keys always cover every namespace.' : <>Comma-separated; <code>*</code> covers every namespace.</>}
          errors={err?.fieldMessages('/namespaces')}
        >
          {(ids) => <input {...ids} value={role === 'admin' ? '*' : namespaces} onChange={(e) => setNamespaces(e.target.value)} disabled={role === 'admin'} autoComplete="off" />}
        </Field>
        <Field label="Expires" hint="After this the key answers 401 key_expired." errors={err?.fieldMessages('/expiresIn')}>
          {(ids) => (
            <select {...ids} value={expiresIn} onChange={(e) => setExpiresIn(e.target.value)}>
              {LIFETIMES.map((l) => (
                <option key={l.value} value={l.value}>
                  {l.text}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {mutation.error !== null && !FIELDS.some((f) => (err?.fieldMessages(f).length ?? 0) > 0) && <ErrorMessage error={mutation.error} />}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={mutation.isPending}>
          {mutation.isPending ? 'Creating…' : 'Create key'}
        </button>
      </div>
    </form>
  );
}
