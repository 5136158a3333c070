// A definition list of label/value pairs (rows with no value are left out).

import { Fragment, type ReactNode } from 'react';

/** One row: a label and its value (null or undefined: the row is not shown). */
export type PropRow = [label: string, value: ReactNode];

/** Label/value pairs as a <dl class="props">. */
export function Props({ rows }: { rows: PropRow[] }) {
  return (
    <dl className="props">
      {rows
        .filter(([, v]) => v !== null && v !== undefined && v !== false)
        .map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
    </dl>
  );
}

/** The object fields of a JSON value (none when it is not an object). */
export function fields(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A JSON value as readable text (strings as they are). */
export function text(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
