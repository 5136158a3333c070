// The part of the Store contract that keeps notification channels and the outbox of
// notifications (docs/notifications.md). Outbox rows caused by a run outcome are written by
// `Store.completeRuns` in the outcome's own transaction (RunCompletion.notifications); the
// methods here serve the API and the deliverer.
import type { Channel, DeliveryAttempt, DeliveryStatus, Notification, NewNotification } from '../core/notify.js';
import type { Millis, NamespaceScope } from '../core/types.js';
import type { NewAudit, Page } from './store.js';

/** A claimed outbox row: the claim's token fences its settlement. */
export interface ClaimedNotification extends Notification {
  claimToken: string;
}

/**
 * What became of a claimed row, computed by the deliverer (the attempts list already holds the
 * new attempt, if one was made). Ignored when `claimToken` is no longer the row's: the claim
 * lapsed and another claim owns the row now.
 */
export interface Settlement {
  id: string;
  claimToken: string;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  attemptCount: number;
  nextAttemptAt: Millis;
  lastError: string | null;
  deliveredAt: Millis | null;
}

export interface NotificationStore {
  /** Inserts a channel. Throws `channel_name_taken`. */
  createChannel(channel: Channel, audit: NewAudit): Promise<Channel>;
  getChannel(namespace: string, name: string): Promise<Channel | null>;
  /** Channels in the scope by namespace, then name; the cursor is opaque. */
  listChannels(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<Channel>>;
  /**
   * Replaces the channel's definition (found by id); a rename takes its notifications along.
   * Throws `channel_not_found`, `channel_name_taken`.
   */
  updateChannel(channel: Channel, audit: NewAudit): Promise<Channel>;
  /** Deletes the channel; its pending notifications die when their turn comes. Throws `channel_not_found`. */
  deleteChannel(id: string, audit: NewAudit): Promise<Channel>;

  /** Inserts outbox rows on their own (test deliveries); due at once. */
  enqueueNotifications(rows: readonly NewNotification[]): Promise<void>;
  /**
   * Claims pending rows due by `now`, oldest due first, moving their due time to `leaseUntil`:
   * a node that dies holding them leaves them due again after the lease. Rows another node
   * claims at the same moment are skipped, never shared.
   */
  claimNotifications(now: Millis, leaseUntil: Millis, limit: number): Promise<ClaimedNotification[]>;
  /**
   * Makes every claimed pending row due at `now` again, whoever claimed it: for a store no other
   * process shares, at start, when every claim belongs to a process that is gone (as its runs
   * are recovered). Returns how many.
   */
  releaseAllClaims(now: Millis): Promise<number>;
  /** Records what became of claimed rows; a settlement whose claim was superseded is ignored. */
  settleNotifications(settlements: readonly Settlement[]): Promise<void>;
  /**
   * Deletes delivered and dead notifications committed before `before` (pending ones stay, however
   * old), oldest first, at most `limit`; returns how many. Call again while it returns `limit`.
   */
  pruneNotifications(before: Millis, limit: number): Promise<number>;
  /** A channel's notifications, newest first; the cursor is opaque. */
  listNotifications(namespace: string, channel: string, limit: number, cursor?: string): Promise<Page<Notification>>;
  getNotification(id: string): Promise<Notification | null>;
}
