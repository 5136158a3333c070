// The `module` kind: a JavaScript file the operator installed on the server, and its export.

import { Field } from '../components/ui';
import { MODULE_POINTERS as P } from './field-map';
import type { ModuleForm } from './model';
import type { SectionProps } from './section';

export function ModuleFields({ value, onChange, errors }: SectionProps<ModuleForm>) {
  return (
    <div className="form-row">
      <Field label="File" hint="A path under the server's tasks directory (SUNDIAL_TASKS_DIR)." errors={errors(P.file)}>
        {(ids) => (
          <input {...ids} className="mono" placeholder="reports/nightly.js" autoComplete="off" spellCheck={false} value={value.file} onChange={(e) => onChange({ file: e.target.value })} />
        )}
      </Field>
      <Field label="Export (optional)" hint="The function to call; default: the default export." errors={errors(P.exportName)}>
        {(ids) => (
          <input {...ids} className="mono" placeholder="default" autoComplete="off" spellCheck={false} value={value.exportName} onChange={(e) => onChange({ exportName: e.target.value })} />
        )}
      </Field>
    </div>
  );
}
