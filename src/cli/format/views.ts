// How tasks, runs and the admin lists look to a person: the columns of each list and the rows
// of each detail view. Fields are read defensively (records from JSON), so a field the server
// adds or omits changes a cell, never crashes the command.

import { isRecord } from '../api-client.js';
import type { Column } from './table.js';
import { fmtDuration, fmtJson, fmtSchedule, fmtTime, str } from './values.js';

/** A JSON object from the API. */
export type Rec = Record<string, unknown>;

/** Columns of `task list`. */
export const TASK_COLUMNS: readonly Column<Rec>[] = [
  { header: 'NAME', value: (t) => str(t.name), max: 40 },
  { header: 'KIND', value: (t) => str(t.kind) },
  { header: 'SCHEDULE', value: (t) => fmtSchedule(t.schedule), max: 40 },
  { header: 'STATUS', value: (t) => str(t.status) },
  { header: 'NEXT RUN', value: (t) => fmtTime(t.nextRunAt) },
  { header: 'LAST', value: (t) => str(t.lastRunStatus) },
];

/** Columns of `run list`. */
export const RUN_COLUMNS: readonly Column<Rec>[] = [
  { header: 'ID', value: (r) => str(r.id) },
  { header: 'TASK', value: (r) => str(r.taskName ?? r.taskId), max: 32 },
  { header: 'STATUS', value: (r) => str(r.status) },
  { header: 'ATTEMPT', value: (r) => str(r.attempt), align: 'right' },
  { header: 'SCHEDULED', value: (r) => fmtTime(r.scheduledFor) },
  { header: 'LATE', value: (r) => fmtDuration(r.lateMs), align: 'right' },
  { header: 'DURATION', value: (r) => fmtDuration(r.durationMs), align: 'right' },
];

/** Columns of `key list`. */
export const KEY_COLUMNS: readonly Column<Rec>[] = [
  { header: 'ID', value: (k) => str(k.id) },
  { header: 'NAME', value: (k) => str(k.name), max: 32 },
  { header: 'ROLE', value: (k) => str(k.role) },
  { header: 'NAMESPACES', value: (k) => (Array.isArray(k.namespaces) ? k.namespaces.join(',') : str(k.namespaces)), max: 32 },
  { header: 'PREFIX', value: (k) => str(k.prefix) },
  { header: 'CREATED', value: (k) => fmtTime(k.createdAt) },
  { header: 'LAST USED', value: (k) => fmtTime(k.lastUsedAt) },
  { header: 'EXPIRES', value: (k) => fmtTime(k.expiresAt) },
  { header: 'REVOKED', value: (k) => fmtTime(k.revokedAt) },
];

/** Columns of `secret list` (there is no value to show). */
export const SECRET_COLUMNS: readonly Column<Rec>[] = [
  { header: 'NAME', value: (s) => str(s.name), max: 40 },
  { header: 'NAMESPACE', value: (s) => str(s.namespace), max: 32 },
  { header: 'VERSION', value: (s) => str(s.version) },
  { header: 'UPDATED', value: (s) => fmtTime(s.updatedAt) },
  { header: 'BY', value: (s) => str(s.updatedBy), max: 48 },
];

/** Columns of `audit list`. */
export const AUDIT_COLUMNS: readonly Column<Rec>[] = [
  { header: 'AT', value: (a) => fmtTime(a.at) },
  { header: 'NAMESPACE', value: (a) => str(a.namespace) },
  { header: 'ACTOR', value: (a) => str(a.actor) },
  { header: 'ACTION', value: (a) => str(a.action) },
  { header: 'TARGET', value: (a) => `${str(a.targetType)} ${str(a.targetId)}` },
  { header: 'DETAIL', value: (a) => fmtJson(a.detail), max: 60 },
];

/** Columns of `nodes`. */
export const NODE_COLUMNS: readonly Column<Rec>[] = [
  { header: 'ID', value: (n) => str(n.id) },
  { header: 'HOST', value: (n) => str(n.host) },
  { header: 'PID', value: (n) => str(n.pid), align: 'right' },
  { header: 'VERSION', value: (n) => str(n.version) },
  { header: 'ROLES', value: (n) => (Array.isArray(n.roles) ? n.roles.join(',') : str(n.roles)) },
  { header: 'STARTED', value: (n) => fmtTime(n.startedAt) },
  { header: 'STATUS', value: (n) => str(n.status) },
  { header: 'RUNS', value: (n) => str(n.runsInFlight), align: 'right' },
  { header: 'HEARTBEAT', value: (n) => fmtTime(n.lastHeartbeatAt) },
];

/** Rows of `task get`. */
export function taskDetail(t: Rec): [string, string][] {
  const last = t.lastRunAt === null || t.lastRunAt === undefined ? str(t.lastRunStatus) : `${fmtTime(t.lastRunAt)} ${str(t.lastRunStatus)}`;
  return [
    ['id', str(t.id)],
    ['name', str(t.name)],
    ['namespace', str(t.namespace)],
    ['description', str(t.description)],
    ['kind', str(t.kind)],
    ...flatten('spec', t.spec),
    ['schedule', fmtSchedule(t.schedule)],
    ...(typeof t.scheduleDescription === 'string' ? [['schedule in words', t.scheduleDescription] as [string, string]] : []),
    ...(isRecord(t.schedule) ? flatten('schedule', t.schedule).filter(([k]) => k !== 'schedule.type') : []),
    ['status', str(t.status)],
    ['next run', fmtTime(t.nextRunAt)],
    ['last run', last],
    ...flatten('policies', t.policies),
    ['payload', fmtJson(t.payload)],
    ['version', str(t.version)],
    ['created', `${fmtTime(t.createdAt)} by ${str(t.createdBy)}`],
    ['updated', `${fmtTime(t.updatedAt)} by ${str(t.updatedBy)}`],
  ];
}

/** Rows of `run get`. */
export function runDetail(r: Rec): [string, string][] {
  const error = isRecord(r.error) ? `${str(r.error.code)}: ${str(r.error.message)}` : str(r.error);
  return [
    ['id', str(r.id)],
    ['task', `${str(r.taskName)} (${str(r.taskId)})`],
    ['namespace', str(r.namespace)],
    ['status', str(r.status)],
    ['reason', str(r.reason)],
    ['attempt', str(r.attempt)],
    ['retry of', str(r.retryOf)],
    ['trigger', str(r.trigger)],
    ['scheduled for', fmtTime(r.scheduledFor)],
    ['queued', fmtTime(r.queuedAt)],
    ['started', fmtTime(r.startedAt)],
    ['finished', fmtTime(r.finishedAt)],
    ['late', fmtDuration(r.lateMs)],
    ['duration', fmtDuration(r.durationMs)],
    ['node', str(r.node)],
    ['idempotency key', str(r.idempotencyKey)],
    ['payload', fmtJson(r.payload)],
    ['result', fmtJson(r.result)],
    ['error', error],
    ['cpu', fmtDuration(r.cpuMs)],
    ['peak memory', fmtBytes(r.peakRssBytes)],
    ['disk written', fmtBytes(r.diskWriteBytes)],
    ['logs truncated', str(r.logsTruncated)],
  ];
}

/**
 * Nested objects as dotted rows (`policies.retry.maxAttempts  3`), the most readable form for
 * shapes the CLI does not need to know in detail (specs, policies, stats).
 */
export function flatten(prefix: string, v: unknown): [string, string][] {
  if (!isRecord(v)) return v === undefined ? [] : [[prefix, str(v)]];
  const rows: [string, string][] = [];
  for (const [k, child] of Object.entries(v)) rows.push(...flatten(prefix === '' ? k : `${prefix}.${k}`, child));
  return rows;
}

/** Bytes as `512 B`, `1.5 MiB`; `-` when not a number. */
export function fmtBytes(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = v;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}
