// The alert evaluator: on its own schedule, measures every enabled rule, and moves its alert
// between nothing, pending (the condition holds, for less than `for`: kept in memory only),
// firing and resolved. Firing and resolving write the alert and one outbox notification per
// routed channel in one transaction. In a cluster one node evaluates at a time, holding a lease
// row that it renews at each round; the others keep asking, and one takes over when it lapses.
import { alertBody, type Alert, type AlertRule, type Measurement } from '../core/alerts.js';
import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { NewNotification } from '../core/notify.js';
import type { Millis } from '../core/types.js';
import type { Store } from '../store/store.js';
import type { DropHistory } from './drop-history.js';
import { measure } from './measure.js';

export const ALERT_LEASE = 'alert-evaluator';

export interface EvaluatorOptions {
  intervalMs: number;
  /** This process, as the lease's holder. */
  holder: string;
  /** See MeasureContext.nodeLeaseMs. */
  nodeLeaseMs: number;
}

export interface EvaluatorDeps {
  store: Store;
  clock: Clock;
  drops: DropHistory | null;
  onError: (err: Error, rule: AlertRule | null) => void;
}

export class AlertEvaluator {
  /** When each rule's condition began holding, for rules not firing yet (their `for` wait). */
  readonly #pendingSince = new Map<string, Millis>();
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;
  #stopped = false;

  constructor(
    private readonly o: EvaluatorOptions,
    private readonly d: EvaluatorDeps,
  ) {}

  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#round;
    await this.d.store.alerts.releaseLease(ALERT_LEASE, this.o.holder).catch(() => undefined);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#round = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.d.onError(coerceError(err), null))
        .finally(() => {
          this.#round = null;
          this.#schedule(this.o.intervalMs);
        });
    }, ms);
    this.#timer.unref();
  }

  /** One round: evaluates when this node holds (or takes) the lease. Returns whether it evaluated. */
  async tick(): Promise<boolean> {
    const now = this.d.clock.now();
    // Three rounds of lease: a node that misses two rounds (a long pause) still keeps it.
    const held = await this.d.store.alerts.tryLease(ALERT_LEASE, this.o.holder, now, now + this.o.intervalMs * 3);
    if (!held) {
      // Another node evaluates; our pending waits would be stale when we take over.
      this.#pendingSince.clear();
      return false;
    }
    await this.evaluate();
    return true;
  }

  /** Measures every enabled rule once and applies the transitions (tests call this directly). */
  async evaluate(): Promise<void> {
    const now = this.d.clock.now();
    await this.d.drops?.sample(now);
    const rules = await this.d.store.alerts.enabledRules();
    const firing = new Map((await this.d.store.alerts.firingAlerts()).map((a) => [a.ruleId, a]));
    const ctx = { store: this.d.store, now, nodeLeaseMs: this.o.nodeLeaseMs, drops: this.d.drops };
    const seen = new Set<string>();
    for (const rule of rules) {
      seen.add(rule.id);
      let m: Measurement;
      try {
        m = await measure(rule, ctx);
      } catch (err) {
        // One rule's failed read must not hold the others back; its state stays as it was.
        this.d.onError(coerceError(err), rule);
        continue;
      }
      await this.#apply(rule, m, firing.get(rule.id) ?? null, now);
    }
    // A disabled rule's firing alert resolves (a deleted rule's was resolved by its delete).
    for (const alert of firing.values()) {
      if (seen.has(alert.ruleId)) continue;
      await this.d.store.alerts.resolveAlert(alert.id, now, `${alert.why} (resolved: the rule was disabled)`, []);
    }
    for (const id of this.#pendingSince.keys()) if (!seen.has(id)) this.#pendingSince.delete(id);
  }

  async #apply(rule: AlertRule, m: Measurement, open: Alert | null, now: Millis): Promise<void> {
    if (!m.active) {
      this.#pendingSince.delete(rule.id);
      if (open === null) return;
      const resolved: Alert = { ...open, status: 'resolved', resolvedAt: now, why: m.why };
      await this.d.store.alerts.resolveAlert(open.id, now, m.why, this.#notifications(rule, resolved, now));
      return;
    }
    if (open !== null) {
      if (open.why !== m.why || open.value !== m.value) await this.d.store.alerts.refreshAlert(open.id, m.why, m.value);
      return;
    }
    const since = this.#pendingSince.get(rule.id) ?? now;
    this.#pendingSince.set(rule.id, since);
    if (now - since < rule.forMs) return;
    const alert: Alert = {
      id: newId(now),
      ruleId: rule.id,
      namespace: rule.namespace,
      ruleName: rule.name,
      kind: rule.kind,
      status: 'firing',
      since,
      firedAt: now,
      resolvedAt: null,
      why: m.why,
      value: m.value,
    };
    await this.d.store.alerts.fireAlert(alert, this.#notifications(rule, alert, now));
    this.#pendingSince.delete(rule.id);
  }

  #notifications(rule: AlertRule, alert: Alert, now: Millis): NewNotification[] {
    const body = JSON.stringify(alertBody(alert, rule, now));
    return rule.channels.map((channel) => ({
      id: newId(now),
      namespace: rule.namespace,
      channel,
      event: alert.status === 'firing' ? 'alert.firing' : 'alert.resolved',
      runId: null,
      taskId: null,
      body,
      createdAt: now,
    }));
  }
}
