// Alert rules (create, read, change, delete within the caller's namespaces) and the alerts they
// raised. Every check runs before anything is written, and all problems are reported at once.
// Kinds that watch the whole installation (nodes, the sink, the outbox) are for admins only.

import { checkFor, checkParams } from '../core/alert-params.js';
import { SYSTEM_KINDS, type Alert, type AlertKind, type AlertParams, type AlertRule, type AlertStatus } from '../core/alerts.js';
import { formatDuration } from '../core/duration.js';
import { invalid, SundialError, type FieldError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Actor } from '../core/types.js';
import type { Page } from '../store/store.js';
import { coversNamespace, hasRole, homeNamespace, readScope, requireNamespace } from '../auth/roles.js';
import { auditOf } from './audit.js';
import type { ServiceDeps } from './deps.js';

/** A rule as POST /v1/alert-rules accepts it. */
export interface AlertRuleInput {
  name: string;
  namespace?: string | undefined;
  kind: AlertKind;
  params?: unknown;
  for?: string | undefined;
  channels?: string[] | undefined;
  enabled?: boolean | undefined;
}

/** Fields a PATCH may change; `params` is replaced whole. */
export interface AlertRulePatch {
  name?: string | undefined;
  kind?: AlertKind | undefined;
  params?: unknown;
  for?: string | undefined;
  channels?: string[] | undefined;
  enabled?: boolean | undefined;
}

export interface RuleRef {
  name: string;
  namespace?: string | undefined;
}

const MAX_CHANNELS = 20;

export class AlertService {
  readonly #d: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
  }

  async create(actor: Actor, input: AlertRuleInput): Promise<AlertRule> {
    const now = this.#d.clock.now();
    const namespace = input.namespace ?? homeNamespace(actor);
    requireNamespace(actor, namespace);
    const checked = await this.#check(actor, namespace, input.kind, input.params ?? {}, input.for, input.channels ?? []);
    const rule: AlertRule = {
      id: newId(now),
      namespace,
      name: input.name,
      kind: input.kind,
      params: checked.params,
      forMs: checked.forMs,
      channels: dedupe(input.channels ?? []),
      enabled: input.enabled ?? true,
      createdAt: now,
      updatedAt: now,
      createdBy: actor.id,
      updatedBy: actor.id,
    };
    const audit = auditOf(actor, now, 'alert_rule.create', { type: 'alert_rule', id: rule.id, namespace }, { name: rule.name, kind: rule.kind });
    return this.#d.store.alerts.createRule(rule, audit);
  }

  async get(actor: Actor, ref: RuleRef): Promise<AlertRule> {
    const namespace = ref.namespace ?? homeNamespace(actor);
    const rule = coversNamespace(actor, namespace) ? await this.#d.store.alerts.getRule(namespace, ref.name) : null;
    if (rule === null) throw new SundialError('alert_rule_not_found', `no alert rule "${ref.name}" in namespace "${namespace}"`);
    return rule;
  }

  list(actor: Actor, q: { namespace?: string | undefined; limit: number; cursor?: string | undefined }): Promise<Page<AlertRule>> {
    return this.#d.store.alerts.listRules(readScope(actor, q.namespace), q.limit, q.cursor);
  }

  async update(actor: Actor, ref: RuleRef, patch: AlertRulePatch): Promise<AlertRule> {
    const current = await this.get(actor, ref);
    const now = this.#d.clock.now();
    const kind = patch.kind ?? current.kind;
    // A new kind takes new params: the old ones would not fit it.
    const rawParams = patch.params ?? (kind === current.kind ? current.params : {});
    const rawFor = patch.for ?? (kind === current.kind && current.forMs > 0 ? formatDuration(current.forMs) : undefined);
    const channels = patch.channels ?? current.channels;
    const checked = await this.#check(actor, current.namespace, kind, rawParams, rawFor, channels);
    const next: AlertRule = {
      ...current,
      name: patch.name ?? current.name,
      kind,
      params: checked.params,
      forMs: checked.forMs,
      channels: dedupe(channels),
      enabled: patch.enabled ?? current.enabled,
      updatedAt: now,
      updatedBy: actor.id,
    };
    const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
    const audit = auditOf(actor, now, 'alert_rule.update', { type: 'alert_rule', id: current.id, namespace: current.namespace }, { fields });
    return this.#d.store.alerts.updateRule(next, audit);
  }

  async delete(actor: Actor, ref: RuleRef): Promise<AlertRule> {
    const current = await this.get(actor, ref);
    // Deleting an installation-wide rule silences it for everyone, as much as changing it would.
    if (SYSTEM_KINDS.has(current.kind) && !hasRole(actor, 'admin')) {
      throw new SundialError('forbidden', `${current.kind} watches the whole installation: only admin keys may delete its rules`);
    }
    const now = this.#d.clock.now();
    const audit = auditOf(actor, now, 'alert_rule.delete', { type: 'alert_rule', id: current.id, namespace: current.namespace }, { name: current.name });
    return this.#d.store.alerts.deleteRule(current.id, now, audit);
  }

  /** Alerts in the caller's namespaces (or one of them), newest first; `rule` narrows to one rule of that namespace. */
  async alerts(
    actor: Actor,
    q: { namespace?: string | undefined; status?: AlertStatus | undefined; rule?: string | undefined; limit: number; cursor?: string | undefined },
  ): Promise<Page<Alert>> {
    let ruleId: string | undefined;
    if (q.rule !== undefined) ruleId = (await this.get(actor, { name: q.rule, namespace: q.namespace })).id;
    return this.#d.store.alerts.listAlerts({
      namespaces: readScope(actor, q.namespace),
      ...(q.status !== undefined && { status: q.status }),
      ...(ruleId !== undefined && { ruleId }),
      limit: q.limit,
      ...(q.cursor !== undefined && { cursor: q.cursor }),
    });
  }

  async #check(actor: Actor, namespace: string, kind: AlertKind, rawParams: unknown, rawFor: string | undefined, channels: string[]): Promise<{ params: AlertParams; forMs: number }> {
    const errors: FieldError[] = [];
    if (SYSTEM_KINDS.has(kind) && !hasRole(actor, 'admin')) {
      errors.push({ path: '/kind', message: `${kind} watches the whole installation: only admin keys may define it` });
    }
    const p = checkParams(kind, rawParams);
    const f = checkFor(kind, rawFor);
    errors.push(...p.errors, ...f.errors);
    if (channels.length > MAX_CHANNELS) errors.push({ path: '/channels', message: `at most ${MAX_CHANNELS} channels` });
    else errors.push(...(await this.#missingChannels(namespace, channels)));
    if (errors.length > 0) throw invalid(errors);
    return { params: p.params, forMs: f.forMs };
  }

  async #missingChannels(namespace: string, channels: readonly string[]): Promise<FieldError[]> {
    const errors: FieldError[] = [];
    for (const [i, name] of channels.entries()) {
      if ((await this.#d.store.notifications.getChannel(namespace, name)) === null) {
        errors.push({ path: `/channels/${i}`, message: `no channel "${name}" in namespace "${namespace}" (create it with POST /v1/channels)` });
      }
    }
    return errors;
  }
}

function dedupe(names: readonly string[]): string[] {
  return [...new Set(names)];
}
