// Audit rows for changes made through the API. The store writes each in the same transaction
// as the change it describes, so the log never claims a change that did not happen or misses one.

import type { Actor, Millis } from '../core/types.js';
import type { NewAudit } from '../store/store.js';

/** Namespace of audit rows about things that belong to no namespace (API keys). */
export const GLOBAL_NAMESPACE = '*';

/** What an audit row is about. */
export interface AuditTarget {
  type: 'task' | 'run' | 'api_key' | 'channel' | 'alert_rule' | 'secret';
  id: string;
  namespace: string;
}

/** An audit row for `action` by `actor` on `target`, with a small `detail`. */
export function auditOf(actor: Actor, at: Millis, action: string, target: AuditTarget, detail?: unknown): NewAudit {
  return {
    namespace: target.namespace,
    at,
    actor: actor.id,
    ip: actor.ip ?? null,
    action,
    targetType: target.type,
    targetId: target.id,
    ...(detail === undefined ? {} : { detail }),
  };
}
