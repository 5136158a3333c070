// Small building blocks every page uses: page header, status badges, times, errors, fields,
// buttons, cursor paging and a confirmation dialog. Native elements first (button, dialog,
// label), so keyboard use and focus come with them.

import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError, errorText } from '../api/problem';
import { fromNow, localTime } from '../format';

/** The page's title (the one h1) and its actions. */
export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle !== undefined && <p className="subtitle">{subtitle}</p>}
      </div>
      {actions !== undefined && <div className="actions">{actions}</div>}
    </header>
  );
}

/** A run or task status as a coloured badge (the colour is never the only cue: the word is there). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status.replace('_', ' ')}</span>;
}

/** A time shown relative ("in 5 minutes"), with the exact local time on hover and for screen readers. */
export function Time({ iso, exact = false }: { iso: string | null | undefined; exact?: boolean }) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (exact || iso === null || iso === undefined) return;
    const t = setInterval(() => tick((n) => n + 1), 10_000);
    return () => clearInterval(t);
  }, [iso, exact]);
  if (iso === null || iso === undefined) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={localTime(iso)}>
      {exact ? localTime(iso) : fromNow(iso)}
    </time>
  );
}

/** An error box (role alert, so screen readers announce it). */
export function ErrorMessage({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const code = error instanceof ApiError ? error.problem.code : null;
  return (
    <div className="error-box" role="alert">
      {errorText(error)}
      {code !== null && <span className="muted"> ({code})</span>}
    </div>
  );
}

/** A loading placeholder that says what is loading. */
export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

/** A labelled form control with its hint and the API's messages for it. */
export function Field({
  label,
  hint,
  errors,
  children,
}: {
  label: string;
  hint?: ReactNode;
  errors?: string[];
  /** Renders the control with the ids it must carry. */
  children: (ids: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const hasErrors = errors !== undefined && errors.length > 0;
  const describedBy = [hint !== undefined ? hintId : null, hasErrors ? errId : null].filter(Boolean).join(' ');
  return (
    <div className={`field${hasErrors ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(describedBy ? { 'aria-describedby': describedBy } : {}), ...(hasErrors ? { 'aria-invalid': true } : {}) })}
      {hint !== undefined && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
      {hasErrors && <FieldErrors id={errId} errors={errors} />}
    </div>
  );
}

/** A field's messages, as a list its control points at with aria-describedby. */
export function FieldErrors({ id, errors }: { id: string; errors: string[] }) {
  return (
    <ul id={id} className="field-errors">
      {errors.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

/** Cursor paging: the API gives `nextCursor`; going back re-uses the cursors seen so far. */
export function useCursorPager(resetKey: string) {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  const [key, setKey] = useState(resetKey);
  if (key !== resetKey) {
    setKey(resetKey);
    setStack([undefined]);
  }
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    page: stack.length,
    next: (c: string) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    first: () => setStack([undefined]),
  };
}

/** Previous / next buttons for a cursor pager. */
export function Pager({ page, nextCursor, onPrev, onNext, busy }: { page: number; nextCursor: string | null | undefined; onPrev: () => void; onNext: (c: string) => void; busy?: boolean }) {
  return (
    <nav className="pager" aria-label="Pages">
      {/* While a page loads the buttons only say they are busy (aria-disabled): a disabled
          button would drop the keyboard focus that just pressed it. */}
      <button type="button" onClick={() => !busy && onPrev()} disabled={page <= 1} aria-disabled={busy || undefined}>
        ← Previous
      </button>
      <span aria-live="polite">Page {page}</span>
      <button type="button" onClick={() => !busy && nextCursor && onNext(nextCursor)} disabled={!nextCursor} aria-disabled={busy || undefined}>
        Next →
      </button>
    </nav>
  );
}

/** A button that asks before it acts, in a modal dialog (Escape or Cancel closes it). */
export function ConfirmButton({
  children,
  title,
  message,
  confirmLabel,
  onConfirm,
  danger = false,
  disabled = false,
}: {
  children: ReactNode;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown> | void;
  danger?: boolean;
  disabled?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const titleId = useId();
  return (
    <>
      <button type="button" className={danger ? 'danger' : undefined} disabled={disabled} onClick={() => {
        setError(null);
        dialog.current?.showModal();
      }}>
        {children}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} className="confirm">
        <h2 id={titleId}>{title}</h2>
        <div>{message}</div>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button
            type="button"
            className={danger ? 'danger' : 'primary'}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onConfirm();
                dialog.current?.close();
              } catch (err) {
                setError(err);
              } finally {
                setBusy(false);
              }
            }}
          >
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/**
 * "Delete" for a named object in a table row: asks first (`message` says what deleting it leaves
 * behind), and its accessible name carries the object's name.
 */
export function DeleteButton({ name, what, message, onDelete }: { name: string; what: string; message: ReactNode; onDelete: () => Promise<unknown> }) {
  return (
    <ConfirmButton danger title={`Delete “${name}”?`} message={message} confirmLabel={`Delete ${what}`} onConfirm={onDelete}>
      Delete<span className="visually-hidden"> {name}</span>
    </ConfirmButton>
  );
}
