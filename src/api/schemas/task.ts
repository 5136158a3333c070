// Task request and response schemas. Schedules and policies are checked in depth by the core
// (validateSchedule, normalizePolicies), whose messages know the domain; the schemas here fix
// their shape and document them.

import { Type } from 'typebox';
import { NOTIFY_EVENTS, RUN_STATUSES, TASK_KINDS, TERMINAL_STATUSES } from '../../core/types.js';
import { NAME_PATTERN } from '../../services/names.js';
import { SCHEDULE_FILTERS, TASK_SORTS } from '../../store/store.js';
import { IsoTime, IsoTimeInput, Namespace, Nullable, PageQuery } from './common.js';

const Duration = Type.String({ maxLength: 64, description: 'ISO-8601 (`PT5M`) or shorthand (`250ms`, `30s`, `5m`, `1h30m`, `2d`).' });

/** A schedule: `once` (at), `interval` (every) or `cron` (expression, timezone). */
export const ScheduleSchema = Type.Object(
  {
    type: Type.Enum(['once', 'interval', 'cron']),
    at: Type.Optional(IsoTimeInput),
    every: Type.Optional(Duration),
    expression: Type.Optional(Type.String({ maxLength: 200, description: '5 fields, or 6 with seconds first.', examples: ['*/10 * * * *'] })),
    timezone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA name; default UTC.', examples: ['Europe/Berlin'] })),
    startAt: Type.Optional(IsoTimeInput),
    endAt: Type.Optional(IsoTimeInput),
    maxRuns: Type.Optional(Type.Integer({ minimum: 1 })),
    jitter: Type.Optional(Duration),
  },
  { description: 'Validated by the scheduler core: unknown zones, abbreviations and expressions that never fire are refused.' },
);

/** Task policies; every field optional on input, all present on output. */
export const PoliciesSchema = Type.Object({
  retry: Type.Optional(
    Type.Object({
      maxAttempts: Type.Optional(Type.Integer({ description: 'Default 1 (no retry).' })),
      backoff: Type.Optional(
        Type.Object({
          type: Type.Optional(Type.Enum(['exponential', 'fixed'])),
          initial: Type.Optional(Duration),
          max: Type.Optional(Duration),
          jitter: Type.Optional(Type.Boolean()),
        }),
      ),
    }),
  ),
  timeout: Type.Optional(Duration),
  overlap: Type.Optional(Type.Enum(['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all'])),
  misfire: Type.Optional(Type.Object({ policy: Type.Optional(Type.Enum(['run_once', 'skip', 'run_all'])), catchupWindow: Type.Optional(Duration) })),
  priority: Type.Optional(Type.Integer()),
  concurrency: Type.Optional(Nullable(Type.Integer())),
  concurrencyKey: Type.Optional(Nullable(Type.String())),
  notify: Type.Optional(
    Type.Array(
      Type.Object({
        on: Type.Array(Type.Enum([...NOTIFY_EVENTS])),
        channel: Type.String({ description: 'A channel of the task\'s namespace (/v1/channels).' }),
      }),
      { description: 'Who is told about which outcomes (docs/notifications.md); unknown channels are refused.' },
    ),
  ),
});

const Name = Type.String({ pattern: NAME_PATTERN, description: '1..200 characters of A-Z a-z 0-9 . _ : -', examples: ['nightly-report'] });
const Kind = Type.Enum([...TASK_KINDS], { description: '`shell` only where the operator enabled it (SUNDIAL_SHELL_TASKS), and only for admins.' });
const Spec = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'What to run; its shape depends on `kind` and is checked after it. http: `{ url, method?, headers?, body?, expectStatus? }`; ' +
      'module: `{ file, export? }` (file under the tasks directory); script: `{ code, secrets?: [names], limits?: { memoryBytes } }` (an ES module whose ' +
      'default export is `async (ctx) => result`; `ctx.secrets` holds the listed secrets); shell: `{ command: [argv], cwd?, env?, limits?: { processes, openFiles, fileSizeBytes, cpuSeconds } }`. ' +
      '`{{secrets.NAME}}` in an http URL (path and query), header values and body, and in shell `env` values, is replaced by the secret\'s value at run time.',
    examples: [
      { url: 'https://example.com/hook', method: 'POST' },
      { file: 'reports/nightly.js', export: 'run' },
      { code: 'export default async (ctx) => ({ doubled: ctx.payload.n * 2 })' },
      { command: ['sh', '-c', 'date && df -h'] },
    ],
  },
);
const Description = Nullable(Type.String({ maxLength: 10_000 }));

/** POST /v1/tasks */
export const TaskCreateBody = Type.Object(
  {
    name: Name,
    namespace: Type.Optional(Namespace),
    description: Type.Optional(Description),
    kind: Kind,
    spec: Spec,
    schedule: Type.Optional(Nullable(ScheduleSchema)),
    policies: Type.Optional(PoliciesSchema),
    payload: Type.Optional(Type.Unknown({ description: 'Handed to every run (a manual run may override it).' })),
  },
  { additionalProperties: false },
);

/** PATCH /v1/tasks/{idOrName}: absent fields stay, null clears description or schedule. */
export const TaskPatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    kind: Type.Optional(Kind),
    spec: Type.Optional(Spec),
    schedule: Type.Optional(Nullable(ScheduleSchema)),
    policies: Type.Optional(PoliciesSchema),
    payload: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** GET /v1/tasks filters. */
export const TaskListQuery = Type.Object(
  {
    namespace: Type.Optional(Namespace),
    status: Type.Optional(Type.Enum(['active', 'paused'])),
    kind: Type.Optional(Type.Enum([...TASK_KINDS])),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Substring of the name or description.' })),
    schedule: Type.Optional(Type.Enum([...SCHEDULE_FILTERS], { description: 'Schedule type; `none`: tasks without a schedule.' })),
    sort: Type.Optional(
      Type.Enum([...TASK_SORTS], {
        description:
          'Order of the items, `-` for descending (default `createdAt`). Ties are broken by id; tasks without a next or last run ' +
          'sort last either way. A cursor pages only the sort it was made for.',
      }),
    ),
    recentRuns: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 50,
        default: 0,
        description: 'With N > 0 each task carries `recentRuns`: its last N finished runs, newest due first (0..50, default 0).',
      }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

/** A finished run in a task listing's `recentRuns`. */
export const RecentRunView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  status: Type.Enum(RUN_STATUSES.filter((s) => TERMINAL_STATUSES.has(s))),
  scheduledFor: IsoTime,
  finishedAt: Nullable(IsoTime),
  durationMs: Nullable(Type.Integer({ description: 'finishedAt minus startedAt; null for runs that never started.' })),
});

/** POST /v1/tasks/{idOrName}/schedule: `at` for one run, or `schedule` for the recurrence. */
export const TaskScheduleBody = Type.Object(
  {
    at: Type.Optional(IsoTimeInput),
    schedule: Type.Optional(Nullable(ScheduleSchema)),
  },
  { additionalProperties: false },
);

/** A task as the API shows it. */
export const TaskView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  namespace: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  kind: Type.Enum([...TASK_KINDS]),
  spec: Type.Unknown(),
  schedule: Nullable(ScheduleSchema),
  scheduleDescription: Nullable(Type.String({ examples: ['every 5m'] })),
  policies: PoliciesSchema,
  payload: Type.Unknown(),
  status: Type.Enum(['active', 'paused']),
  firedCount: Type.Integer(),
  nextRunAt: Nullable(IsoTime),
  lastRunAt: Nullable(IsoTime),
  lastRunStatus: Nullable(Type.Enum([...RUN_STATUSES])),
  version: Type.Integer({ description: 'Bumped on every change; the ETag.' }),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  createdBy: Type.String(),
  updatedBy: Type.String(),
  recentRuns: Type.Optional(
    Type.Array(RecentRunView, { description: 'Only in `GET /v1/tasks?recentRuns=N`: the last N finished runs, newest due first.' }),
  ),
});
