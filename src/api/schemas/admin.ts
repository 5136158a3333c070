// Schemas of the admin and operator routes: keys, audit, nodes, stats, schedule previews.

import { Type } from 'typebox';
import { RUN_STATUSES } from '../../core/types.js';
import { NAME_PATTERN, NAMESPACE_PATTERN } from '../../services/names.js';
import { SCOPES } from '../../auth/scopes.js';
import { IsoTime, IsoTimeInput, Namespace, Nullable, PageQuery } from './common.js';

const KEY_EXPIRY = {
  expiresIn: Type.Optional(Type.String({ maxLength: 64, description: 'Lifetime from now (`30d`, `12h`, `PT1H`), at most 5 years.', examples: ['30d'] })),
  expiresAt: Type.Optional({ ...IsoTimeInput, description: 'When the key stops working (instead of `expiresIn`).' }),
};

const Scopes = Type.Array(Type.Enum([...SCOPES]), {
  maxItems: SCOPES.length,
  description:
    'Narrow what the role allows: writes are limited to the areas named (`tasks:write`, `tasks:write:<kind>`, `runs:write`, `channels:write`, `alerts:write`, `keys:write`); reads are not narrowed. Absent: no narrowing.',
});
import { ScheduleSchema } from './task.js';

/** POST /v1/api-keys */
export const ApiKeyCreateBody = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN }),
    role: Type.Enum(['viewer', 'operator', 'admin']),
    namespaces: Type.Optional(
      Type.Array(Type.Union([Type.Literal('*'), Type.String({ pattern: NAMESPACE_PATTERN })]), {
        minItems: 1,
        maxItems: 100,
        description: 'Namespaces the key covers; `["*"]` for all. Default `["default"]`; admin keys cover all.',
      }),
    ),
    ...KEY_EXPIRY,
    scopes: Type.Optional(Scopes),
  },
  { additionalProperties: false },
);

/** POST /v1/api-keys/{id}/rotate */
export const ApiKeyRotateBody = Type.Object(
  {
    gracePeriod: Type.Optional(
      Type.String({ maxLength: 64, description: 'How long the old key keeps working (default `24h`, at most `30d`; `0s` stops it now).', examples: ['24h'] }),
    ),
    ...KEY_EXPIRY,
  },
  { additionalProperties: false },
);

/** An API key without its secret. */
export const ApiKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Enum(['viewer', 'operator', 'admin']),
  namespaces: Type.Array(Type.String()),
  prefix: Type.String({ description: 'First characters of the secret, to recognise it.' }),
  createdAt: IsoTime,
  createdBy: Type.String(),
  lastUsedAt: Nullable(IsoTime),
  lastUsedFrom: Nullable(Type.String({ description: 'Client address of the last recorded use (recorded at most once a minute per node).' })),
  revokedAt: Nullable(IsoTime),
  expiresAt: Nullable({ ...IsoTime, description: 'When the key stops working by itself (401 `key_expired` after); null: never.' }),
  scopes: Nullable(Type.Array(Type.String(), { description: 'Scopes that narrow the role; null: none.' })),
  replacedBy: Nullable(Type.String({ description: 'Id of the key that replaced this one by rotation.' })),
});

/** GET /v1/me */
export const MeView = Type.Object({
  actor: Type.String({ description: '`key:<id>` of the calling key, as audit entries name it.' }),
  role: Type.Enum(['viewer', 'operator', 'admin']),
  namespaces: Type.Array(Type.String(), { description: 'Namespaces the key covers; `["*"]` for all.' }),
});

/** A newly minted key: the only response that carries the secret. */
export const ApiKeyCreatedView = Type.Object({
  ...ApiKeyView.properties,
  secret: Type.String({ description: 'Shown once; only its hash is kept.', examples: ['sdl_3q2…'] }),
});

/** A rotation's answer: the successor (with its secret, once) and the old key with its new expiry. */
export const ApiKeyRotatedView = Type.Object({
  ...ApiKeyCreatedView.properties,
  previous: ApiKeyView,
});

/** GET /v1/audit filters. */
export const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 200, examples: ['key:0190…'] })),
    action: Type.Optional(Type.String({ maxLength: 100, examples: ['task.create'] })),
    target: Type.Optional(Type.String({ maxLength: 200, description: 'Target id.' })),
    from: Type.Optional(IsoTimeInput),
    to: Type.Optional(IsoTimeInput),
    ...PageQuery,
  },
  { additionalProperties: false },
);

/** One audit row. */
export const AuditView = Type.Object({
  id: Type.String(),
  namespace: Type.String(),
  at: IsoTime,
  actor: Type.String(),
  ip: Nullable(Type.String()),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.String(),
  detail: Type.Unknown(),
  seq: Type.Optional(Type.Integer({ description: 'Place in the audit hash chain (gapless, in write order).' })),
  hash: Type.Optional(Type.String({ description: 'SHA-256 (hex) of this row and the hash of the row before it.' })),
});

/** GET /v1/audit/verify: optionally, a head written down earlier. */
export const AuditVerifyQuery = Type.Object(
  {
    seq: Type.Optional(Type.Integer({ minimum: 1, description: 'With `hash`: a head an earlier verify printed; the row at this seq must still have that hash.' })),
    hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'With `seq`: the hash that row had.' })),
  },
  { additionalProperties: false },
);

const ChainPoint = Type.Object({ seq: Type.Integer(), hash: Type.String() });

/** GET /v1/audit/verify */
export const AuditVerifyView = Type.Object({
  ok: Type.Boolean({ description: 'True when every row from the start to the head checks out.' }),
  count: Type.Integer({ description: 'Rows checked and found good (up to the break, if any).' }),
  from: Type.Object(
    { seq: Type.Integer(), hash: Type.String(), checkpoint: Type.Boolean() },
    { description: 'Where the walk started: the signed checkpoint the log was last pruned to, or seq 0 (the start).' },
  ),
  head: Type.Object({ ...ChainPoint.properties }, { description: 'The last good row: keep its hash to check later that nothing before it changed.' }),
  signedHeads: Type.Integer({ description: 'Signed heads (HMAC checkpoints) that matched their rows.' }),
  lastSignedHead: Nullable(Type.Object({ seq: Type.Integer(), at: IsoTime })),
  keyConfigured: Type.Boolean({ description: 'Whether checkpoint signatures were checked (an audit key is configured).' }),
  broken: Nullable(
    Type.Object({
      seq: Type.Integer({ description: 'The first bad row (or the first missing one).' }),
      id: Nullable(Type.String()),
      reason: Type.Enum(['changed', 'missing', 'inserted', 'rewritten', 'checkpoint_forged', 'checkpoint_mismatch', 'start_mismatch', 'expected_mismatch', 'unchained']),
      message: Type.String(),
    }),
  ),
  warnings: Type.Array(Type.String()),
});

/** A node of the cluster. */
export const NodeView = Type.Object({
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  version: Type.String(),
  roles: Type.Array(Type.String()),
  startedAt: IsoTime,
  lastHeartbeatAt: IsoTime,
  status: Type.Union([Type.Literal('up'), Type.Literal('suspect'), Type.Literal('down')], {
    description: '`up`: heartbeats arrive; `suspect`: it missed some, its leases still hold; `down`: its leases lapsed and its runs are taken over.',
  }),
  runsInFlight: Type.Integer({ description: 'Runs it holds: claimed and waiting for their time, or running.' }),
});

/** GET /v1/stats */
export const StatsView = Type.Object({
  at: IsoTime,
  runs: Type.Object({
    byStatus: Type.Object(Object.fromEntries(RUN_STATUSES.map((s) => [s, Type.Integer()]))),
    backlog: Type.Integer({ description: 'Runs due by now that have not started.' }),
  }),
  tasks: Type.Object({ total: Type.Integer(), active: Type.Integer(), paused: Type.Integer() }),
  sinks: Type.Optional(
    Type.Array(
      Type.Object({
        sink: Type.String({ examples: ['influxdb'] }),
        dropped: Type.Integer({ description: 'Points dropped since this node started, all reasons (`sundial_sink_dropped_total`).' }),
        buffered: Type.Integer({ description: 'Points held now, waiting to be written (`sundial_sink_buffered_points`).' }),
      }),
      { description: 'Admin keys only: the measurement sinks this node runs (empty when none is configured), from its own counters.' },
    ),
  ),
});

/** GET /v1/stats filter. */
export const StatsQuery = Type.Object({ namespace: Type.Optional(Namespace) }, { additionalProperties: false });

/** Minutes GET /v1/stats/runs covers when the request names none. */
export const DEFAULT_STATS_MINUTES = 60;

/** GET /v1/stats/runs */
export const RunStatsQuery = Type.Object(
  {
    namespace: Type.Optional(Namespace),
    minutes: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1440, default: DEFAULT_STATS_MINUTES, description: 'How many minutes, this one included (1..1440, default 60).' }),
    ),
  },
  { additionalProperties: false },
);

const Late = Nullable(Type.Integer({ description: 'Null when no run of the minute started.' }));

/** Runs of one minute of GET /v1/stats/runs. */
export const RunMinuteView = Type.Object({
  at: IsoTime,
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  timed_out: Type.Integer(),
  cancelled: Type.Integer(),
  skipped: Type.Integer(),
  started: Type.Integer({ description: 'Runs that started (whatever their status now).' }),
  lateP50Ms: Late,
  lateP99Ms: Late,
});

/** GET /v1/stats/runs */
export const RunStatsView = Type.Object({
  from: IsoTime,
  to: IsoTime,
  bucketMs: Type.Integer({ examples: [60_000] }),
  buckets: Type.Array(RunMinuteView, { description: 'One per minute, oldest first, empty minutes included.' }),
});

/** POST /v1/schedules/preview */
export const PreviewBody = Type.Object(
  {
    schedule: ScheduleSchema,
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    from: Type.Optional(IsoTimeInput),
  },
  { additionalProperties: false },
);

/** The next fire times of a schedule. */
export const PreviewView = Type.Object({ times: Type.Array(IsoTime), description: Type.String() });
