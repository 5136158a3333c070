// Checks an alert rule's kind-specific parameters and its `for`, with every problem at once and
// defaults filled in, so a stored rule always evaluates (its durations parse, its counts are sane).
import type { FieldError } from './errors.js';
import { parseDuration } from './duration.js';
import { ALERT_KINDS, type AlertKind, type AlertParams } from './alerts.js';

type Field = 'task' | 'n' | 'within' | 'duration' | 'bound' | 'window' | 'above' | 'node' | 'olderThan';

interface KindSpec {
  required: readonly Field[];
  optional: readonly Field[];
  defaults?: Partial<AlertParams>;
  /** `for` applies: the condition is a level that can flap, not a count or an age that already is a duration. */
  takesFor: boolean;
}

export const KIND_SPECS: Readonly<Record<AlertKind, KindSpec>> = {
  consecutive_failures: { required: ['task', 'n'], optional: [], takesFor: false },
  retries_exhausted: { required: [], optional: ['task', 'within'], defaults: { within: '1h' }, takesFor: false },
  no_success_for: { required: ['task', 'duration'], optional: [], takesFor: false },
  lateness_p99: { required: ['bound'], optional: ['window'], defaults: { window: '5m' }, takesFor: true },
  backlog: { required: ['above'], optional: [], takesFor: true },
  node_down: { required: [], optional: ['node'], takesFor: true },
  sink_dropping: { required: [], optional: ['above', 'window'], defaults: { above: 0, window: '5m' }, takesFor: true },
  outbox_backlog: { required: ['olderThan'], optional: ['above'], defaults: { above: 0 }, takesFor: true },
};

const DURATIONS: ReadonlySet<Field> = new Set(['within', 'duration', 'bound', 'window', 'olderThan']);
const STRINGS: ReadonlySet<Field> = new Set(['task', 'node']);
/** A window longer than a day reads more history than an evaluation every few seconds should. */
const MAX_WINDOW_MS = 86_400_000;
/** lateness_p99 reads every run due in its window (runs_time): an hour is already many at full load. */
const MAX_LATENESS_WINDOW_MS = 3_600_000;

export function isAlertKind(k: unknown): k is AlertKind {
  return typeof k === 'string' && (ALERT_KINDS as readonly string[]).includes(k);
}

/** Milliseconds of a duration param that `checkParams` accepted (0 when absent). */
export function durationParam(p: AlertParams, field: 'within' | 'duration' | 'bound' | 'window' | 'olderThan'): number {
  const v = p[field];
  return v === undefined ? 0 : (parseDuration(v) ?? 0);
}

/** The params of `kind` from raw input, defaults filled, or the field errors (paths under `/params`). */
export function checkParams(kind: AlertKind, raw: unknown): { params: AlertParams; errors: FieldError[] } {
  const spec = KIND_SPECS[kind];
  const errors: FieldError[] = [];
  const params: AlertParams = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { params, errors: [{ path: '/params', message: `must be an object; ${kind} takes ${describe(spec)}` }] };
  }
  const input = raw as Record<string, unknown>;
  const known = new Set<string>([...spec.required, ...spec.optional]);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) errors.push({ path: `/params/${key}`, message: `is not a parameter of ${kind} (it takes ${describe(spec)})` });
  }
  for (const field of spec.required) {
    if (input[field] === undefined) errors.push({ path: `/params/${field}`, message: `is required for ${kind}` });
  }
  for (const field of [...spec.required, ...spec.optional]) {
    const v = input[field];
    if (v === undefined) continue;
    const path = `/params/${field}`;
    if (DURATIONS.has(field)) {
      const ms = typeof v === 'string' ? parseDuration(v) : null;
      if (ms === null || ms <= 0) errors.push({ path, message: 'must be a positive duration such as "30s", "5m" or "PT1H"' });
      else if (kind === 'lateness_p99' && field === 'window' && ms > MAX_LATENESS_WINDOW_MS) errors.push({ path, message: 'must be at most 1h' });
      else if ((field === 'window' || field === 'within') && ms > MAX_WINDOW_MS) errors.push({ path, message: 'must be at most 24h' });
      else (params as Record<string, unknown>)[field] = v;
    } else if (STRINGS.has(field)) {
      if (typeof v !== 'string' || v.trim() === '' || v.length > 200) errors.push({ path, message: 'must be a non-empty name (at most 200 characters)' });
      else (params as Record<string, unknown>)[field] = v;
    } else if (field === 'n') {
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 100) errors.push({ path, message: 'must be an integer from 1 to 100' });
      else params.n = v as number;
    } else if (field === 'above') {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 1_000_000_000) errors.push({ path, message: 'must be an integer of at least 0' });
      else params.above = v as number;
    }
  }
  return { params: { ...spec.defaults, ...params }, errors };
}

/** `for` as a duration of ms, or the error; kinds whose condition is a count or an age take none. */
export function checkFor(kind: AlertKind, raw: string | undefined): { forMs: number; errors: FieldError[] } {
  if (raw === undefined) return { forMs: 0, errors: [] };
  // "0s" is what answers show for no wait: a rule read back and sent again must be accepted.
  if (parseDuration(raw) === 0) return { forMs: 0, errors: [] };
  if (!KIND_SPECS[kind].takesFor) {
    return { forMs: 0, errors: [{ path: '/for', message: `does not apply to ${kind}: it fires as soon as its condition is met (put the wait in its params)` }] };
  }
  const ms = parseDuration(raw);
  if (ms === null || ms < 0 || ms > 7 * 86_400_000) return { forMs: 0, errors: [{ path: '/for', message: 'must be a duration from "0s" to "7d"' }] };
  return { forMs: ms, errors: [] };
}

function describe(spec: KindSpec): string {
  const parts = [...spec.required.map((f) => `${f} (required)`), ...spec.optional];
  return parts.length === 0 ? 'no parameters' : parts.join(', ');
}
