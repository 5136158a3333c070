// The `shell` kind: a command line split into argv (shown as the server will run it), its
// working directory, environment and resource limits.

import { useId, useMemo } from 'react';
import { Field } from '../components/ui';
import { splitArgv } from './argv';
import { Disclosure } from './Disclosure';
import { SHELL_POINTERS as P } from './field-map';
import { KeyValueRows } from './KeyValueRows';
import type { ShellForm } from './model';
import type { SectionProps } from './section';

const LIMITS: { key: 'processes' | 'openFiles' | 'fileSizeBytes' | 'cpuSeconds'; label: string; hint: string }[] = [
  { key: 'processes', label: 'Processes', hint: 'Most processes at once.' },
  { key: 'openFiles', label: 'Open files', hint: 'Per process; at least 16.' },
  { key: 'fileSizeBytes', label: 'File size (bytes)', hint: 'Largest file a process may write.' },
  { key: 'cpuSeconds', label: 'CPU seconds', hint: 'CPU time per process.' },
];

export function ShellFields({ value, onChange, errors }: SectionProps<ShellForm>) {
  const limitErrors = LIMITS.some((l) => errors(P[l.key]) !== undefined);
  return (
    <>
      <p className="notice">
        Shell tasks run a command on the server. Only admin keys may create or change them, and only where the server enables them
        (<code>SUNDIAL_SHELL_TASKS=on</code>); otherwise saving says why.
      </p>
      <CommandField value={value.command} onChange={(command) => onChange({ command })} errors={errors(P.command)} />
      <Field label="Working directory (optional)" hint="Relative to the task's own directory on the server." errors={errors(P.cwd)}>
        {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} value={value.cwd} onChange={(e) => onChange({ cwd: e.target.value })} />}
      </Field>
      <KeyValueRows
        legend="Environment"
        item="variable"
        rows={value.env}
        onChange={(env) => onChange({ env })}
        errors={errors(P.env)}
        namePlaceholder="NAME"
        valuePlaceholder="value"
        hint="Letters, digits and _; not SUNDIAL_*. The payload arrives as JSON on stdin."
      />
      <Disclosure summary="Resource limits" attention={limitErrors}>
        <div className="form-row">
          {LIMITS.map((l) => (
            <Field key={l.key} label={l.label} hint={l.hint} errors={errors(P[l.key])}>
              {(ids) => <input {...ids} inputMode="numeric" value={value[l.key]} onChange={(e) => onChange({ [l.key]: e.target.value })} />}
            </Field>
          ))}
        </div>
      </Disclosure>
    </>
  );
}

/** The command line, and the argv it becomes. */
function CommandField({ value, onChange, errors }: { value: string; onChange: (v: string) => void; errors: string[] | undefined }) {
  const { argv, error } = useMemo(() => splitArgv(value), [value]);
  const argvId = useId();
  return (
    <>
      <Field
        label="Command"
        hint={
          <>
            Split into words like a shell does (quotes and backslashes), but run directly: no <code>$VARS</code>, globs or pipes. For those, write{' '}
            <code>sh -c '…'</code>.
          </>
        }
        errors={errors}
      >
        {(ids) => (
          <textarea
            {...ids}
            className="mono"
            rows={2}
            placeholder="sh -c 'date && df -h'"
            spellCheck={false}
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
        )}
      </Field>
      <div className="argv-preview" aria-live="polite">
        <span id={argvId} className="muted">
          Runs as argv:
        </span>{' '}
        {error !== null ? (
          <span className="warn-text">{error}</span>
        ) : argv.length === 0 ? (
          <span className="muted">(empty)</span>
        ) : (
          <ol className="argv" aria-labelledby={argvId}>
            {argv.map((a, i) => (
              <li key={i}>
                <code>{a}</code>
              </li>
            ))}
          </ol>
        )}
      </div>
    </>
  );
}
