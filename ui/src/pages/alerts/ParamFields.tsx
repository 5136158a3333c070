// The params of one kind, and only those: a task picker for a task, a text field for a duration
// ("5m"), a number, or a node id; each with the API's messages for `/params/<field>`.

import { Field } from '../../components/ui';
import type { KindSpec, ParamSpec } from './kinds';
import { TaskPicker } from './TaskPicker';

export function ParamFields({
  spec,
  namespace,
  values,
  onChange,
  messages,
}: {
  spec: KindSpec;
  namespace: string;
  values: Record<string, string>;
  onChange: (field: string, v: string) => void;
  messages: (path: string) => string[] | undefined;
}) {
  if (spec.params.length === 0) return null;
  return (
    <div className="form-row">
      {spec.params.map((p) => (
        <ParamField key={p.field} param={p} namespace={namespace} value={values[p.field] ?? ''} onChange={(v) => onChange(p.field, v)} errors={messages(`/params/${p.field}`)} />
      ))}
    </div>
  );
}

function ParamField({ param: p, namespace, value, onChange, errors }: { param: ParamSpec; namespace: string; value: string; onChange: (v: string) => void; errors: string[] | undefined }) {
  const label = p.required ? p.label : `${p.label} (optional)`;
  if (p.input === 'task') return <TaskPicker label={label} hint={p.hint} namespace={namespace} value={value} onChange={onChange} errors={errors} />;
  return (
    <Field label={label} hint={p.hint} errors={errors}>
      {(ids) => (
        <input
          {...ids}
          className="mono"
          inputMode={p.input === 'count' ? 'numeric' : undefined}
          autoComplete="off"
          spellCheck={false}
          size={p.input === 'node' ? 30 : 12}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}
