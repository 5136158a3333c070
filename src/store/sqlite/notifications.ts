// Channels and the notification outbox on SQLite. Writes go through the store's group-commit
// writer like every other write; `insertOutbox` runs inside the run outcomes' own write, so an
// outcome and the notifications it causes commit together or not at all.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { SundialError } from '../../core/errors.js';
import type { Channel, NewNotification, Notification } from '../../core/notify.js';
import type { Millis, NamespaceScope } from '../../core/types.js';
import type { ClaimedNotification, NotificationStore, Settlement } from '../notification-store.js';
import {
  CHANNEL_COLUMNS,
  NOTIFICATION_COLUMNS,
  channelCursor,
  channelValues,
  decodeChannelCursor,
  decodeNotificationCursor,
  idBound,
  newNotificationValues,
  notificationCursor,
  pageOf,
  rowToChannel,
  rowToNotification,
  type ChannelRow,
  type NotificationRow,
} from '../notification-rows.js';
import { newAuditValues } from '../rows.js';
import type { NewAudit, Page } from '../store.js';
import { namedListing } from './named-listing.js';
import { prepareAuditAppend } from './audit-chain.js';
import { StorePart } from './store-part.js';


function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    insertChannel: p(`INSERT INTO channels (${CHANNEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    updateChannel: p('UPDATE channels SET name = ?, type = ?, url = ?, recipients = ?, secret = ?, updated_at = ?, updated_by = ? WHERE id = ?'),
    channelById: p(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE id = ?`),
    channelByName: p(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE namespace = ? AND name = ?`),
    deleteChannel: p('DELETE FROM channels WHERE id = ?'),
    renameOutbox: p('UPDATE notifications SET channel = ? WHERE namespace = ? AND channel = ?'),
    insertAudit: prepareAuditAppend(db),
    insertNotification: p(
      'INSERT INTO notifications (id, namespace, channel, event, run_id, task_id, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    claim: p(
      `UPDATE notifications SET next_attempt_at = @leaseUntil, claim_token = @token WHERE id IN (` +
        `SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @limit) ` +
        `RETURNING ${NOTIFICATION_COLUMNS}`,
    ),
    settle: p(
      'UPDATE notifications SET status = ?, attempts = ?, attempt_count = ?, next_attempt_at = ?, last_error = ?, delivered_at = ?, ' +
        'claim_token = NULL WHERE id = ? AND claim_token = ?',
    ),
    release: p("UPDATE notifications SET next_attempt_at = ?, claim_token = NULL WHERE status = 'pending' AND claim_token IS NOT NULL"),
    prune: p("DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE id < ? AND status <> 'pending' ORDER BY id LIMIT ?)"),
    byId: p(`SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?`),
    ofChannel: p(`SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE namespace = ? AND channel = ? AND id < ? ORDER BY id DESC LIMIT ?`),
  };
}

type Statements = ReturnType<typeof prepare>;

/** The NotificationStore on the SQLite store's database and writer. */
export class SqliteNotifications extends StorePart<Statements> implements NotificationStore {
  protected prepare(db: Database.Database): Statements {
    return prepare(db);
  }

  /** Inserts outbox rows; runs inside the caller's write (the run outcomes' transaction). */
  insertOutbox(rows: readonly NewNotification[]): void {
    const st = this.s;
    for (const n of rows) st.insertNotification.run(...newNotificationValues(n));
  }

  createChannel(channel: Channel, audit: NewAudit): Promise<Channel> {
    return this.write(() => {
      try {
        this.s.insertChannel.run(...channelValues(channel));
      } catch (err) {
        throw channelNameTaken(err, channel);
      }
      this.s.insertAudit.run(...newAuditValues(audit));
      return channel;
    });
  }

  async getChannel(namespace: string, name: string): Promise<Channel | null> {
    const row = this.s.channelByName.get(namespace, name) as ChannelRow | undefined;
    return row === undefined ? null : rowToChannel(row);
  }

  async listChannels(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<Channel>> {
    const q = namedListing('channels', CHANNEL_COLUMNS, namespaces, cursor === undefined ? null : decodeChannelCursor(cursor), limit);
    if (q === null) return { items: [], nextCursor: null };
    return pageOf((this.db.prepare(q.sql).all(...q.args) as ChannelRow[]).map(rowToChannel), limit, channelCursor);
  }


  updateChannel(channel: Channel, audit: NewAudit): Promise<Channel> {
    return this.write(() => {
      const before = this.s.channelById.get(channel.id) as ChannelRow | undefined;
      let changes: number;
      try {
        changes = this.s.updateChannel.run(channel.name, channel.type, channel.url, channel.to, channel.secret, channel.updatedAt, channel.updatedBy, channel.id).changes;
      } catch (err) {
        throw channelNameTaken(err, channel);
      }
      if (changes === 0) throw new SundialError('channel_not_found', `no channel with id ${channel.id}`);
      // Its notifications (pending and past) follow a renamed channel.
      if (before !== undefined && before.name !== channel.name) this.s.renameOutbox.run(channel.name, channel.namespace, before.name);
      this.s.insertAudit.run(...newAuditValues(audit));
      return channel;
    });
  }

  deleteChannel(id: string, audit: NewAudit): Promise<Channel> {
    return this.write(() => {
      const row = this.s.channelById.get(id) as ChannelRow | undefined;
      if (row === undefined) throw new SundialError('channel_not_found', `no channel with id ${id}`);
      this.s.deleteChannel.run(id);
      this.s.insertAudit.run(...newAuditValues(audit));
      return rowToChannel(row);
    });
  }

  enqueueNotifications(rows: readonly NewNotification[]): Promise<void> {
    return this.write(() => this.insertOutbox(rows));
  }

  claimNotifications(now: Millis, leaseUntil: Millis, limit: number): Promise<ClaimedNotification[]> {
    const token = randomUUID();
    return this.write(() => {
      const rows = this.s.claim.all({ now, leaseUntil, limit, token }) as NotificationRow[];
      return rows.map((r) => ({ ...rowToNotification(r), claimToken: token })).sort((a, b) => (a.id < b.id ? -1 : 1));
    });
  }

  releaseAllClaims(now: Millis): Promise<number> {
    return this.write(() => this.s.release.run(now).changes);
  }

  settleNotifications(settlements: readonly Settlement[]): Promise<void> {
    if (settlements.length === 0) return Promise.resolve();
    return this.write(() => {
      for (const s of settlements) {
        this.s.settle.run(s.status, JSON.stringify(s.attempts), s.attemptCount, s.nextAttemptAt, s.lastError, s.deliveredAt, s.id, s.claimToken);
      }
    });
  }

  pruneNotifications(before: Millis, limit: number): Promise<number> {
    return this.write(() => this.s.prune.run(idBound(before), limit).changes);
  }

  async listNotifications(namespace: string, channel: string, limit: number, cursor?: string): Promise<Page<Notification>> {
    // UUIDv7 ids sort by creation; '~' sorts after every id for the first page.
    const before = cursor === undefined ? '~' : decodeNotificationCursor(cursor);
    const rows = this.s.ofChannel.all(namespace, channel, before, limit + 1) as NotificationRow[];
    return pageOf(rows.map(rowToNotification), limit, notificationCursor);
  }

  async getNotification(id: string): Promise<Notification | null> {
    const row = this.s.byId.get(id) as NotificationRow | undefined;
    return row === undefined ? null : rowToNotification(row);
  }
}

function channelNameTaken(err: unknown, c: Channel): unknown {
  const e = err as { code?: unknown };
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new SundialError('channel_name_taken', `A channel named "${c.name}" already exists in namespace "${c.namespace}"`, { cause: err });
  }
  return err;
}
