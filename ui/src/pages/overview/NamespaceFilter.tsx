// Narrows the Overview to one namespace when the key covers several. A key with a fixed list
// picks from it; a key covering all (`*`) types a name, applied after a short pause in typing.

import { TextFilter } from '../../components/TextFilter';
import { Field } from '../../components/ui';

/** The namespace filter; renders nothing when the key covers a single namespace. */
export function NamespaceFilter({ namespaces, value, onChange }: { namespaces: string[]; value: string | undefined; onChange: (ns: string | undefined) => void }) {
  if (namespaces.includes('*')) {
    return <TextFilter label="Namespace" value={value ?? ''} placeholder="All namespaces" delayMs={400} onCommit={(ns) => onChange(ns || undefined)} />;
  }
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
