// What a task runs, readable per kind. Header values and environment values are left out (they
// often hold secrets); their names are shown.

import type { Task } from '../../api/client';
import { bytes } from '../../format';
import { fields, text, type PropRow } from './Props';

function names(v: unknown): string | null {
  const keys = Object.keys(fields(v));
  return keys.length === 0 ? null : keys.join(', ');
}

function httpRows(spec: Record<string, unknown>): PropRow[] {
  const body = spec.body;
  return [
    [
      'Request',
      <code key="r">
        {text(spec.method ?? 'GET')} {text(spec.url)}
      </code>,
    ],
    ['Headers', names(spec.headers) && <code>{names(spec.headers)}</code>],
    ['Body', body !== undefined && body !== null ? `${text(body).length} characters` : null],
    ['Expects status', spec.expectStatus !== undefined ? <code>{text(spec.expectStatus)}</code> : null],
  ];
}

function moduleRows(spec: Record<string, unknown>): PropRow[] {
  return [
    ['File', <code key="f">{text(spec.file)}</code>],
    ['Export', <code key="e">{text(spec.export ?? 'default')}</code>],
  ];
}

function limitsText(limits: unknown): string | null {
  const l = fields(limits);
  const parts = Object.entries(l).map(([k, v]) => (k.endsWith('Bytes') && typeof v === 'number' ? `${k} ${bytes(v)}` : `${k} ${text(v)}`));
  return parts.length === 0 ? null : parts.join(', ');
}

function scriptRows(spec: Record<string, unknown>): PropRow[] {
  return [
    [
      'Code',
      <pre key="c" className="block code">
        {text(spec.code)}
      </pre>,
    ],
    ['Limits', limitsText(spec.limits)],
  ];
}

function shellRows(spec: Record<string, unknown>): PropRow[] {
  const argv = Array.isArray(spec.command) ? spec.command.map(text) : [];
  return [
    [
      'Command',
      <span key="a" className="argv" aria-label={`Command: ${argv.join(' ')}`}>
        {argv.map((arg, i) => (
          <code key={i}>{arg}</code>
        ))}
      </span>,
    ],
    ['Working directory', spec.cwd !== undefined ? <code>{text(spec.cwd)}</code> : null],
    ['Environment', names(spec.env) && <code>{names(spec.env)}</code>],
    ['Limits', limitsText(spec.limits)],
  ];
}

/** The rows describing a task's spec. */
export function specRows(task: Pick<Task, 'kind' | 'spec'>): PropRow[] {
  const spec = fields(task.spec);
  switch (task.kind) {
    case 'http':
      return httpRows(spec);
    case 'module':
      return moduleRows(spec);
    case 'script':
      return scriptRows(spec);
    case 'shell':
      return shellRows(spec);
  }
}
