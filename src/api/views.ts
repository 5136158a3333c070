// Domain objects as the API shows them: ISO-8601 times, derived fields (lateMs, durationMs,
// scheduleDescription), policies with durations as text. The types come from the response
// schemas, so a view that drifts from its schema fails to compile.

import type { Static } from 'typebox';
import { policiesToView } from '../core/policies.js';
import { describeSchedule } from '../core/schedule/describe.js';
import { RUN_STATUSES, type ApiKey, type AuditEntry, type LogLine, type Millis, type NodeState, type Role, type Run } from '../core/types.js';
import type { Page, RecentRun } from '../store/store.js';
import { specFor } from './redact.js';
import type { RunStats, Stats } from '../services/admin-service.js';
import type { ListedTask } from '../services/task-service.js';
import type { ApiKeyView, AuditVerifyView, AuditView, NodeView, RunStatsView, StatsView } from './schemas/admin.js';
import type { LogLineView, RunView } from './schemas/run.js';
import type { RecentRunView, TaskView } from './schemas/task.js';
import type { AuditVerification } from '../services/audit-verify.js';

/** Epoch milliseconds as ISO-8601. */
export function iso(ms: Millis): string {
  return new Date(ms).toISOString();
}

/** Epoch milliseconds or null as ISO-8601 or null. */
export function isoOrNull(ms: Millis | null): string | null {
  return ms === null ? null : iso(ms);
}

/**
 * A task for a key with `role` (its spec's credentials hidden as redact.ts says); `recentRuns`
 * only when the task carries them (listings that asked).
 */
export function taskView(t: ListedTask, role: Role): Static<typeof TaskView> {
  return {
    id: t.id,
    namespace: t.namespace,
    name: t.name,
    description: t.description,
    kind: t.kind,
    spec: specFor(role, t.kind, t.spec),
    schedule: t.schedule,
    scheduleDescription: t.schedule === null ? null : describeSchedule(t.schedule),
    policies: policiesToView(t.policies),
    payload: t.payload,
    status: t.status,
    firedCount: t.firedCount,
    nextRunAt: isoOrNull(t.nextRunAt),
    lastRunAt: isoOrNull(t.lastRunAt),
    lastRunStatus: t.lastRunStatus,
    version: t.version,
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    createdBy: t.createdBy,
    updatedBy: t.updatedBy,
    ...(t.recentRuns !== undefined && { recentRuns: t.recentRuns.map(recentRunView) }),
  };
}

/** A finished run of a task listing's `recentRuns`. */
export function recentRunView(r: RecentRun): Static<typeof RecentRunView> {
  return {
    id: r.id,
    status: r.status,
    scheduledFor: iso(r.scheduledFor),
    finishedAt: isoOrNull(r.finishedAt),
    durationMs: r.startedAt === null || r.finishedAt === null ? null : r.finishedAt - r.startedAt,
  };
}

/** A run for the API. */
export function runView(r: Run): Static<typeof RunView> {
  return {
    id: r.id,
    taskId: r.taskId,
    taskName: r.taskName,
    namespace: r.namespace,
    status: r.status,
    attempt: r.attempt,
    retryOf: r.retryOf,
    trigger: r.trigger,
    occurrenceAt: isoOrNull(r.occurrenceAt),
    scheduledFor: iso(r.scheduledFor),
    queuedAt: isoOrNull(r.queuedAt),
    startedAt: isoOrNull(r.startedAt),
    finishedAt: isoOrNull(r.finishedAt),
    lateMs: r.startedAt === null ? null : r.startedAt - r.scheduledFor,
    durationMs: r.startedAt === null || r.finishedAt === null ? null : r.finishedAt - r.startedAt,
    priority: r.priority,
    payload: r.payload,
    result: r.result,
    error: r.error,
    reason: r.reason,
    node: r.node,
    cpuMs: r.cpuMs,
    peakRssBytes: r.peakRssBytes,
    diskWriteBytes: r.diskWriteBytes,
    idempotencyKey: r.idempotencyKey,
    logsTruncated: r.logsTruncated,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    createdBy: r.createdBy,
  };
}

/** A log line for the API. */
export function logLineView(l: LogLine): Static<typeof LogLineView> {
  return { at: iso(l.at), level: l.level, message: l.message };
}

/** An API key for the API (never with its hash). */
export function apiKeyView(k: ApiKey): Static<typeof ApiKeyView> {
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    namespaces: k.namespaces,
    prefix: k.prefix,
    createdAt: iso(k.createdAt),
    createdBy: k.createdBy,
    lastUsedAt: isoOrNull(k.lastUsedAt),
    lastUsedFrom: k.lastUsedFrom,
    revokedAt: isoOrNull(k.revokedAt),
    expiresAt: isoOrNull(k.expiresAt),
    scopes: k.scopes,
    replacedBy: k.replacedBy,
  };
}

/** An audit row for the API. */
export function auditView(a: AuditEntry): Static<typeof AuditView> {
  return { ...a, at: iso(a.at) };
}

/** A verification of the audit chain for the API. */
export function auditVerifyView(v: AuditVerification): Static<typeof AuditVerifyView> {
  return { ...v, lastSignedHead: v.lastSignedHead === null ? null : { seq: v.lastSignedHead.seq, at: iso(v.lastSignedHead.at) } };
}

/** A node for the API. */
export function nodeView(n: NodeState): Static<typeof NodeView> {
  return {
    id: n.id,
    host: n.host,
    pid: n.pid,
    version: n.version,
    roles: n.roles,
    startedAt: iso(n.startedAt),
    lastHeartbeatAt: iso(n.heartbeatAt),
    status: n.status,
    runsInFlight: n.runsInFlight,
  };
}

/** Counts for the API, every status present (zero when none). */
export function statsView(s: Stats): Static<typeof StatsView> {
  const byStatus = Object.fromEntries(RUN_STATUSES.map((st) => [st, s.runs.byStatus[st] ?? 0]));
  return { at: iso(s.at), runs: { byStatus, backlog: s.runs.backlog }, tasks: s.tasks, ...(s.sinks !== undefined && { sinks: s.sinks }) };
}

/** Per-minute run stats for the API. */
export function runStatsView(s: RunStats): Static<typeof RunStatsView> {
  return { from: iso(s.from), to: iso(s.to), bucketMs: s.bucketMs, buckets: s.buckets.map((b) => ({ ...b, at: iso(b.at) })) };
}

/** A page with each item turned into its view. */
export function pageView<T, V>(page: Page<T>, view: (item: T) => V): { items: V[]; nextCursor: string | null } {
  return { items: page.items.map(view), nextCursor: page.nextCursor };
}
