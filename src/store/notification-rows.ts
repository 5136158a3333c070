// Rows of the channels and notifications tables as both SQL stores read and write them, and the
// cursors of their listings (the columns are the same on SQLite and PostgreSQL).
import type { Channel, ChannelType, DeliveryAttempt, DeliveryStatus, NewNotification, Notification, NotificationEvent } from '../core/notify.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Page } from './store.js';

export interface ChannelRow {
  id: string;
  namespace: string;
  name: string;
  type: string;
  url: string | null;
  recipients: string | null;
  secret: string | null;
  created_at: number | string;
  updated_at: number | string;
  created_by: string;
  updated_by: string;
}

export interface NotificationRow {
  id: string;
  namespace: string;
  channel: string;
  event: string;
  run_id: string | null;
  task_id: string | null;
  body: string;
  status: string;
  attempts: string;
  attempt_count: number;
  next_attempt_at: number | string;
  claim_token: string | null;
  last_error: string | null;
  delivered_at: number | string | null;
  created_at: number | string;
}

export const CHANNEL_COLUMNS = 'id, namespace, name, type, url, recipients, secret, created_at, updated_at, created_by, updated_by';
export const NOTIFICATION_COLUMNS =
  'id, namespace, channel, event, run_id, task_id, body, status, attempts, attempt_count, next_attempt_at, claim_token, last_error, delivered_at, created_at';

export function rowToChannel(r: ChannelRow): Channel {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    type: r.type as ChannelType,
    url: r.url,
    to: r.recipients,
    secret: r.secret,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
  };
}

/** Insert values in CHANNEL_COLUMNS order. */
export function channelValues(c: Channel): unknown[] {
  return [c.id, c.namespace, c.name, c.type, c.url, c.to, c.secret, c.createdAt, c.updatedAt, c.createdBy, c.updatedBy];
}

export function rowToNotification(r: NotificationRow): Notification {
  return {
    id: r.id,
    namespace: r.namespace,
    channel: r.channel,
    event: r.event as NotificationEvent,
    runId: r.run_id,
    taskId: r.task_id,
    body: r.body,
    createdAt: Number(r.created_at),
    status: r.status as DeliveryStatus,
    attempts: JSON.parse(r.attempts) as DeliveryAttempt[],
    attemptCount: r.attempt_count,
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: r.last_error,
    deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  };
}

/** Insert values of a new (pending, due at creation) row: id, namespace, channel, event, run_id, task_id, body, next_attempt_at, created_at. */
export function newNotificationValues(n: NewNotification): unknown[] {
  return [n.id, n.namespace, n.channel, n.event, n.runId, n.taskId, n.body, n.createdAt, n.createdAt];
}

/** Cursor of the channel listing: the last namespace and name shown. */
export function channelCursor(c: Channel): string {
  return encodeCursor(['ch', c.namespace, c.name]);
}

export function decodeChannelCursor(cursor: string): { namespace: string; name: string } {
  const [, namespace, name] = decodeCursor(cursor, 'ch');
  return { namespace, name };
}

/** Cursor of a channel's deliveries (newest first): the last id shown (ids are UUIDv7: time order). */
export function notificationCursor(n: Notification): string {
  return encodeCursor(['nt', n.id]);
}

export function decodeNotificationCursor(cursor: string): string {
  return decodeCursor(cursor, 'nt')[1];
}

/**
 * The smallest id a notification committed at `at` or later can have (ids are UUIDv7: their first
 * 48 bits are the time in ms), so `id < idBound(t)` is an index range of the older rows.
 */
export function idBound(at: number): string {
  const h = Math.max(0, Math.floor(at)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-`;
}

/** Cuts `limit + 1` rows to a page. */
export function pageOf<T>(items: T[], limit: number, cursorOf: (t: T) => string): Page<T> {
  const more = items.length > limit;
  const shown = more ? items.slice(0, limit) : items;
  const last = shown[shown.length - 1];
  return { items: shown, nextCursor: more && last !== undefined ? cursorOf(last) : null };
}

