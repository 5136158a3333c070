// The task form as the user edits it: every input is a string (what is typed stays typed, even
// when it is not valid yet), one section per kind so switching kinds loses nothing. build.ts
// turns it into the API's request body.

import type { Schedule, Task, TaskCreate } from '../api/client';
import { toLocalInput } from '../format';
import { quoteArgv } from './argv';

export type Kind = TaskCreate['kind'];
export type PoliciesInput = NonNullable<TaskCreate['policies']>;
export type Overlap = NonNullable<PoliciesInput['overlap']>;
export type Misfire = NonNullable<NonNullable<PoliciesInput['misfire']>['policy']>;
export type BackoffType = NonNullable<NonNullable<NonNullable<PoliciesInput['retry']>['backoff']>['type']>;
export type NotifyEvent = NonNullable<PoliciesInput['notify']>[number]['on'][number];

/** One notify rule: which outcomes go to which channel; `id` keeps React's list keys stable. */
export interface NotifyRow {
  id: number;
  on: NotifyEvent[];
  channel: string;
}

/** One name/value row (headers, environment); `id` keeps React's list keys stable. */
export interface Row {
  id: number;
  name: string;
  value: string;
}

let rowSeq = 0;
/** A new row with a fresh id. */
export function newRow(name = '', value = ''): Row {
  rowSeq += 1;
  return { id: rowSeq, name, value };
}

/** A new notify rule with a fresh id (failures by default: what most people want told). */
export function newNotifyRow(on: NotifyEvent[] = ['failed', 'retries_exhausted'], channel = ''): NotifyRow {
  rowSeq += 1;
  return { id: rowSeq, on, channel };
}

export interface HttpForm {
  method: string;
  url: string;
  headers: Row[];
  body: string;
  /** Send the body as JSON (parsed here) rather than as text. */
  bodyJson: boolean;
  expectStatus: string;
}

export interface ModuleForm {
  file: string;
  exportName: string;
}

export interface ScriptForm {
  code: string;
  memoryMiB: string;
}

export interface ShellForm {
  /** One line, split shell-style into argv (see argv.ts). */
  command: string;
  cwd: string;
  env: Row[];
  processes: string;
  openFiles: string;
  fileSizeBytes: string;
  cpuSeconds: string;
}

export type ScheduleType = 'none' | Schedule['type'];

export interface ScheduleForm {
  type: ScheduleType;
  /** datetime-local values, read in the browser's zone. */
  at: string;
  startAt: string;
  endAt: string;
  every: string;
  expression: string;
  timezone: string;
  maxRuns: string;
  jitter: string;
}

export interface PoliciesForm {
  maxAttempts: string;
  backoffType: BackoffType;
  backoffInitial: string;
  backoffMax: string;
  backoffJitter: boolean;
  timeout: string;
  overlap: Overlap;
  misfirePolicy: Misfire;
  catchupWindow: string;
  priority: string;
  concurrency: string;
  concurrencyKey: string;
  notify: NotifyRow[];
}

export interface TaskForm {
  name: string;
  namespace: string;
  description: string;
  kind: Kind;
  http: HttpForm;
  module: ModuleForm;
  script: ScriptForm;
  shell: ShellForm;
  schedule: ScheduleForm;
  policies: PoliciesForm;
  /** JSON text; empty for none. */
  payload: string;
}

export const STARTER_SCRIPT = `export default async (ctx) => {
  ctx.log('hello');
  return { ok: true };
};
`;

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const OVERLAPS: readonly Overlap[] = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all'];
export const MISFIRES: readonly Misfire[] = ['run_once', 'skip', 'run_all'];
/** The events a notify rule can name, in the order the editor offers them (docs/notifications.md). */
export const NOTIFY_EVENTS: readonly NotifyEvent[] = ['failed', 'timed_out', 'retries_exhausted', 'lost', 'succeeded', 'recovered'];

/** The browser's IANA zone (what datetime-local inputs mean). */
export const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The API's documented policy defaults, so a new form shows what a task would get. */
const DEFAULT_POLICIES: PoliciesForm = {
  maxAttempts: '1',
  backoffType: 'exponential',
  backoffInitial: '1s',
  backoffMax: '5m',
  backoffJitter: true,
  timeout: '5m',
  overlap: 'skip',
  misfirePolicy: 'run_once',
  catchupWindow: '1h',
  priority: '0',
  concurrency: '',
  concurrencyKey: '',
  notify: [],
};

function nextFullHour(): string {
  const d = new Date();
  d.setHours(d.getHours() + 1, 0, 0, 0);
  return toLocalInput(d.toISOString());
}

/** An empty form for a new task in `namespace`. */
export function emptyForm(namespace: string): TaskForm {
  return {
    name: '',
    namespace,
    description: '',
    kind: 'http',
    http: { method: 'GET', url: '', headers: [], body: '', bodyJson: false, expectStatus: '' },
    module: { file: '', exportName: '' },
    script: { code: STARTER_SCRIPT, memoryMiB: '' },
    shell: { command: '', cwd: '', env: [], processes: '', openFiles: '', fileSizeBytes: '', cpuSeconds: '' },
    schedule: {
      type: 'none',
      at: nextFullHour(),
      startAt: '',
      endAt: '',
      every: '',
      expression: '',
      timezone: BROWSER_ZONE,
      maxRuns: '',
      jitter: '',
    },
    policies: { ...DEFAULT_POLICIES, notify: [] },
    payload: '',
  };
}

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const local = (iso: unknown): string => (typeof iso === 'string' && iso !== '' ? toLocalInput(iso) : '');

/** Bytes as MiB for the input, without float noise (1.5, not 1.5000000001). */
function mib(bytes: unknown): string {
  return typeof bytes === 'number' ? String(Math.round((bytes / 1_048_576) * 1000) / 1000) : '';
}

/** The form pre-filled with everything an existing task has. */
export function formFromTask(task: Task): TaskForm {
  const form = emptyForm(task.namespace);
  form.name = task.name;
  form.description = task.description ?? '';
  form.kind = task.kind;
  const spec = obj(task.spec);
  switch (task.kind) {
    case 'http': {
      const body = spec.body;
      const expect = spec.expectStatus;
      form.http = {
        method: str(spec.method).toUpperCase() || 'GET',
        url: str(spec.url),
        headers: Object.entries(obj(spec.headers)).map(([n, v]) => newRow(n, str(v))),
        body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body, null, 2),
        bodyJson: body !== undefined && typeof body !== 'string',
        expectStatus: Array.isArray(expect) ? expect.join(', ') : str(expect),
      };
      break;
    }
    case 'module':
      form.module = { file: str(spec.file), exportName: str(spec.export) };
      break;
    case 'script':
      form.script = { code: str(spec.code), memoryMiB: mib(obj(spec.limits).memoryBytes) };
      break;
    case 'shell': {
      const limits = obj(spec.limits);
      form.shell = {
        command: Array.isArray(spec.command) ? quoteArgv(spec.command.map(str)) : '',
        cwd: str(spec.cwd),
        env: Object.entries(obj(spec.env)).map(([n, v]) => newRow(n, str(v))),
        processes: str(limits.processes),
        openFiles: str(limits.openFiles),
        fileSizeBytes: str(limits.fileSizeBytes),
        cpuSeconds: str(limits.cpuSeconds),
      };
      break;
    }
  }
  const s = task.schedule;
  if (s) {
    form.schedule = {
      ...form.schedule,
      type: s.type,
      at: s.type === 'once' ? local(s.at) : form.schedule.at,
      startAt: local(s.startAt),
      endAt: local(s.endAt),
      every: s.every ?? '',
      expression: s.expression ?? '',
      // The API's default zone, written out so the builder says what it means.
      timezone: s.type === 'cron' ? (s.timezone ?? 'UTC') : form.schedule.timezone,
      maxRuns: s.maxRuns === undefined ? '' : String(s.maxRuns),
      jitter: s.jitter ?? '',
    };
  }
  const p = task.policies;
  const d = DEFAULT_POLICIES;
  form.policies = {
    maxAttempts: p.retry?.maxAttempts === undefined ? d.maxAttempts : String(p.retry.maxAttempts),
    backoffType: p.retry?.backoff?.type ?? d.backoffType,
    backoffInitial: p.retry?.backoff?.initial ?? d.backoffInitial,
    backoffMax: p.retry?.backoff?.max ?? d.backoffMax,
    backoffJitter: p.retry?.backoff?.jitter ?? d.backoffJitter,
    timeout: p.timeout ?? d.timeout,
    overlap: p.overlap ?? d.overlap,
    misfirePolicy: p.misfire?.policy ?? d.misfirePolicy,
    catchupWindow: p.misfire?.catchupWindow ?? d.catchupWindow,
    priority: p.priority === undefined ? d.priority : String(p.priority),
    concurrency: p.concurrency === undefined || p.concurrency === null ? '' : String(p.concurrency),
    concurrencyKey: p.concurrencyKey ?? '',
    notify: (p.notify ?? []).map((r) => newNotifyRow([...r.on], r.channel)),
  };
  form.payload = task.payload === null || task.payload === undefined ? '' : JSON.stringify(task.payload, null, 2);
  return form;
}
