// Alert rules, alerts and leases on SQLite. Writes go through the store's group-commit writer;
// an alert's transition and its outbox rows are one write, so they commit together.
import type Database from 'better-sqlite3';
import { SundialError } from '../../core/errors.js';
import type { Alert, AlertRule } from '../../core/alerts.js';
import type { NewNotification } from '../../core/notify.js';
import type { Millis, NamespaceScope } from '../../core/types.js';
import type { AlertFilter, AlertStore, ExhaustedRun } from '../alert-store.js';
import {
  ALERT_COLUMNS,
  RULE_COLUMNS,
  alertCursor,
  alertValues,
  decodeAlertCursor,
  decodeRuleCursor,
  rowToAlert,
  rowToRule,
  ruleCursor,
  ruleNameTaken,
  ruleValues,
  type AlertRow,
  type AlertRuleRow,
} from '../alert-rows.js';
import { newNotificationValues, pageOf } from '../notification-rows.js';
import { newAuditValues } from '../rows.js';
import type { NewAudit, Page } from '../store.js';
import { namedListing } from './named-listing.js';
import { prepareAuditAppend } from './audit-chain.js';
import { StorePart } from './store-part.js';


const PLACEHOLDERS_12 = Array.from({ length: 12 }, () => '?').join(', ');
const PLACEHOLDERS_11 = Array.from({ length: 11 }, () => '?').join(', ');

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insertRule: p(`INSERT INTO alert_rules (${RULE_COLUMNS}) VALUES (${PLACEHOLDERS_12})`),
    updateRule: p('UPDATE alert_rules SET name = ?, kind = ?, params = ?, for_ms = ?, channels = ?, enabled = ?, updated_at = ?, updated_by = ? WHERE id = ?'),
    ruleById: p(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = ?`),
    ruleByName: p(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE namespace = ? AND name = ?`),
    enabledRules: p(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE enabled = 1 ORDER BY id`),
    deleteRule: p('DELETE FROM alert_rules WHERE id = ?'),
    renameAlerts: p('UPDATE alerts SET rule_name = ? WHERE rule_id = ?'),
    insertAudit: prepareAuditAppend(db),
    insertNotification: p(
      'INSERT INTO notifications (id, namespace, channel, event, run_id, task_id, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertAlert: p(`INSERT INTO alerts (${ALERT_COLUMNS}) VALUES (${PLACEHOLDERS_11})`),
    alertById: p(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?`),
    firing: p(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE status = 'firing'`),
    refresh: p("UPDATE alerts SET why = ?, value = ? WHERE id = ? AND status = 'firing'"),
    resolve: p("UPDATE alerts SET status = 'resolved', resolved_at = ?, why = ? WHERE id = ? AND status = 'firing'"),
    resolveOfRule: p("UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE rule_id = ? AND status = 'firing'"),
    lease: p(
      'INSERT INTO leases (name, holder, until) VALUES (@name, @holder, @until) ' +
        'ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until ' +
        'WHERE leases.holder = excluded.holder OR leases.until <= @now',
    ),
    leaseHolder: p('SELECT holder FROM leases WHERE name = ?'),
    releaseLease: p('DELETE FROM leases WHERE name = ? AND holder = ?'),
    // runs_task_time walked backwards: stops at the first success.
    lastSuccess: p(
      "SELECT finished_at FROM runs INDEXED BY runs_task_time WHERE task_id = ? AND status = 'succeeded' ORDER BY scheduled_for DESC, id DESC LIMIT 1",
    ),
    // runs_finished for the window; runs_retry_of to ask whether each failure was retried.
    exhaustedOfTask: p(
      'SELECT r.id, r.task_id, r.task_name, r.finished_at FROM runs r INDEXED BY runs_finished ' +
        "WHERE r.finished_at >= ? AND r.task_id = ? AND r.status IN ('failed', 'timed_out') " +
        'AND NOT EXISTS (SELECT 1 FROM runs n WHERE n.retry_of = r.id) ORDER BY r.finished_at DESC LIMIT 1',
    ),
    exhaustedOfNamespace: p(
      'SELECT r.id, r.task_id, r.task_name, r.finished_at FROM runs r INDEXED BY runs_finished ' +
        "WHERE r.finished_at >= ? AND r.namespace = ? AND r.status IN ('failed', 'timed_out') " +
        'AND NOT EXISTS (SELECT 1 FROM runs n WHERE n.retry_of = r.id) ORDER BY r.finished_at DESC LIMIT 1',
    ),
    // notifications_due holds only pending rows: this reads the pending ones, capped.
    oldPending: p(
      "SELECT count(*) AS n, min(created_at) AS oldest FROM (SELECT created_at FROM notifications WHERE status = 'pending' AND created_at < ? LIMIT ?)",
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

interface ExhaustedRow {
  id: string;
  task_id: string;
  task_name: string;
  finished_at: number;
}

/** The AlertStore on the SQLite store's database and writer. */
export class SqliteAlerts extends StorePart<Statements> implements AlertStore {
  protected prepare(db: Database.Database): Statements {
    return prepare(db);
  }

  #insertOutbox(rows: readonly NewNotification[]): void {
    for (const n of rows) this.s.insertNotification.run(...newNotificationValues(n));
  }

  createRule(rule: AlertRule, audit: NewAudit): Promise<AlertRule> {
    return this.write(() => {
      try {
        this.s.insertRule.run(...ruleValues(rule));
      } catch (err) {
        throw isUnique(err) ? ruleNameTaken(rule, err) : err;
      }
      this.s.insertAudit.run(...newAuditValues(audit));
      return rule;
    });
  }

  async getRule(namespace: string, name: string): Promise<AlertRule | null> {
    const row = this.s.ruleByName.get(namespace, name) as AlertRuleRow | undefined;
    return row === undefined ? null : rowToRule(row);
  }

  async listRules(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<AlertRule>> {
    const q = namedListing('alert_rules', RULE_COLUMNS, namespaces, cursor === undefined ? null : decodeRuleCursor(cursor), limit);
    if (q === null) return { items: [], nextCursor: null };
    return pageOf((this.db.prepare(q.sql).all(...q.args) as AlertRuleRow[]).map(rowToRule), limit, ruleCursor);
  }


  async enabledRules(): Promise<AlertRule[]> {
    return (this.s.enabledRules.all() as AlertRuleRow[]).map(rowToRule);
  }

  updateRule(rule: AlertRule, audit: NewAudit): Promise<AlertRule> {
    return this.write(() => {
      const before = this.s.ruleById.get(rule.id) as AlertRuleRow | undefined;
      if (before === undefined) throw new SundialError('alert_rule_not_found', `no alert rule with id ${rule.id}`);
      try {
        this.s.updateRule.run(
          rule.name, rule.kind, JSON.stringify(rule.params), rule.forMs, JSON.stringify(rule.channels), rule.enabled ? 1 : 0, rule.updatedAt, rule.updatedBy, rule.id,
        );
      } catch (err) {
        throw isUnique(err) ? ruleNameTaken(rule, err) : err;
      }
      if (before.name !== rule.name) this.s.renameAlerts.run(rule.name, rule.id);
      this.s.insertAudit.run(...newAuditValues(audit));
      return rule;
    });
  }

  deleteRule(id: string, now: Millis, audit: NewAudit): Promise<AlertRule> {
    return this.write(() => {
      const row = this.s.ruleById.get(id) as AlertRuleRow | undefined;
      if (row === undefined) throw new SundialError('alert_rule_not_found', `no alert rule with id ${id}`);
      this.s.resolveOfRule.run(now, id);
      this.s.deleteRule.run(id);
      this.s.insertAudit.run(...newAuditValues(audit));
      return rowToRule(row);
    });
  }

  async listAlerts(f: AlertFilter): Promise<Page<Alert>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.namespaces !== '*') {
      if (f.namespaces.length === 0) return { items: [], nextCursor: null };
      where.push(`namespace IN (${f.namespaces.map(() => '?').join(', ')})`);
      args.push(...f.namespaces);
    }
    if (f.status !== undefined) {
      where.push('status = ?');
      args.push(f.status);
    }
    if (f.ruleId !== undefined) {
      where.push('rule_id = ?');
      args.push(f.ruleId);
    }
    if (f.cursor !== undefined) {
      where.push('id < ?');
      args.push(decodeAlertCursor(f.cursor));
    }
    const sql = `SELECT ${ALERT_COLUMNS} FROM alerts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, f.limit + 1) as AlertRow[];
    return pageOf(rows.map(rowToAlert), f.limit, alertCursor);
  }

  async getAlert(id: string): Promise<Alert | null> {
    const row = this.s.alertById.get(id) as AlertRow | undefined;
    return row === undefined ? null : rowToAlert(row);
  }

  async firingAlerts(): Promise<Alert[]> {
    return (this.s.firing.all() as AlertRow[]).map(rowToAlert);
  }

  fireAlert(alert: Alert, notifications: readonly NewNotification[]): Promise<void> {
    return this.write(() => {
      this.s.insertAlert.run(...alertValues(alert));
      this.#insertOutbox(notifications);
    });
  }

  refreshAlert(id: string, why: string, value: number | null): Promise<void> {
    return this.write(() => {
      this.s.refresh.run(why, value, id);
    });
  }

  resolveAlert(id: string, at: Millis, why: string, notifications: readonly NewNotification[]): Promise<boolean> {
    return this.write(() => {
      if (this.s.resolve.run(at, why, id).changes === 0) return false;
      this.#insertOutbox(notifications);
      return true;
    });
  }

  tryLease(name: string, holder: string, now: Millis, until: Millis): Promise<boolean> {
    return this.write(() => {
      this.s.lease.run({ name, holder, until, now });
      const row = this.s.leaseHolder.get(name) as { holder: string } | undefined;
      return row?.holder === holder;
    });
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return this.write(() => {
      this.s.releaseLease.run(name, holder);
    });
  }

  async lastSuccessAt(taskId: string): Promise<Millis | null> {
    const row = this.s.lastSuccess.get(taskId) as { finished_at: number | null } | undefined;
    return row?.finished_at ?? null;
  }

  async lastExhaustedRun(namespace: string, taskId: string | null, since: Millis): Promise<ExhaustedRun | null> {
    const row = (taskId === null ? this.s.exhaustedOfNamespace.get(since, namespace) : this.s.exhaustedOfTask.get(since, taskId)) as ExhaustedRow | undefined;
    return row === undefined ? null : { runId: row.id, taskId: row.task_id, taskName: row.task_name, finishedAt: row.finished_at };
  }

  async oldPendingNotifications(before: Millis, cap: number): Promise<{ count: number; oldest: Millis | null }> {
    const row = this.s.oldPending.get(before, cap) as { n: number; oldest: number | null };
    return { count: row.n, oldest: row.oldest };
  }
}

function isUnique(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
