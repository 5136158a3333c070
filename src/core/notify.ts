// Notifications, the domain side: channels, outbox rows and their delivery attempts, and which
// notifications one run outcome causes (pure, so the scheduler can attach them to the outcome's
// own write and the tests can check the rules without a store).
import type { AlertEvent } from './alerts.js';
import type { Millis, NotifyEvent, Run, RunError, Task } from './types.js';

export const CHANNEL_TYPES = ['webhook', 'slack', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** A notification channel as stored. The secret never leaves the services and the deliverer. */
export interface Channel {
  id: string;
  namespace: string;
  name: string;
  type: ChannelType;
  /** Webhook and Slack: where to POST. */
  url: string | null;
  /** E-mail: recipients, comma-separated. */
  to: string | null;
  /** Webhook: the signing secret, `whsec_<base64>`. Write-only through the API. */
  secret: string | null;
  createdAt: Millis;
  updatedAt: Millis;
  createdBy: string;
  updatedBy: string;
}

/**
 * The event of an outbox row: a run outcome, a test delivery asked for through the API, or an
 * alert firing or resolving (core/alerts.ts; its body is an AlertNotificationBody).
 */
export type NotificationEvent = NotifyEvent | 'test' | AlertEvent;

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

/** An outbox row to insert. `body` is the JSON the receiver gets, fixed at commit: every attempt sends the same bytes. */
export interface NewNotification {
  /** Stable across attempts: the `webhook-id` and the e-mail's Message-ID. */
  id: string;
  namespace: string;
  channel: string;
  event: NotificationEvent;
  runId: string | null;
  taskId: string | null;
  body: string;
  createdAt: Millis;
}

/** One try to deliver a notification. */
export interface DeliveryAttempt {
  at: Millis;
  ok: boolean;
  /** The receiver's HTTP status, when it answered. */
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** An outbox row as stored. */
export interface Notification extends NewNotification {
  status: DeliveryStatus;
  /** Attempts made, oldest first (the most recent MAX_KEPT_ATTEMPTS of them). */
  attempts: DeliveryAttempt[];
  attemptCount: number;
  /** When the next attempt is due (pending rows); a claim moves it by the claim's lease. */
  nextAttemptAt: Millis;
  lastError: string | null;
  deliveredAt: Millis | null;
}

/** Attempts kept per row: a day of retries 10 minutes apart is ~150; the count stays exact. */
export const MAX_KEPT_ATTEMPTS = 50;

/** The body of a webhook (DESIGN.md): `{ type, timestamp, run, task }`. */
export interface NotificationBody {
  type: `run.${NotifyEvent | 'test'}`;
  timestamp: string;
  run: {
    id: string;
    taskId: string;
    status: Run['status'];
    attempt: number;
    scheduledFor: string;
    startedAt: string | null;
    finishedAt: string | null;
    error: RunError | null;
  };
  task: { id: string; name: string; namespace: string };
}

/** What an outcome is, as far as notifications care. */
export interface OutcomeFacts {
  status: Run['status'];
  startedAt: Millis | null;
  finishedAt: Millis;
  error: RunError | null;
  reason: string | null;
  /** A retry attempt is scheduled with the outcome. */
  retried: boolean;
}

const iso = (t: Millis | null): string | null => (t === null ? null : new Date(t).toISOString());

/** The events one outcome raises, most specific first. */
export function outcomeEvents(task: Pick<Task, 'lastRunStatus'>, o: OutcomeFacts): NotifyEvent[] {
  const events: NotifyEvent[] = [];
  if (o.status === 'succeeded') {
    events.push('succeeded');
    // The task's last outcome as the claim read it: a success after a failure is a recovery.
    if (task.lastRunStatus === 'failed' || task.lastRunStatus === 'timed_out') events.push('recovered');
    return events;
  }
  if (o.status === 'failed') {
    if (o.reason === 'lost') events.push('lost');
    events.push('failed');
  } else if (o.status === 'timed_out') {
    events.push('timed_out');
  } else {
    return events;
  }
  if (!o.retried) events.push('retries_exhausted');
  return events;
}

/**
 * The outbox rows an outcome causes under the task's `policies.notify`: one per channel and
 * event the rules name. Empty (and allocation-free) for tasks without rules.
 */
export function notificationsFor(task: Task, run: Run, o: OutcomeFacts, now: Millis, newId: (now: Millis) => string): NewNotification[] {
  const rules = task.policies.notify;
  if (rules === undefined || rules.length === 0) return [];
  const events = outcomeEvents(task, o);
  if (events.length === 0) return [];
  const out: NewNotification[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    for (const event of events) {
      if (!rule.on.includes(event)) continue;
      const key = `${rule.channel}\u0000${event}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const body: NotificationBody = {
        type: `run.${event}`,
        timestamp: new Date(o.finishedAt).toISOString(),
        run: {
          id: run.id,
          taskId: task.id,
          status: o.status,
          attempt: run.attempt,
          scheduledFor: new Date(run.scheduledFor).toISOString(),
          startedAt: iso(o.startedAt),
          finishedAt: iso(o.finishedAt),
          error: o.error,
        },
        task: { id: task.id, name: task.name, namespace: task.namespace },
      };
      out.push({
        id: newId(now),
        namespace: task.namespace,
        channel: rule.channel,
        event,
        runId: run.id,
        taskId: task.id,
        body: JSON.stringify(body),
        createdAt: now,
      });
    }
  }
  return out;
}
