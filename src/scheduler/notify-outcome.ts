// Attaches the notifications a run outcome causes (the task's `policies.notify`) to the outcome
// itself, so the store commits them in the same transaction: a notification exists if and only
// if its outcome was recorded. Tasks without rules pay one property test and nothing else.
import { notificationsFor } from '../core/notify.js';
import type { Millis, Run, Task } from '../core/types.js';
import type { RunCompletion } from '../store/store.js';

/** Returns `c`, with `notifications` set when the task's rules ask to hear about this outcome. */
export function withNotifications(task: Task, run: Run, c: RunCompletion, newId: (now: Millis) => string): RunCompletion {
  if (task.policies.notify === undefined) return c;
  const facts = {
    status: c.status,
    startedAt: c.startedAt ?? null,
    finishedAt: c.finishedAt,
    error: c.error ?? null,
    reason: c.reason ?? null,
    retried: c.retry != null,
  };
  const rows = notificationsFor(task, run, facts, c.finishedAt, newId);
  if (rows.length > 0) c.notifications = rows;
  return c;
}
