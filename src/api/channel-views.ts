// Channels and deliveries as the API shows them: times as ISO-8601 strings, and a channel's
// secret replaced by whether one is set (secrets are write-only).
import type { Channel, Notification } from '../core/notify.js';

const iso = (t: number): string => new Date(t).toISOString();

export function channelView(c: Channel) {
  return {
    id: c.id,
    namespace: c.namespace,
    name: c.name,
    type: c.type,
    url: c.url,
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
    type: `run.${n.event}`,
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
