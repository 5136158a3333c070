// Notification channels: create, read, change and delete them within the caller's namespaces,
// list their deliveries, and queue a test delivery. A channel's secret is write-only: it is
// stored for signing and never returned (views carry `secretSet` instead).

import { invalid, SundialError, type FieldError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Channel, ChannelType, Notification, NotificationBody } from '../core/notify.js';
import type { Actor } from '../core/types.js';
import { createOutboundGuard } from '../executor/outbound-guard.js';
import type { Page } from '../store/store.js';
import { coversNamespace, homeNamespace, readScope, requireNamespace } from '../auth/roles.js';
import { isWebhookSecret } from '../notify/signature.js';
import { auditOf } from './audit.js';
import { httpTargetErrors } from './http-target.js';
import type { ServiceDeps } from './deps.js';

/** A channel as POST /v1/channels accepts it. */
export interface ChannelInput {
  name: string;
  namespace?: string | undefined;
  type: ChannelType;
  url?: string | undefined;
  to?: string | undefined;
  secret?: string | undefined;
}

/** Fields a PATCH may change; `null` clears `url`, `to` or `secret`. */
export interface ChannelPatch {
  name?: string | undefined;
  type?: ChannelType | undefined;
  url?: string | null | undefined;
  to?: string | null | undefined;
  secret?: string | null | undefined;
}

/** How a request names a channel: by name, in `namespace` or the key's home namespace. */
export interface ChannelRef {
  name: string;
  namespace?: string | undefined;
}

/** An e-mail address, loosely: something@domain, no spaces or angle brackets. */
const EMAIL = /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/;

/** Channel operations for the API. */
export class ChannelService {
  readonly #d: ServiceDeps;
  readonly #guard;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
    this.#guard = createOutboundGuard(deps.config.outboundAllow);
  }

  async create(actor: Actor, input: ChannelInput): Promise<Channel> {
    const now = this.#d.clock.now();
    const namespace = input.namespace ?? homeNamespace(actor);
    requireNamespace(actor, namespace);
    const channel: Channel = {
      id: newId(now),
      namespace,
      name: input.name,
      type: input.type,
      url: input.url ?? null,
      to: input.to ?? null,
      secret: input.secret ?? null,
      createdAt: now,
      updatedAt: now,
      createdBy: actor.id,
      updatedBy: actor.id,
    };
    this.#validate(channel);
    const audit = auditOf(actor, now, 'channel.create', { type: 'channel', id: channel.id, namespace }, { name: channel.name, type: channel.type });
    return this.#d.store.notifications.createChannel(channel, audit);
  }

  async get(actor: Actor, ref: ChannelRef): Promise<Channel> {
    const namespace = ref.namespace ?? homeNamespace(actor);
    const channel = coversNamespace(actor, namespace) ? await this.#d.store.notifications.getChannel(namespace, ref.name) : null;
    if (channel === null) throw new SundialError('channel_not_found', `no channel "${ref.name}" in namespace "${namespace}"`);
    return channel;
  }

  async list(actor: Actor, q: { namespace?: string | undefined; limit: number; cursor?: string | undefined }): Promise<Page<Channel>> {
    return this.#d.store.notifications.listChannels(readScope(actor, q.namespace), q.limit, q.cursor);
  }

  async update(actor: Actor, ref: ChannelRef, patch: ChannelPatch): Promise<Channel> {
    const current = await this.get(actor, ref);
    const now = this.#d.clock.now();
    const next: Channel = { ...current, updatedAt: now, updatedBy: actor.id };
    if (patch.name !== undefined) next.name = patch.name;
    if (patch.type !== undefined) next.type = patch.type;
    if (patch.url !== undefined) next.url = patch.url;
    if (patch.to !== undefined) next.to = patch.to;
    if (patch.secret !== undefined) next.secret = patch.secret;
    // Fields of the old type that the new one does not take are dropped, not refused.
    if (patch.type !== undefined && patch.type !== current.type) {
      if (patch.type === 'email') Object.assign(next, { url: patch.url ?? null, secret: patch.secret ?? null });
      else if (patch.type === 'slack') Object.assign(next, { to: patch.to ?? null, secret: patch.secret ?? null });
      else next.to = patch.to ?? null;
    }
    this.#validate(next);
    const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
    const audit = auditOf(actor, now, 'channel.update', { type: 'channel', id: current.id, namespace: current.namespace }, { fields });
    return this.#d.store.notifications.updateChannel(next, audit);
  }

  async delete(actor: Actor, ref: ChannelRef): Promise<Channel> {
    const current = await this.get(actor, ref);
    const audit = auditOf(actor, this.#d.clock.now(), 'channel.delete', { type: 'channel', id: current.id, namespace: current.namespace }, { name: current.name });
    return this.#d.store.notifications.deleteChannel(current.id, audit);
  }

  async deliveries(actor: Actor, ref: ChannelRef, limit: number, cursor?: string): Promise<Page<Notification>> {
    const channel = await this.get(actor, ref);
    return this.#d.store.notifications.listNotifications(channel.namespace, channel.name, limit, cursor);
  }

  /** Queues a test notification for the channel; the deliverer sends it like any other. */
  async test(actor: Actor, ref: ChannelRef): Promise<Notification> {
    const channel = await this.get(actor, ref);
    const now = this.#d.clock.now();
    const id = newId(now);
    const at = new Date(now).toISOString();
    const body: NotificationBody = {
      type: 'run.test',
      timestamp: at,
      run: { id, taskId: '', status: 'succeeded', attempt: 1, scheduledFor: at, startedAt: at, finishedAt: at, error: null },
      task: { id: '', name: `test of channel ${channel.name} by ${actor.id}`, namespace: channel.namespace },
    };
    const row = { id, namespace: channel.namespace, channel: channel.name, event: 'test' as const, runId: null, taskId: null, body: JSON.stringify(body), createdAt: now };
    await this.#d.store.notifications.enqueueNotifications([row]);
    return { ...row, status: 'pending', attempts: [], attemptCount: 0, nextAttemptAt: now, lastError: null, deliveredAt: null };
  }

  /** Refuses a channel its type cannot deliver to, with every problem at once. */
  #validate(c: Channel): void {
    const errors: FieldError[] = [];
    if (c.type === 'webhook' || c.type === 'slack') {
      errors.push(...this.#checkUrl(c.url));
      if (c.to !== null) errors.push({ path: '/to', message: `is for email channels, not ${c.type}` });
    }
    if (c.type === 'webhook') {
      if (c.secret === null || !isWebhookSecret(c.secret)) {
        errors.push({ path: '/secret', message: 'is required: "whsec_" followed by base64 of at least 16 random bytes (Standard Webhooks)' });
      }
    } else if (c.secret !== null) {
      errors.push({ path: '/secret', message: `is for webhook channels, not ${c.type}` });
    }
    if (c.type === 'email') {
      if (c.url !== null) errors.push({ path: '/url', message: 'is for webhook and slack channels, not email' });
      const to = (c.to ?? '').split(',').map((s) => s.trim());
      if (c.to === null || to.some((a) => !EMAIL.test(a)) || to.length > 50) {
        errors.push({ path: '/to', message: 'is required: one or more e-mail addresses, comma-separated (at most 50)' });
      }
      if (this.#d.config.smtpUrl === '') errors.push({ path: '/type', message: 'email channels need an SMTP server: set SUNDIAL_SMTP_URL on the server' });
    }
    if (errors.length > 0) throw invalid(errors);
  }

  /** An http(s) URL whose host passes the outbound guard (addresses are checked again at each delivery). */
  #checkUrl(url: string | null): FieldError[] {
    if (url === null) return [{ path: '/url', message: 'is required: the http(s) URL to POST to' }];
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return [{ path: '/url', message: 'must be an absolute http(s) URL' }];
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return [{ path: '/url', message: 'must be an http:// or https:// URL' }];
    if (parsed.username !== '' || parsed.password !== '') return [{ path: '/url', message: 'must not carry credentials; webhooks are signed with the secret' }];
    // The same check as an http task's URL (localhost names included), at this field's path.
    return httpTargetErrors({ url }, this.#guard).map((e) => ({ ...e, path: '/url' }));
  }
}
