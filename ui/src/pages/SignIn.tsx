// Sign-in with an API key. The key is checked against the API before it is kept.

import { useState, type FormEvent } from 'react';
import { useSession } from '../auth/session';
import { ApiError } from '../api/problem';
import { ErrorMessage, Field } from '../components/ui';

export function SignIn() {
  const { signIn } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key.trim());
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new Error('That key is not valid (unknown or revoked).') : err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin" id="main">
      <div className="brand">
        <span className="brand-dot" aria-hidden="true" /> Sundial
      </div>
      <form className="panel" onSubmit={submit}>
        <h1>Sign in</h1>
        <p className="muted">
          Use an API key (<code>sdl_…</code>). It stays in this browser tab only and is sent to this server alone.
        </p>
        <Field label="API key" hint="The admin key is printed on the first start, or set with SUNDIAL_ADMIN_TOKEN.">
          {(ids) => (
            <input {...ids} type="password" autoComplete="current-password" required value={key} onChange={(e) => setKey(e.target.value)} autoFocus />
          )}
        </Field>
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
