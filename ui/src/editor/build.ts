// The form as the API's request body. Only what the browser must decide is checked here (JSON
// that does not parse, numbers that are not numbers, a quote left open); everything else is the
// API's to judge, so its messages are the ones people see. Errors carry the same JSON pointers
// the API uses, so both kinds land next to the same inputs.

import type { FieldProblem } from '../api/problem';
import type { Schedule, TaskCreate, TaskPatch } from '../api/client';
import { fromLocalInput } from '../format';
import { splitArgv } from './argv';
import type { HttpForm, PoliciesForm, Row, ScheduleForm, ShellForm, TaskForm } from './model';

type Errors = FieldProblem[];

function int(value: string, path: string, errors: Errors): number | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (!/^-?\d+$/.test(v)) {
    errors.push({ path, message: 'must be a whole number' });
    return undefined;
  }
  return Number(v);
}

function instant(value: string, path: string, errors: Errors): string | undefined {
  if (value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    errors.push({ path, message: 'is not a complete date and time' });
    return undefined;
  }
  return fromLocalInput(value);
}

/** Why `text` is not JSON, or null when it is. */
export function jsonProblem(text: string, what: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return `${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function parseJson(text: string, path: string, what: string, errors: Errors): unknown {
  const problem = jsonProblem(text, what);
  if (problem === null) return JSON.parse(text) as unknown;
  errors.push({ path, message: problem });
  return undefined;
}

function rowsToRecord(rows: readonly Row[], path: string, what: string, errors: Errors): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let any = false;
  rows.forEach((r, i) => {
    const name = r.name.trim();
    if (name === '' && r.value === '') return;
    if (name === '') {
      errors.push({ path, message: `row ${i + 1}: the ${what} name is empty` });
      return;
    }
    if (Object.hasOwn(out, name)) {
      errors.push({ path, message: `${name}: appears twice` });
      return;
    }
    out[name] = r.value;
    any = true;
  });
  return any ? out : undefined;
}

function httpSpec(h: HttpForm, errors: Errors): Record<string, unknown> {
  const spec: Record<string, unknown> = { url: h.url.trim(), method: h.method };
  const headers = rowsToRecord(h.headers, '/spec/headers', 'header', errors);
  if (headers) spec.headers = headers;
  // GET and HEAD hide the body input; what was typed there stays in the form, unsent.
  if (h.body !== '' && h.method !== 'GET' && h.method !== 'HEAD') spec.body = h.bodyJson ? parseJson(h.body, '/spec/body', 'The body', errors) : h.body;
  const expect = h.expectStatus.trim();
  if (expect !== '') {
    const codes = expect.split(/[\s,]+/).filter(Boolean);
    if (codes.every((c) => /^\d{3}$/.test(c))) spec.expectStatus = codes.length === 1 ? Number(codes[0]) : codes.map(Number);
    else errors.push({ path: '/spec/expectStatus', message: 'must be a status code like 200, or several separated by commas' });
  }
  return spec;
}

function shellSpec(s: ShellForm, errors: Errors): Record<string, unknown> {
  const { argv, error } = splitArgv(s.command);
  if (error !== null) errors.push({ path: '/spec/command', message: error });
  const spec: Record<string, unknown> = { command: argv };
  if (s.cwd.trim() !== '') spec.cwd = s.cwd.trim();
  const env = rowsToRecord(s.env, '/spec/env', 'variable', errors);
  if (env) spec.env = env;
  const limits: Record<string, number> = {};
  for (const key of ['processes', 'openFiles', 'fileSizeBytes', 'cpuSeconds'] as const) {
    const v = int(s[key], `/spec/limits/${key}`, errors);
    if (v !== undefined) limits[key] = v;
  }
  if (Object.keys(limits).length > 0) spec.limits = limits;
  return spec;
}

/** The spec of the form's kind. */
export function buildSpec(form: TaskForm, errors: Errors): Record<string, unknown> {
  switch (form.kind) {
    case 'http':
      return httpSpec(form.http, errors);
    case 'module': {
      const spec: Record<string, unknown> = { file: form.module.file.trim() };
      if (form.module.exportName.trim() !== '') spec.export = form.module.exportName.trim();
      return spec;
    }
    case 'script': {
      const spec: Record<string, unknown> = { code: form.script.code };
      const m = form.script.memoryMiB.trim();
      if (m !== '') {
        const n = Number(m);
        if (!Number.isFinite(n) || n <= 0) errors.push({ path: '/spec/limits/memoryBytes', message: 'must be a number of MiB, like 64' });
        else spec.limits = { memoryBytes: Math.round(n * 1_048_576) };
      }
      return spec;
    }
    case 'shell':
      return shellSpec(form.shell, errors);
  }
}

export interface BuiltSchedule {
  schedule: Schedule | null;
  /** A required input is still empty: nothing to preview yet, nothing wrong either. */
  incomplete: boolean;
  errors: Errors;
}

/** The schedule (null: none), or why the browser cannot build it. */
export function buildSchedule(s: ScheduleForm): BuiltSchedule {
  const errors: Errors = [];
  if (s.type === 'none') return { schedule: null, incomplete: false, errors };
  const common: Partial<Schedule> = {};
  const maxRuns = s.type === 'once' ? undefined : int(s.maxRuns, '/schedule/maxRuns', errors);
  if (maxRuns !== undefined) common.maxRuns = maxRuns;
  if (s.jitter.trim() !== '') common.jitter = s.jitter.trim();
  let schedule: Schedule;
  let incomplete: boolean;
  if (s.type === 'once') {
    incomplete = s.at === '';
    schedule = { type: 'once', at: instant(s.at, '/schedule/at', errors) ?? '', ...common };
  } else {
    const bounds: Partial<Schedule> = {};
    const startAt = instant(s.startAt, '/schedule/startAt', errors);
    const endAt = instant(s.endAt, '/schedule/endAt', errors);
    if (startAt !== undefined) bounds.startAt = startAt;
    if (endAt !== undefined) bounds.endAt = endAt;
    if (s.type === 'interval') {
      incomplete = s.every.trim() === '';
      schedule = { type: 'interval', every: s.every.trim(), ...bounds, ...common };
    } else {
      incomplete = s.expression.trim() === '';
      schedule = { type: 'cron', expression: s.expression.trim(), timezone: s.timezone.trim() || 'UTC', ...bounds, ...common };
    }
  }
  return { schedule, incomplete, errors };
}

function buildPolicies(p: PoliciesForm, errors: Errors): NonNullable<TaskCreate['policies']> {
  const maxAttempts = int(p.maxAttempts, '/policies/retry/maxAttempts', errors);
  const priority = int(p.priority, '/policies/priority', errors);
  const concurrency = int(p.concurrency, '/policies/concurrency', errors);
  const backoff: Record<string, unknown> = { type: p.backoffType, jitter: p.backoffJitter };
  if (p.backoffInitial.trim() !== '') backoff.initial = p.backoffInitial.trim();
  if (p.backoffMax.trim() !== '') backoff.max = p.backoffMax.trim();
  const misfire: Record<string, unknown> = { policy: p.misfirePolicy };
  if (p.catchupWindow.trim() !== '') misfire.catchupWindow = p.catchupWindow.trim();
  return {
    retry: { ...(maxAttempts !== undefined && { maxAttempts }), backoff },
    ...(p.timeout.trim() !== '' && { timeout: p.timeout.trim() }),
    overlap: p.overlap,
    misfire,
    ...(priority !== undefined && { priority }),
    concurrency: concurrency ?? null,
    concurrencyKey: p.concurrencyKey.trim() === '' ? null : p.concurrencyKey.trim(),
    // Always sent, [] too: a PATCH without notify would keep the rules the user removed.
    notify: p.notify.map((r) => ({ on: r.on, channel: r.channel.trim() })),
  };
}

/** What POST /v1/tasks gets, and the browser's own objections (none: send it). */
export function buildCreate(form: TaskForm, withNamespace: boolean): { body: TaskCreate; errors: Errors } {
  const errors: Errors = [];
  const spec = buildSpec(form, errors);
  const built = buildSchedule(form.schedule);
  errors.push(...built.errors);
  const policies = buildPolicies(form.policies, errors);
  const body: TaskCreate = { name: form.name.trim(), kind: form.kind, spec, policies };
  if (withNamespace && form.namespace.trim() !== '') body.namespace = form.namespace.trim();
  if (form.description.trim() !== '') body.description = form.description.trim();
  if (built.schedule !== null) body.schedule = built.schedule;
  if (form.payload.trim() !== '') body.payload = parseJson(form.payload, '/payload', 'The payload', errors);
  return { body, errors };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * What PATCH /v1/tasks/{id} gets: only what differs from the form as it was loaded. A schedule
 * sent unchanged would still replace the pending run, so it goes only when it changed.
 */
export function buildPatch(initial: TaskForm, form: TaskForm): { body: TaskPatch; errors: Errors } {
  const before = buildCreate(initial, false).body;
  const { body: after, errors } = buildCreate(form, false);
  const patch: TaskPatch = {};
  if (after.name !== before.name) patch.name = after.name;
  if ((after.description ?? null) !== (before.description ?? null)) patch.description = after.description ?? null;
  if (after.kind !== before.kind || !same(after.spec, before.spec)) {
    patch.kind = after.kind;
    patch.spec = after.spec;
  }
  if (!same(after.schedule ?? null, before.schedule ?? null)) patch.schedule = after.schedule ?? null;
  if (!same(after.policies, before.policies)) patch.policies = after.policies;
  if (!same(after.payload ?? null, before.payload ?? null)) patch.payload = after.payload ?? null;
  return { body: patch, errors };
}
