// Narrows the Overview to one namespace when the key covers several. A key with a fixed list
// picks from it; a key covering all (`*`) types a name, applied after a short pause in typing.

import { useEffect, useRef, useState } from 'react';
import { Field } from '../../components/ui';

/** The namespace filter; renders nothing when the key covers a single namespace. */
export function NamespaceFilter({ namespaces, value, onChange }: { namespaces: string[]; value: string | undefined; onChange: (ns: string | undefined) => void }) {
  if (namespaces.includes('*')) return <NamespaceInput value={value} onChange={onChange} />;
  if (namespaces.length < 2) return null;
  return (
    <Field label="Namespace">
      {(ids) => (
        <select {...ids} value={value ?? ''} onChange={(e) => onChange(e.target.value || undefined)}>
          <option value="">All namespaces</option>
          {namespaces.map((ns) => (
            <option key={ns} value={ns}>
              {ns}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function NamespaceInput({ value, onChange }: { value: string | undefined; onChange: (ns: string | undefined) => void }) {
  const [text, setText] = useState(value ?? '');
  // The pause restarts only when the text changes, not when the page re-renders with a new callback.
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => setText(value ?? ''), [value]);
  useEffect(() => {
    const next = text.trim() || undefined;
    if (next === value) return;
    const t = setTimeout(() => latest.current(next), 400);
    return () => clearTimeout(t);
  }, [text, value]);
  return (
    <Field label="Namespace">
      {(ids) => (
        <input
          {...ids}
          type="search"
          placeholder="All namespaces"
          spellCheck={false}
          autoComplete="off"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onChange(text.trim() || undefined);
          }}
        />
      )}
    </Field>
  );
}
