// The part of the Store contract that keeps alert rules, their alerts (firing episodes), the
// evaluator's lease, and the few measurements rules need that no other store method gives
// cheaply. A firing or resolving alert is written with its outbox rows in one transaction, so a
// crash cannot leave an alert that fired without its notifications, or the other way round.
import type { Alert, AlertRule, AlertStatus } from '../core/alerts.js';
import type { NewNotification } from '../core/notify.js';
import type { Millis, NamespaceScope } from '../core/types.js';
import type { NewAudit, Page } from './store.js';

export interface AlertFilter {
  namespaces: NamespaceScope;
  status?: AlertStatus;
  ruleId?: string;
  limit: number;
  cursor?: string;
}

/** The newest run of a task, or of any task of a namespace, that failed with no retry after it. */
export interface ExhaustedRun {
  runId: string;
  taskId: string;
  taskName: string;
  finishedAt: Millis;
}

export interface AlertStore {
  /** Inserts a rule. Throws `alert_rule_name_taken`. */
  createRule(rule: AlertRule, audit: NewAudit): Promise<AlertRule>;
  getRule(namespace: string, name: string): Promise<AlertRule | null>;
  /** Rules in the scope by namespace, then name; the cursor is opaque. */
  listRules(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<AlertRule>>;
  /** Every enabled rule, for the evaluator. */
  enabledRules(): Promise<AlertRule[]>;
  /**
   * Replaces the rule's definition (found by id); its alerts keep pointing at it and take a
   * rename along. Throws `alert_rule_not_found`, `alert_rule_name_taken`.
   */
  updateRule(rule: AlertRule, audit: NewAudit): Promise<AlertRule>;
  /** Deletes the rule; its firing alert, if any, is resolved at `now` (history stays). Throws `alert_rule_not_found`. */
  deleteRule(id: string, now: Millis, audit: NewAudit): Promise<AlertRule>;

  /** Alerts in the scope, newest first; the cursor is opaque. */
  listAlerts(filter: AlertFilter): Promise<Page<Alert>>;
  getAlert(id: string): Promise<Alert | null>;
  /** Every firing alert, for the evaluator. */
  firingAlerts(): Promise<Alert[]>;
  /** Inserts a firing alert and its outbox rows in one transaction. */
  fireAlert(alert: Alert, notifications: readonly NewNotification[]): Promise<void>;
  /** Updates a firing alert's `why` and `value` (the measurement moves while it fires). */
  refreshAlert(id: string, why: string, value: number | null): Promise<void>;
  /** Resolves a firing alert and inserts its outbox rows in one transaction; false when it was not firing. */
  resolveAlert(id: string, at: Millis, why: string, notifications: readonly NewNotification[]): Promise<boolean>;

  /**
   * Takes or renews the lease `name` for `holder` until `until` when it is free, expired by
   * `now`, or already `holder`'s; true when `holder` has it. One evaluator per cluster.
   */
  tryLease(name: string, holder: string, now: Millis, until: Millis): Promise<boolean>;
  /** Gives the lease up (a clean shutdown), so another node takes over at once. */
  releaseLease(name: string, holder: string): Promise<void>;

  /** When the task last succeeded (finish time), or null; walks its runs newest first until one did. */
  lastSuccessAt(taskId: string): Promise<Millis | null>;
  /**
   * The newest run finished at or after `since` that failed or timed out with no retry after it,
   * of `taskId`, or of any task in `namespace` when `taskId` is null.
   */
  lastExhaustedRun(namespace: string, taskId: string | null, since: Millis): Promise<ExhaustedRun | null>;
  /** Pending notifications created before `before`: how many (counted up to `cap`) and the oldest's creation time. */
  oldPendingNotifications(before: Millis, cap: number): Promise<{ count: number; oldest: Millis | null }>;
}
