// Filter controls that write to the URL: a text box that commits after a pause in typing (one
// request per word, not per keystroke), and a local date-time box that stores an ISO instant.

import { useEffect, useRef, type ReactNode } from 'react';
import { Field } from '../../components/ui';
import { fromLocalInput, toLocalInput } from '../../format';
import { useDraft } from './useDraft';

/** A labelled text filter; `onCommit` gets the trimmed value 300 ms after the last keystroke (or on Enter). */
export function TextFilter({ label, value, onCommit, placeholder, hint, list }: { label: string; value: string; onCommit: (v: string) => void; placeholder?: string; hint?: string; list?: string }) {
  const [draft, setDraft] = useDraft(value);
  const commit = useRef(onCommit);
  useEffect(() => {
    commit.current = onCommit;
  }, [onCommit]);
  useEffect(() => {
    if (draft.trim() === value) return;
    const t = setTimeout(() => commit.current(draft.trim()), 300);
    return () => clearTimeout(t);
  }, [draft, value]);
  return (
    <Field label={label} hint={hint}>
      {(ids) => (
        <input
          {...ids}
          type="search"
          value={draft}
          placeholder={placeholder}
          list={list}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onCommit(draft.trim());
          }}
        />
      )}
    </Field>
  );
}

/** A labelled datetime-local filter holding an ISO instant ('' for none). */
export function DateTimeFilter({ label, value, onCommit }: { label: string; value: string; onCommit: (iso: string) => void }) {
  const valid = value !== '' && !Number.isNaN(Date.parse(value));
  const [draft, setDraft] = useDraft(valid ? toLocalInput(value) : '');
  return (
    <Field label={label}>
      {(ids) => (
        <input
          {...ids}
          type="datetime-local"
          step={1}
          value={draft}
          onChange={(e) => {
            setDraft(e.target.value);
            onCommit(e.target.value === '' ? '' : fromLocalInput(e.target.value));
          }}
        />
      )}
    </Field>
  );
}

/** A labelled select filter ('' is the "all" option). */
export function SelectFilter({ label, value, onCommit, children }: { label: string; value: string; onCommit: (v: string) => void; children: ReactNode }) {
  const [draft, setDraft] = useDraft(value);
  return (
    <Field label={label}>
      {(ids) => (
        <select
          {...ids}
          value={draft}
          onChange={(e) => {
            setDraft(e.target.value);
            onCommit(e.target.value);
          }}
        >
          {children}
        </select>
      )}
    </Field>
  );
}
