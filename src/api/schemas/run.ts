// Run request and response schemas.

import { Type } from 'typebox';
import { RUN_STATUSES } from '../../core/types.js';
import { IsoTime, IsoTimeInput, Namespace, Nullable, PageQuery } from './common.js';

/** POST /v1/tasks/{idOrName}/runs */
export const RunCreateBody = Type.Object(
  {
    payload: Type.Optional(Type.Unknown({ description: "Overrides the task's payload for this run." })),
    idempotencyKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'A repeated key returns the first run (200) instead of starting another.' }),
    ),
  },
  { additionalProperties: false },
);

/** POST /v1/runs/{id}/reschedule */
export const RescheduleBody = Type.Object({ at: IsoTimeInput }, { additionalProperties: false });

/** GET /v1/runs filters. */
export const RunListQuery = Type.Object(
  {
    task: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Task id or name.' })),
    namespace: Type.Optional(Namespace),
    status: Type.Optional(Type.String({ maxLength: 200, description: `Comma-separated: ${RUN_STATUSES.join(', ')}.`, examples: ['failed,timed_out'] })),
    from: Type.Optional(IsoTimeInput),
    to: Type.Optional(IsoTimeInput),
    order: Type.Optional(
      Type.Enum(['desc', 'asc'], {
        description: 'By `scheduledFor`: `desc` newest first (default) or `asc` oldest first. A cursor pages only the order it was made for.',
      }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

/** GET /v1/runs/{id}/logs */
export const LogsQuery = Type.Object(
  {
    follow: Type.Optional(
      Type.Union([Type.Boolean(), Type.Literal('1'), Type.Literal('0')], {
        description: 'Stream the log as server-sent events until the run ends (`id:` is the line index, `event: end` closes).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** GET /v1/runs/{id}/metrics */
export const RunMetricsView = Type.Object({
  cpuMs: Nullable(Type.Number({ description: 'CPU time, user + system (final once the run ended).' })),
  peakRssBytes: Nullable(Type.Number()),
  diskWriteBytes: Nullable(Type.Number()),
  samples: Type.Array(
    Type.Object({
      at: IsoTime,
      cpuMs: Type.Number(),
      rssBytes: Type.Number(),
      diskWriteBytes: Type.Number(),
    }),
    { description: 'About one a second while a run longer than a second ran; cumulative figures.' },
  ),
});

/** A run as the API shows it. */
export const RunView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  taskId: Type.String(),
  taskName: Type.String(),
  namespace: Type.String(),
  status: Type.Enum([...RUN_STATUSES]),
  attempt: Type.Integer({ minimum: 1 }),
  retryOf: Nullable(Type.String({ description: 'The attempt this one retries.' })),
  trigger: Type.Enum(['schedule', 'manual', 'retry', 'api']),
  occurrenceAt: Nullable(IsoTime),
  scheduledFor: IsoTime,
  queuedAt: Nullable(IsoTime),
  startedAt: Nullable(IsoTime),
  finishedAt: Nullable(IsoTime),
  lateMs: Nullable(Type.Integer({ description: 'startedAt minus scheduledFor.' })),
  durationMs: Nullable(Type.Integer({ description: 'finishedAt minus startedAt.' })),
  priority: Type.Integer(),
  payload: Type.Unknown(),
  result: Type.Unknown(),
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String(), detail: Type.Optional(Type.Unknown()) })),
  reason: Nullable(Type.String({ examples: ['overlap', 'misfire', 'lost', 'deleted', 'paused'] })),
  node: Nullable(Type.String()),
  cpuMs: Nullable(Type.Number()),
  peakRssBytes: Nullable(Type.Number()),
  diskWriteBytes: Nullable(Type.Number()),
  idempotencyKey: Type.String(),
  logsTruncated: Type.Boolean(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  createdBy: Type.String(),
});

/** One log line (a line of the JSON-lines log response). */
export const LogLineView = Type.Object({
  at: IsoTime,
  level: Type.Enum(['debug', 'info', 'warn', 'error']),
  message: Type.String(),
});
