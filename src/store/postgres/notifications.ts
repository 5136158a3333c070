// Channels and the notification outbox on PostgreSQL. `insertOutbox` runs in the transaction of
// the run outcomes that caused the rows (completions.ts), as one statement per batch. Claims take
// due rows with FOR UPDATE SKIP LOCKED, so deliverers on several nodes never take the same row,
// and move their due time by the claim's lease, so a node that dies leaves them due again.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
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
import * as S from './statements.js';

const UNIQUE_VIOLATION = '23505';

type Tx = <T>(fn: (c: pg.ClientBase) => Promise<T>) => Promise<T>;
type Read = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<R[]>;

const INSERT_OUTBOX = new S.Statement(
  'sundial_insert_outbox',
  'INSERT INTO notifications (id, namespace, channel, event, run_id, task_id, body, next_attempt_at, created_at) ' +
    'SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int8[])',
);

/** Inserts outbox rows in the caller's transaction, one statement for the batch. */
export async function insertOutbox(c: pg.ClientBase, rows: readonly NewNotification[]): Promise<void> {
  if (rows.length === 0) return;
  const cols: unknown[][] = Array.from({ length: 9 }, () => []);
  for (const n of rows) newNotificationValues(n).forEach((v, i) => cols[i]!.push(v));
  await INSERT_OUTBOX.run(c, cols);
}

/** The NotificationStore on the PostgreSQL store's pool. */
export class PgNotifications implements NotificationStore {
  constructor(
    private readonly tx: Tx,
    private readonly read: Read,
  ) {}

  createChannel(channel: Channel, audit: NewAudit): Promise<Channel> {
    return this.tx(async (c) => {
      try {
        await c.query(`INSERT INTO channels (${CHANNEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, channelValues(channel));
      } catch (err) {
        throw channelNameTaken(err, channel);
      }
      await S.insertAudit.run(c, newAuditValues(audit));
      return channel;
    });
  }

  async getChannel(namespace: string, name: string): Promise<Channel | null> {
    const rows = await this.read<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE namespace = $1 AND name = $2`, [namespace, name]);
    return rows[0] === undefined ? null : rowToChannel(rows[0]);
  }

  async listChannels(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<Channel>> {
    const q = namedListing('channels', CHANNEL_COLUMNS, namespaces, cursor === undefined ? null : decodeChannelCursor(cursor), limit);
    if (q === null) return { items: [], nextCursor: null };
    return pageOf((await this.read<ChannelRow>(q.sql, q.args)).map(rowToChannel), limit, channelCursor);
  }


  updateChannel(channel: Channel, audit: NewAudit): Promise<Channel> {
    return this.tx(async (c) => {
      const before = (await c.query<{ name: string }>('SELECT name FROM channels WHERE id = $1 FOR UPDATE', [channel.id])).rows[0];
      let count: number;
      try {
        const res = await c.query(
          'UPDATE channels SET name = $1, type = $2, url = $3, recipients = $4, secret = $5, updated_at = $6, updated_by = $7 WHERE id = $8',
          [channel.name, channel.type, channel.url, channel.to, channel.secret, channel.updatedAt, channel.updatedBy, channel.id],
        );
        count = res.rowCount ?? 0;
      } catch (err) {
        throw channelNameTaken(err, channel);
      }
      if (count === 0) throw new SundialError('channel_not_found', `no channel with id ${channel.id}`);
      // Its notifications (pending and past) follow a renamed channel.
      if (before !== undefined && before.name !== channel.name) {
        await c.query('UPDATE notifications SET channel = $1 WHERE namespace = $2 AND channel = $3', [channel.name, channel.namespace, before.name]);
      }
      await S.insertAudit.run(c, newAuditValues(audit));
      return channel;
    });
  }

  deleteChannel(id: string, audit: NewAudit): Promise<Channel> {
    return this.tx(async (c) => {
      const { rows } = await c.query<ChannelRow>(`DELETE FROM channels WHERE id = $1 RETURNING ${CHANNEL_COLUMNS}`, [id]);
      if (rows[0] === undefined) throw new SundialError('channel_not_found', `no channel with id ${id}`);
      await S.insertAudit.run(c, newAuditValues(audit));
      return rowToChannel(rows[0]);
    });
  }

  enqueueNotifications(rows: readonly NewNotification[]): Promise<void> {
    return this.tx((c) => insertOutbox(c, rows));
  }

  claimNotifications(now: Millis, leaseUntil: Millis, limit: number): Promise<ClaimedNotification[]> {
    const token = randomUUID();
    return this.tx(async (c) => {
      const { rows } = await c.query<NotificationRow>(
        `UPDATE notifications SET next_attempt_at = $2, claim_token = $4 WHERE id IN (` +
          `SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3 ` +
          `FOR UPDATE SKIP LOCKED) RETURNING ${NOTIFICATION_COLUMNS}`,
        [now, leaseUntil, limit, token],
      );
      return rows.map((r) => ({ ...rowToNotification(r), claimToken: token })).sort((a, b) => (a.id < b.id ? -1 : 1));
    });
  }

  releaseAllClaims(now: Millis): Promise<number> {
    return this.tx(async (c) => {
      const res = await c.query("UPDATE notifications SET next_attempt_at = $1, claim_token = NULL WHERE status = 'pending' AND claim_token IS NOT NULL", [now]);
      return res.rowCount ?? 0;
    });
  }

  settleNotifications(settlements: readonly Settlement[]): Promise<void> {
    if (settlements.length === 0) return Promise.resolve();
    return this.tx(async (c) => {
      const cols: unknown[][] = Array.from({ length: 8 }, () => []);
      for (const s of settlements) {
        [s.id, s.claimToken, s.status, JSON.stringify(s.attempts), s.attemptCount, s.nextAttemptAt, s.lastError, s.deliveredAt].forEach((v, i) => cols[i]!.push(v));
      }
      // One statement; rows in id order, so two settling nodes lock in one order.
      await c.query(
        'UPDATE notifications n SET status = s.status, attempts = s.attempts, attempt_count = s.attempt_count, next_attempt_at = s.next_at, ' +
          'last_error = s.last_error, delivered_at = s.delivered_at, claim_token = NULL ' +
          'FROM (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::int8[], $7::text[], $8::int8[]) ' +
          'AS t(id, token, status, attempts, attempt_count, next_at, last_error, delivered_at) ORDER BY id) s ' +
          'WHERE n.id = s.id AND n.claim_token = s.token',
        cols,
      );
    });
  }

  pruneNotifications(before: Millis, limit: number): Promise<number> {
    return this.tx(async (c) => {
      const res = await c.query(
        "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE id < $1 AND status <> 'pending' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)",
        [idBound(before), limit],
      );
      return res.rowCount ?? 0;
    });
  }

  async listNotifications(namespace: string, channel: string, limit: number, cursor?: string): Promise<Page<Notification>> {
    const before = cursor === undefined ? '~' : decodeNotificationCursor(cursor);
    const rows = await this.read<NotificationRow>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE namespace = $1 AND channel = $2 AND id < $3 ORDER BY id DESC LIMIT $4`,
      [namespace, channel, before, limit + 1],
    );
    return pageOf(rows.map(rowToNotification), limit, notificationCursor);
  }

  async getNotification(id: string): Promise<Notification | null> {
    const rows = await this.read<NotificationRow>(`SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1`, [id]);
    return rows[0] === undefined ? null : rowToNotification(rows[0]);
  }
}

function channelNameTaken(err: unknown, c: Channel): unknown {
  if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) {
    return new SundialError('channel_name_taken', `A channel named "${c.name}" already exists in namespace "${c.namespace}"`, { cause: err });
  }
  return err;
}
