// The `script` kind: inline JavaScript in a CodeMirror editor, and its memory limit.

import { lazy, Suspense, useId } from 'react';
import { Field, FieldErrors } from '../components/ui';
import { SCRIPT_POINTERS as P } from './field-map';
import type { ScriptForm } from './model';
import type { SectionProps } from './section';

// CodeMirror is most of this page's weight: it loads when a script is edited, not before.
const CodeEditor = lazy(() => import('./CodeEditor').then((m) => ({ default: m.CodeEditor })));

export function ScriptFields({ value, onChange, errors }: SectionProps<ScriptForm>) {
  return (
    <>
      <CodeField value={value.code} onChange={(code) => onChange({ code })} errors={errors(P.code)} />
      <Field label="Memory limit in MiB (optional)" hint="Default: the server's SUNDIAL_SCRIPT_MEMORY. The time limit is the timeout policy." errors={errors(P.memoryMiB)}>
        {(ids) => <input {...ids} inputMode="decimal" placeholder="64" value={value.memoryMiB} onChange={(e) => onChange({ memoryMiB: e.target.value })} />}
      </Field>
    </>
  );
}

/** The code editor with a label, a hint (how to leave it by keyboard) and the API's messages. */
function CodeField({ value, onChange, errors }: { value: string; onChange: (code: string) => void; errors: string[] | undefined }) {
  const id = useId();
  const labelId = `${id}-label`;
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  return (
    <div className={`field${errors ? ' field-invalid' : ''}`}>
      {/* Not a <label>: the editor is a contenteditable, which aria-labelledby names. */}
      <span id={labelId} className="field-label">
        Code
      </span>
      <Suspense
        fallback={
          <div className="code-editor-loading muted" role="status">
            Loading the code editor…
          </div>
        }
      >
        <CodeEditor
          value={value}
          onChange={onChange}
          aria={{ 'aria-labelledby': labelId, 'aria-describedby': errors ? `${errId} ${hintId}` : hintId, 'aria-invalid': errors !== undefined }}
        />
      </Suspense>
      <small id={hintId} className="hint">
        An ES module whose default export is <code>async (ctx) =&gt; result</code>; <code>ctx</code> has <code>payload</code>, <code>log()</code>,{' '}
        <code>fetch()</code>, <code>sleep()</code>. <kbd>Tab</kbd> indents: press <kbd>Esc</kbd> then <kbd>Tab</kbd> to leave the editor (
        <kbd>Ctrl</kbd>+<kbd>M</kbd> makes <kbd>Tab</kbd> always leave).
      </small>
      {errors && <FieldErrors id={errId} errors={errors} />}
    </div>
  );
}
