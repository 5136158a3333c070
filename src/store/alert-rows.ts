// Rows of the alert_rules and alerts tables as both SQL stores read and write them, and the
// cursors of their listings (the columns are the same on SQLite and PostgreSQL).
import { SundialError } from '../core/errors.js';
import type { Alert, AlertKind, AlertParams, AlertRule, AlertStatus } from '../core/alerts.js';
import { decodeCursor, encodeCursor } from './cursor.js';

export interface AlertRuleRow {
  id: string;
  namespace: string;
  name: string;
  kind: string;
  params: string;
  for_ms: number | string;
  channels: string;
  enabled: number;
  created_at: number | string;
  updated_at: number | string;
  created_by: string;
  updated_by: string;
}

export interface AlertRow {
  id: string;
  rule_id: string;
  namespace: string;
  rule_name: string;
  kind: string;
  status: string;
  since: number | string;
  fired_at: number | string;
  resolved_at: number | string | null;
  why: string;
  value: number | null;
}

export const RULE_COLUMNS = 'id, namespace, name, kind, params, for_ms, channels, enabled, created_at, updated_at, created_by, updated_by';
export const ALERT_COLUMNS = 'id, rule_id, namespace, rule_name, kind, status, since, fired_at, resolved_at, why, value';

export function rowToRule(r: AlertRuleRow): AlertRule {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    kind: r.kind as AlertKind,
    params: JSON.parse(r.params) as AlertParams,
    forMs: Number(r.for_ms),
    channels: JSON.parse(r.channels) as string[],
    enabled: Number(r.enabled) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
  };
}

/** Values in RULE_COLUMNS order. */
export function ruleValues(r: AlertRule): unknown[] {
  return [
    r.id, r.namespace, r.name, r.kind, JSON.stringify(r.params), r.forMs, JSON.stringify(r.channels), r.enabled ? 1 : 0,
    r.createdAt, r.updatedAt, r.createdBy, r.updatedBy,
  ];
}

export function rowToAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    ruleId: r.rule_id,
    namespace: r.namespace,
    ruleName: r.rule_name,
    kind: r.kind as AlertKind,
    status: r.status as AlertStatus,
    since: Number(r.since),
    firedAt: Number(r.fired_at),
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
    why: r.why,
    value: r.value === null ? null : Number(r.value),
  };
}

/** Values in ALERT_COLUMNS order. */
export function alertValues(a: Alert): unknown[] {
  return [a.id, a.ruleId, a.namespace, a.ruleName, a.kind, a.status, a.since, a.firedAt, a.resolvedAt, a.why, a.value];
}

export function ruleCursor(r: AlertRule): string {
  return encodeCursor(['ar', r.namespace, r.name]);
}

export function decodeRuleCursor(cursor: string): { namespace: string; name: string } {
  const [, namespace, name] = decodeCursor(cursor, 'ar');
  return { namespace, name };
}

/** Alerts are listed newest first by id (UUIDv7: time order). */
export function alertCursor(a: Alert): string {
  return encodeCursor(['al', a.id]);
}

export function decodeAlertCursor(cursor: string): string {
  return decodeCursor(cursor, 'al')[1];
}

export function ruleNameTaken(r: AlertRule, cause: unknown): SundialError {
  return new SundialError('alert_rule_name_taken', `An alert rule named "${r.name}" already exists in namespace "${r.namespace}"`, { cause });
}
