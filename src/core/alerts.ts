// Alerts, the domain side: rules (what to watch), alerts (a rule's firing episodes), and the
// outbox bodies an alert's firing and resolving become. Pure: the evaluator (src/alerts) measures,
// the store keeps, and these types are what they agree on.
import type { Millis } from './types.js';

export const ALERT_KINDS = [
  'consecutive_failures',
  'retries_exhausted',
  'no_success_for',
  'lateness_p99',
  'backlog',
  'node_down',
  'sink_dropping',
  'outbox_backlog',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * Kinds that watch the whole installation (nodes, the sink, the outbox) rather than the rule's
 * namespace: only admins may define them, as only admins see nodes.
 */
export const SYSTEM_KINDS: ReadonlySet<AlertKind> = new Set(['node_down', 'sink_dropping', 'outbox_backlog']);

/**
 * Parameters per kind, as the API takes and shows them (durations as written: `"5m"`), with
 * defaults filled in at write (core/alert-params.ts checks them). Which apply depends on the kind.
 */
export interface AlertParams {
  /** consecutive_failures, no_success_for; retries_exhausted (absent: any task of the namespace). */
  task?: string;
  /** consecutive_failures: failed or timed-out runs in a row. */
  n?: number;
  /** retries_exhausted: how far back an exhausted run keeps the alert firing (default 1h). */
  within?: string;
  /** no_success_for: the longest time without a success. */
  duration?: string;
  /** lateness_p99: the bound on the p99 of lateness. */
  bound?: string;
  /** lateness_p99, sink_dropping: the window measured (default 5m). */
  window?: string;
  /** backlog: runs due and not started; sink_dropping: points dropped in the window; outbox_backlog: old pending notifications (default 0). */
  above?: number;
  /** node_down: one node id (absent: any node). */
  node?: string;
  /** outbox_backlog: the age from which a pending notification counts. */
  olderThan?: string;
}

export interface AlertRule {
  id: string;
  namespace: string;
  name: string;
  kind: AlertKind;
  params: AlertParams;
  /** The condition must hold this long before the alert fires (0: at the first evaluation that sees it). */
  forMs: number;
  /** Channel names in the rule's namespace; each gets a notification on firing and on resolving. */
  channels: string[];
  enabled: boolean;
  createdAt: Millis;
  updatedAt: Millis;
  createdBy: string;
  updatedBy: string;
}

export type AlertStatus = 'firing' | 'resolved';

/** One firing episode of a rule: opened when it fires, closed (resolved) when the condition ends. */
export interface Alert {
  id: string;
  ruleId: string;
  namespace: string;
  ruleName: string;
  kind: AlertKind;
  status: AlertStatus;
  /** When the condition began (the start of the `for` wait), not when the alert fired. */
  since: Millis;
  firedAt: Millis;
  resolvedAt: Millis | null;
  /** A sentence with the measured value, e.g. "task nightly failed 3 times in a row". */
  why: string;
  /** The measured value that fired it (last seen while firing). */
  value: number | null;
}

/** What one evaluation of a rule found. */
export interface Measurement {
  /** The condition holds now. */
  active: boolean;
  value: number | null;
  why: string;
}

/** The webhook body of an alert notification: `alert.firing` or `alert.resolved`. */
export interface AlertNotificationBody {
  type: 'alert.firing' | 'alert.resolved';
  timestamp: string;
  alert: {
    id: string;
    status: AlertStatus;
    since: string;
    resolvedAt: string | null;
    why: string;
    value: number | null;
  };
  rule: { id: string; name: string; kind: AlertKind; namespace: string };
}

/** The outbox event names of alerts (the `event` column; the body's `type`). */
export type AlertEvent = AlertNotificationBody['type'];

export function alertBody(a: Alert, rule: Pick<AlertRule, 'id' | 'name' | 'kind' | 'namespace'>, at: Millis): AlertNotificationBody {
  return {
    type: a.status === 'firing' ? 'alert.firing' : 'alert.resolved',
    timestamp: new Date(at).toISOString(),
    alert: {
      id: a.id,
      status: a.status,
      since: new Date(a.since).toISOString(),
      resolvedAt: a.resolvedAt === null ? null : new Date(a.resolvedAt).toISOString(),
      why: a.why,
      value: a.value,
    },
    rule: { id: rule.id, name: rule.name, kind: rule.kind, namespace: rule.namespace },
  };
}
