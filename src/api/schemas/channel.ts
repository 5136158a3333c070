// Notification channel and delivery schemas (docs/notifications.md). Secrets are accepted on
// input and never part of any output schema: the serializer could not send one even by mistake.

import { Type } from 'typebox';
import { CHANNEL_TYPES } from '../../core/notify.js';
import { NAME_PATTERN } from '../../services/names.js';
import { IsoTime, Namespace, Nullable, PageQuery } from './common.js';

const Name = Type.String({ pattern: NAME_PATTERN, description: '1..200 characters of A-Z a-z 0-9 . _ : -', examples: ['ops-alerts'] });
const ChannelTypeSchema = Type.Enum([...CHANNEL_TYPES], { description: '`webhook` (signed JSON), `slack` (incoming webhook) or `email` (SMTP).' });
const Url = Type.String({ maxLength: 2000, description: 'webhook and slack: the URL to POST to; it must pass the outbound guard.', examples: ['https://hooks.example.com/sundial'] });
const To = Type.String({ maxLength: 5000, description: 'email: recipients, comma-separated.', examples: ['ops@example.com'] });
const Secret = Type.String({
  maxLength: 500,
  description: 'webhook: the signing secret, `whsec_<base64>` (Standard Webhooks). Write-only: never returned.',
  examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
});

/** POST /v1/channels */
export const ChannelCreateBody = Type.Object(
  { name: Name, namespace: Type.Optional(Namespace), type: ChannelTypeSchema, url: Type.Optional(Url), to: Type.Optional(To), secret: Type.Optional(Secret) },
  { additionalProperties: false },
);

/** PATCH /v1/channels/{name} */
export const ChannelPatchBody = Type.Object(
  { name: Type.Optional(Name), type: Type.Optional(ChannelTypeSchema), url: Type.Optional(Nullable(Url)), to: Type.Optional(Nullable(To)), secret: Type.Optional(Nullable(Secret)) },
  { additionalProperties: false },
);

/** A channel as the API shows it: never its secret. */
export const ChannelView = Type.Object({
  id: Type.String(),
  namespace: Type.String(),
  name: Type.String(),
  type: ChannelTypeSchema,
  url: Nullable(Type.String({ description: 'Viewers see a Slack URL as its origin only, and a webhook URL without its query.' })),
  to: Nullable(Type.String()),
  secretSet: Type.Boolean({ description: 'Whether a signing secret is stored (it is never shown).' }),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  createdBy: Type.String(),
  updatedBy: Type.String(),
});

export const DeliveryAttemptView = Type.Object({
  at: IsoTime,
  ok: Type.Boolean(),
  status: Nullable(Type.Integer({ description: 'The receiver\'s HTTP status, when it answered.' })),
  error: Nullable(Type.String()),
  durationMs: Type.Integer(),
});

/** A notification of the outbox, with its attempts. */
export const DeliveryView = Type.Object({
  id: Type.String({ description: 'Stable on every attempt: the `webhook-id` header, and the e-mail\'s Message-ID.' }),
  type: Type.String({ description: '`run.failed`, `run.timed_out`, `run.retries_exhausted`, `run.lost`, `run.succeeded`, `run.recovered`, `run.test`, `alert.firing` or `alert.resolved`.' }),
  runId: Nullable(Type.String()),
  taskId: Nullable(Type.String()),
  status: Type.Enum(['pending', 'delivered', 'dead']),
  attemptCount: Type.Integer(),
  attempts: Type.Array(DeliveryAttemptView, { description: 'The most recent 50 attempts, oldest first.' }),
  lastError: Nullable(Type.String()),
  nextAttemptAt: Nullable(IsoTime),
  deliveredAt: Nullable(IsoTime),
  createdAt: IsoTime,
});

/** `{name}` of channel routes. */
export const ChannelParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });

/** GET /v1/channels */
export const ChannelListQuery = Type.Object({ namespace: Type.Optional(Namespace), ...PageQuery }, { additionalProperties: false });
/** GET /v1/channels/{name}/deliveries */
export const DeliveryListQuery = Type.Object({ namespace: Type.Optional(Namespace), ...PageQuery }, { additionalProperties: false });
