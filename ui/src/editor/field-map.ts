// Where the API's field errors go: each form input has the JSON pointer the API reports it under
// (`/spec/url`, `/schedule/expression`, `/policies/timeout`). A problem's `errors[].path` lands
// on the input with the longest pointer that contains it; the rest go to the summary.

import type { FieldProblem } from '../api/problem';
import type { HttpForm, Kind, ModuleForm, PoliciesForm, ScheduleForm, ScriptForm, ShellForm } from './model';

export const COMMON_POINTERS = {
  name: '/name',
  namespace: '/namespace',
  description: '/description',
  kind: '/kind',
  payload: '/payload',
} as const;

export const HTTP_POINTERS: Record<keyof HttpForm, string> = {
  method: '/spec/method',
  url: '/spec/url',
  headers: '/spec/headers',
  body: '/spec/body',
  bodyJson: '/spec/body',
  expectStatus: '/spec/expectStatus',
};

export const MODULE_POINTERS: Record<keyof ModuleForm, string> = {
  file: '/spec/file',
  exportName: '/spec/export',
};

export const SCRIPT_POINTERS: Record<keyof ScriptForm, string> = {
  code: '/spec/code',
  memoryMiB: '/spec/limits/memoryBytes',
};

export const SHELL_POINTERS: Record<keyof ShellForm, string> = {
  command: '/spec/command',
  cwd: '/spec/cwd',
  env: '/spec/env',
  processes: '/spec/limits/processes',
  openFiles: '/spec/limits/openFiles',
  fileSizeBytes: '/spec/limits/fileSizeBytes',
  cpuSeconds: '/spec/limits/cpuSeconds',
};

export const SCHEDULE_POINTERS: Record<keyof ScheduleForm, string> = {
  type: '/schedule/type',
  at: '/schedule/at',
  startAt: '/schedule/startAt',
  endAt: '/schedule/endAt',
  every: '/schedule/every',
  expression: '/schedule/expression',
  timezone: '/schedule/timezone',
  maxRuns: '/schedule/maxRuns',
  jitter: '/schedule/jitter',
};

export const POLICY_POINTERS: Record<keyof PoliciesForm, string> = {
  maxAttempts: '/policies/retry/maxAttempts',
  backoffType: '/policies/retry/backoff/type',
  backoffInitial: '/policies/retry/backoff/initial',
  backoffMax: '/policies/retry/backoff/max',
  backoffJitter: '/policies/retry/backoff/jitter',
  timeout: '/policies/timeout',
  overlap: '/policies/overlap',
  misfirePolicy: '/policies/misfire/policy',
  catchupWindow: '/policies/misfire/catchupWindow',
  priority: '/policies/priority',
  concurrency: '/policies/concurrency',
  concurrencyKey: '/policies/concurrencyKey',
  notify: '/policies/notify',
};

/** Policy inputs inside the "Advanced" disclosure (opened when one of them has an error). */
export const ADVANCED_POLICY_POINTERS: readonly string[] = [
  '/policies/retry/backoff/type',
  '/policies/retry/backoff/initial',
  '/policies/retry/backoff/max',
  '/policies/retry/backoff/jitter',
  '/policies/misfire/policy',
  '/policies/misfire/catchupWindow',
  '/policies/priority',
  '/policies/concurrency',
  '/policies/concurrencyKey',
];

const SPEC_POINTERS: Record<Kind, Record<string, string>> = {
  http: HTTP_POINTERS,
  module: MODULE_POINTERS,
  script: SCRIPT_POINTERS,
  shell: SHELL_POINTERS,
};

/** Pointers the API may report a whole object under, and the input that stands for it. */
const ALIASES: Record<string, string> = {
  '/schedule': '/schedule/type',
  '/policies/retry': '/policies/retry/maxAttempts',
  '/policies/retry/backoff': '/policies/retry/backoff/type',
  '/policies/misfire': '/policies/misfire/policy',
};

/** Pointers whose children are rows (a header or variable name follows): messages say which. */
const ROW_GROUPS: ReadonlySet<string> = new Set(['/spec/headers', '/spec/env']);

/** Notify rules are an array: `/policies/notify/1/channel` becomes "rule 2: …" for NotifyRules to place. */
export const NOTIFY_POINTER = '/policies/notify';

/** Every input pointer of a form for `kind`. */
export function inputPointers(kind: Kind): string[] {
  return [
    ...Object.values(COMMON_POINTERS),
    ...Object.values(SPEC_POINTERS[kind]),
    ...Object.values(SCHEDULE_POINTERS),
    ...Object.values(POLICY_POINTERS),
  ];
}

/** A JSON pointer segment as text (`~1` is `/`, `~0` is `~`). */
export function unescapeSegment(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

export interface GroupedProblems {
  /** Messages per input pointer. */
  fields: Record<string, string[]>;
  /** Errors no input of this form stands for. */
  rest: FieldProblem[];
}

/** Sorts a problem's field errors onto the inputs of a form for `kind`. */
export function groupProblems(errors: readonly FieldProblem[], kind: Kind): GroupedProblems {
  const known = inputPointers(kind);
  const fields: Record<string, string[]> = {};
  const rest: FieldProblem[] = [];
  for (const e of errors) {
    const target = pointerFor(e.path, known);
    if (target === null) {
      rest.push(e);
      continue;
    }
    let message = e.message;
    if (ROW_GROUPS.has(target) && e.path.length > target.length) message = `${unescapeSegment(e.path.slice(target.length + 1))}: ${message}`;
    const rule = target === NOTIFY_POINTER ? /^\/(\d+)(?:\/|$)/.exec(e.path.slice(target.length)) : null;
    if (rule !== null) message = `rule ${Number(rule[1]) + 1}: ${message}`;
    const list = (fields[target] ??= []);
    if (!list.includes(message)) list.push(message);
  }
  return { fields, rest };
}

/** The input pointer an error path lands on in a form for `kind` (null: the summary). */
export function targetPointer(path: string, kind: Kind): string | null {
  return pointerFor(path, inputPointers(kind));
}

function pointerFor(path: string, known: readonly string[]): string | null {
  if (ALIASES[path] !== undefined) return ALIASES[path];
  if (path === '/spec/limits' && known.includes('/spec/limits/memoryBytes')) return '/spec/limits/memoryBytes';
  let best: string | null = null;
  for (const p of known) {
    if ((path === p || path.startsWith(`${p}/`)) && (best === null || p.length > best.length)) best = p;
  }
  return best;
}
