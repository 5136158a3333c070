// What the rule form shows per kind (docs/alerts.md, "Kinds"): its params, each with how it is
// typed in, whether `for` applies, and whether only admins may write it. The API checks them all
// again (core/alert-params.ts); this only decides which fields are on screen.

import type { AlertKind } from './api';

/** How a param is typed in: a task of the namespace, a duration ("5m"), a whole number, a node id. */
export type ParamInput = 'task' | 'duration' | 'count' | 'node';

export interface ParamSpec {
  field: string;
  label: string;
  input: ParamInput;
  required: boolean;
  hint: string;
}

export interface KindSpec {
  kind: AlertKind;
  text: string;
  params: readonly ParamSpec[];
  takesFor: boolean;
  /** Watches the whole installation: admin keys only. */
  adminOnly: boolean;
}

const task = (required: boolean, hint: string): ParamSpec => ({ field: 'task', label: 'Task', input: 'task', required, hint });

export const KIND_SPECS: readonly KindSpec[] = [
  {
    kind: 'consecutive_failures',
    text: 'consecutive_failures: a task failed n times in a row',
    params: [task(true, 'The task watched.'), { field: 'n', label: 'Failures in a row (n)', input: 'count', required: true, hint: 'From 1 to 100.' }],
    takesFor: false,
    adminOnly: false,
  },
  {
    kind: 'retries_exhausted',
    text: 'retries_exhausted: a run failed with no retry left',
    params: [task(false, 'Empty: any task of the namespace.'), { field: 'within', label: 'Within', input: 'duration', required: false, hint: 'Default 1h, at most 24h.' }],
    takesFor: false,
    adminOnly: false,
  },
  {
    kind: 'no_success_for',
    text: 'no_success_for: a task has not succeeded for too long',
    params: [task(true, 'The task watched.'), { field: 'duration', label: 'No success for', input: 'duration', required: true, hint: 'Such as "24h".' }],
    takesFor: false,
    adminOnly: false,
  },
  {
    kind: 'lateness_p99',
    text: 'lateness_p99: runs start late',
    params: [
      { field: 'bound', label: 'Bound (p99 lateness)', input: 'duration', required: true, hint: 'Such as "2s".' },
      { field: 'window', label: 'Window', input: 'duration', required: false, hint: 'Default 5m, at most 1h.' },
    ],
    takesFor: true,
    adminOnly: false,
  },
  {
    kind: 'backlog',
    text: 'backlog: runs due and not started',
    params: [{ field: 'above', label: 'Above (runs)', input: 'count', required: true, hint: 'Fires with more than this many waiting.' }],
    takesFor: true,
    adminOnly: false,
  },
  {
    kind: 'node_down',
    text: 'node_down: a node stopped answering (admins)',
    params: [{ field: 'node', label: 'Node', input: 'node', required: false, hint: 'A node id; empty: any node.' }],
    takesFor: true,
    adminOnly: true,
  },
  {
    kind: 'sink_dropping',
    text: 'sink_dropping: the InfluxDB sink drops points (admins)',
    params: [
      { field: 'above', label: 'Above (points)', input: 'count', required: false, hint: 'Default 0.' },
      { field: 'window', label: 'Window', input: 'duration', required: false, hint: 'Default 5m.' },
    ],
    takesFor: true,
    adminOnly: true,
  },
  {
    kind: 'outbox_backlog',
    text: 'outbox_backlog: notifications stuck (admins)',
    params: [
      { field: 'olderThan', label: 'Older than', input: 'duration', required: true, hint: 'Such as "15m".' },
      { field: 'above', label: 'Above (notifications)', input: 'count', required: false, hint: 'Default 0.' },
    ],
    takesFor: true,
    adminOnly: true,
  },
];

export function kindSpec(kind: AlertKind): KindSpec {
  return KIND_SPECS.find((s) => s.kind === kind) ?? KIND_SPECS[0]!;
}

/** The kinds a key may write: admins all, operators those of a namespace. */
export function kindsFor(isAdmin: boolean): readonly KindSpec[] {
  return isAdmin ? KIND_SPECS : KIND_SPECS.filter((s) => !s.adminOnly);
}
