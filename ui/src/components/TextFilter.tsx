// A list filter typed as text: it commits the trimmed text after a pause in typing (one request
// per word, not per keystroke) or on Enter. What is typed stays as typed while the committed
// value (usually in the URL) catches up; only a change from elsewhere (Back, Clear filters)
// replaces it.

import { useEffect, useRef, useState } from 'react';
import { Field } from './ui';

/** A labelled search box; `onCommit` gets the trimmed value `delayMs` after the last keystroke. */
export function TextFilter({
  label,
  value,
  onCommit,
  placeholder,
  hint,
  list,
  delayMs = 300,
}: {
  label: string;
  value: string;
  onCommit: (v: string) => void;
  placeholder?: string;
  hint?: string;
  list?: string;
  delayMs?: number;
}) {
  const [draft, setDraft] = useState(value);
  const [seen, setSeen] = useState(value);
  // The committed value moved: follow it, unless it is what was typed (less the trimmed spaces,
  // which must survive, or "foo " would lose its space before the next word).
  if (seen !== value) {
    setSeen(value);
    if (draft.trim() !== value) setDraft(value);
  }
  const commit = useRef(onCommit);
  useEffect(() => {
    commit.current = onCommit;
  }, [onCommit]);
  useEffect(() => {
    if (draft.trim() === value) return;
    const t = setTimeout(() => commit.current(draft.trim()), delayMs);
    return () => clearTimeout(t);
  }, [draft, value, delayMs]);
  return (
    <Field label={label} hint={hint}>
      {(ids) => (
        <input
          {...ids}
          type="search"
          value={draft}
          placeholder={placeholder}
          list={list}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onCommit(draft.trim());
          }}
        />
      )}
    </Field>
  );
}
