// Alert rules, alerts and leases on PostgreSQL. An alert's transition and its outbox rows share
// one transaction; the evaluator's lease is a row taken with one upsert, so two nodes asking at
// the same moment cannot both get it.
import type pg from 'pg';
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
import { pageOf } from '../notification-rows.js';
import { newAuditValues } from '../rows.js';
import type { NewAudit, Page } from '../store.js';
import { namedListing } from './named-listing.js';
import { insertOutbox } from './notifications.js';
import * as S from './statements.js';

const UNIQUE_VIOLATION = '23505';

type Tx = <T>(fn: (c: pg.ClientBase) => Promise<T>) => Promise<T>;
type Read = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<R[]>;

const params = (n: number, from = 1): string => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

const EXHAUSTED =
  'SELECT r.id, r.task_id, r.task_name, r.finished_at FROM runs r ' +
  "WHERE r.finished_at >= $1 AND r.finished_at IS NOT NULL AND r.status IN ('failed', 'timed_out') AND ";
const NOT_RETRIED = ' AND NOT EXISTS (SELECT 1 FROM runs n WHERE n.retry_of = r.id) ORDER BY r.finished_at DESC LIMIT 1';

/** The AlertStore on the PostgreSQL store's pool. */
export class PgAlerts implements AlertStore {
  constructor(
    private readonly tx: Tx,
    private readonly read: Read,
  ) {}

  createRule(rule: AlertRule, audit: NewAudit): Promise<AlertRule> {
    return this.tx(async (c) => {
      try {
        await c.query(`INSERT INTO alert_rules (${RULE_COLUMNS}) VALUES (${params(12)})`, ruleValues(rule));
      } catch (err) {
        throw isUnique(err) ? ruleNameTaken(rule, err) : err;
      }
      await S.insertAudit.run(c, newAuditValues(audit));
      return rule;
    });
  }

  async getRule(namespace: string, name: string): Promise<AlertRule | null> {
    const rows = await this.read<AlertRuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE namespace = $1 AND name = $2`, [namespace, name]);
    return rows[0] === undefined ? null : rowToRule(rows[0]);
  }

  async listRules(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<AlertRule>> {
    const q = namedListing('alert_rules', RULE_COLUMNS, namespaces, cursor === undefined ? null : decodeRuleCursor(cursor), limit);
    if (q === null) return { items: [], nextCursor: null };
    return pageOf((await this.read<AlertRuleRow>(q.sql, q.args)).map(rowToRule), limit, ruleCursor);
  }


  async enabledRules(): Promise<AlertRule[]> {
    return (await this.read<AlertRuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE enabled = 1 ORDER BY id`, [])).map(rowToRule);
  }

  updateRule(rule: AlertRule, audit: NewAudit): Promise<AlertRule> {
    return this.tx(async (c) => {
      const before = (await c.query<AlertRuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1 FOR UPDATE`, [rule.id])).rows[0];
      if (before === undefined) throw new SundialError('alert_rule_not_found', `no alert rule with id ${rule.id}`);
      try {
        await c.query(
          'UPDATE alert_rules SET name = $1, kind = $2, params = $3, for_ms = $4, channels = $5, enabled = $6, updated_at = $7, updated_by = $8 WHERE id = $9',
          [rule.name, rule.kind, JSON.stringify(rule.params), rule.forMs, JSON.stringify(rule.channels), rule.enabled ? 1 : 0, rule.updatedAt, rule.updatedBy, rule.id],
        );
      } catch (err) {
        throw isUnique(err) ? ruleNameTaken(rule, err) : err;
      }
      if (before.name !== rule.name) await c.query('UPDATE alerts SET rule_name = $1 WHERE rule_id = $2', [rule.name, rule.id]);
      await S.insertAudit.run(c, newAuditValues(audit));
      return rule;
    });
  }

  deleteRule(id: string, now: Millis, audit: NewAudit): Promise<AlertRule> {
    return this.tx(async (c) => {
      const row = (await c.query<AlertRuleRow>(`DELETE FROM alert_rules WHERE id = $1 RETURNING ${RULE_COLUMNS}`, [id])).rows[0];
      if (row === undefined) throw new SundialError('alert_rule_not_found', `no alert rule with id ${id}`);
      await c.query("UPDATE alerts SET status = 'resolved', resolved_at = $1 WHERE rule_id = $2 AND status = 'firing'", [now, id]);
      await S.insertAudit.run(c, newAuditValues(audit));
      return rowToRule(row);
    });
  }

  async listAlerts(f: AlertFilter): Promise<Page<Alert>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.namespaces !== '*') {
      if (f.namespaces.length === 0) return { items: [], nextCursor: null };
      args.push([...f.namespaces]);
      where.push(`namespace = ANY($${args.length}::text[])`);
    }
    if (f.status !== undefined) {
      args.push(f.status);
      where.push(`status = $${args.length}`);
    }
    if (f.ruleId !== undefined) {
      args.push(f.ruleId);
      where.push(`rule_id = $${args.length}`);
    }
    if (f.cursor !== undefined) {
      args.push(decodeAlertCursor(f.cursor));
      where.push(`id < $${args.length}`);
    }
    args.push(f.limit + 1);
    const sql = `SELECT ${ALERT_COLUMNS} FROM alerts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return pageOf((await this.read<AlertRow>(sql, args)).map(rowToAlert), f.limit, alertCursor);
  }

  async getAlert(id: string): Promise<Alert | null> {
    const rows = await this.read<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [id]);
    return rows[0] === undefined ? null : rowToAlert(rows[0]);
  }

  async firingAlerts(): Promise<Alert[]> {
    return (await this.read<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE status = 'firing'`, [])).map(rowToAlert);
  }

  fireAlert(alert: Alert, notifications: readonly NewNotification[]): Promise<void> {
    return this.tx(async (c) => {
      await c.query(`INSERT INTO alerts (${ALERT_COLUMNS}) VALUES (${params(11)})`, alertValues(alert));
      await insertOutbox(c, notifications);
    });
  }

  async refreshAlert(id: string, why: string, value: number | null): Promise<void> {
    await this.tx((c) => c.query("UPDATE alerts SET why = $1, value = $2 WHERE id = $3 AND status = 'firing'", [why, value, id]));
  }

  resolveAlert(id: string, at: Millis, why: string, notifications: readonly NewNotification[]): Promise<boolean> {
    return this.tx(async (c) => {
      const res = await c.query("UPDATE alerts SET status = 'resolved', resolved_at = $1, why = $2 WHERE id = $3 AND status = 'firing'", [at, why, id]);
      if (res.rowCount === 0) return false;
      await insertOutbox(c, notifications);
      return true;
    });
  }

  tryLease(name: string, holder: string, now: Millis, until: Millis): Promise<boolean> {
    return this.tx(async (c) => {
      const res = await c.query(
        'INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until ' +
          'WHERE leases.holder = EXCLUDED.holder OR leases.until <= $4',
        [name, holder, until, now],
      );
      return res.rowCount === 1;
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.tx((c) => c.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]));
  }

  async lastSuccessAt(taskId: string): Promise<Millis | null> {
    const rows = await this.read<{ finished_at: string | null }>(
      "SELECT finished_at FROM runs WHERE task_id = $1 AND status = 'succeeded' ORDER BY scheduled_for DESC, id DESC LIMIT 1",
      [taskId],
    );
    const at = rows[0]?.finished_at;
    return at === undefined || at === null ? null : Number(at);
  }

  async lastExhaustedRun(namespace: string, taskId: string | null, since: Millis): Promise<ExhaustedRun | null> {
    const rows = await this.read<{ id: string; task_id: string; task_name: string; finished_at: string }>(
      EXHAUSTED + (taskId === null ? 'r.namespace = $2' : 'r.task_id = $2') + NOT_RETRIED,
      [since, taskId ?? namespace],
    );
    const r = rows[0];
    return r === undefined ? null : { runId: r.id, taskId: r.task_id, taskName: r.task_name, finishedAt: Number(r.finished_at) };
  }

  async oldPendingNotifications(before: Millis, cap: number): Promise<{ count: number; oldest: Millis | null }> {
    const rows = await this.read<{ n: string; oldest: string | null }>(
      "SELECT count(*) AS n, min(created_at) AS oldest FROM (SELECT created_at FROM notifications WHERE status = 'pending' AND created_at < $1 LIMIT $2) p",
      [before, cap],
    );
    const r = rows[0];
    return { count: Number(r?.n ?? 0), oldest: r?.oldest === null || r?.oldest === undefined ? null : Number(r.oldest) };
  }
}

function isUnique(err: unknown): boolean {
  return (err as { code?: unknown }).code === UNIQUE_VIOLATION;
}
