// Filter controls that write to the URL: a local date-time box that stores an ISO instant, and a
// select. (The text box is components/TextFilter.tsx.)

import type { ReactNode } from 'react';
import { Field } from '../../components/ui';
import { fromLocalInput, toLocalInput } from '../../format';
import { useDraft } from './useDraft';

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
