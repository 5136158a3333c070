// Alert rules and alerts as the API shows them: times as ISO-8601, `for` as shorthand.
import type { Alert, AlertRule } from '../core/alerts.js';
import { formatDuration } from '../core/duration.js';
import { iso, isoOrNull } from './views.js';

export function alertRuleView(r: AlertRule) {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    kind: r.kind,
    params: r.params,
    for: formatDuration(r.forMs),
    channels: r.channels,
    enabled: r.enabled,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    createdBy: r.createdBy,
    updatedBy: r.updatedBy,
  };
}

export function alertView(a: Alert) {
  return {
    id: a.id,
    status: a.status,
    since: iso(a.since),
    firedAt: iso(a.firedAt),
    resolvedAt: isoOrNull(a.resolvedAt),
    why: a.why,
    value: a.value,
    rule: { id: a.ruleId, name: a.ruleName, kind: a.kind, namespace: a.namespace },
  };
}
