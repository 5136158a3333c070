// Channels and deliveries as the API shows them: times as ISO-8601 strings, and a channel's
// secret replaced by whether one is set (secrets are write-only). URLs can be credentials too (a
// Slack incoming-webhook URL is one; webhook URLs may carry a token in the query), so viewers see
// only their origin and path, as they see an http task's credential headers redacted
// (redact.ts); operators and admins, who edit channels, see them whole.
import type { Channel, Notification } from '../core/notify.js';
import type { Role } from '../core/types.js';
import { REDACTED } from './redact.js';

const iso = (t: number): string => new Date(t).toISOString();

/** The channel's URL as a key with `role` may see it. */
function urlFor(role: Role, c: Channel): string | null {
  if (c.url === null || role !== 'viewer') return c.url;
  try {
    const u = new URL(c.url);
    if (c.type === 'slack') return `${u.origin}/${REDACTED}`;
    return u.search === '' ? c.url : `${u.origin}${u.pathname}?${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

export function channelView(c: Channel, role: Role) {
  return {
    id: c.id,
    namespace: c.namespace,
    name: c.name,
    type: c.type,
    url: urlFor(role, c),
    to: c.to,
    secretSet: c.secret !== null,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    createdBy: c.createdBy,
    updatedBy: c.updatedBy,
  };
}

export function deliveryView(n: Notification) {
  return {
    id: n.id,
    // Alert events are named in full already (`alert.firing`); run events get their `run.` prefix.
    type: n.event.startsWith('alert.') ? n.event : `run.${n.event}`,
    runId: n.runId,
    taskId: n.taskId,
    status: n.status,
    attemptCount: n.attemptCount,
    attempts: n.attempts.map((a) => ({ at: iso(a.at), ok: a.ok, status: a.status, error: a.error, durationMs: a.durationMs })),
    lastError: n.lastError,
    nextAttemptAt: n.status === 'pending' ? iso(n.nextAttemptAt) : null,
    deliveredAt: n.deliveredAt === null ? null : iso(n.deliveredAt),
    createdAt: iso(n.createdAt),
  };
}
