// Alert rule and alert schemas (docs/alerts.md). A rule's `params` depend on its kind, so the
// schema takes an object and the service checks it per kind (core/alert-params.ts), reporting
// every field at its path.

import { Type } from 'typebox';
import { ALERT_KINDS } from '../../core/alerts.js';
import { NAME_PATTERN } from '../../services/names.js';
import { IsoTime, Namespace, Nullable, PageQuery } from './common.js';

const Name = Type.String({ pattern: NAME_PATTERN, description: '1..200 characters of A-Z a-z 0-9 . _ : -', examples: ['nightly-failing'] });
const Kind = Type.Enum([...ALERT_KINDS], { description: 'What the rule watches (docs/alerts.md, "Kinds").' });
const Params = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      'Per kind: consecutive_failures {task, n}; retries_exhausted {task?, within?}; no_success_for {task, duration}; lateness_p99 {bound, window?}; ' +
      'backlog {above}; node_down {node?}; sink_dropping {above?, window?}; outbox_backlog {olderThan, above?}. Durations as "30s", "5m", "PT1H".',
    examples: [{ task: 'nightly-report', n: 3 }],
  },
);
const For = Type.String({ maxLength: 64, description: 'How long the condition must hold before the alert fires (kinds that are levels: lateness_p99, backlog, node_down, sink_dropping, outbox_backlog).', examples: ['5m'] });
const Channels = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 20, description: 'Channels of the rule\'s namespace notified on firing and on resolving.' });

/** POST /v1/alert-rules */
export const AlertRuleCreateBody = Type.Object(
  {
    name: Name,
    namespace: Type.Optional(Namespace),
    kind: Kind,
    params: Type.Optional(Params),
    for: Type.Optional(For),
    channels: Type.Optional(Channels),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);

/** PATCH /v1/alert-rules/{name}: absent fields stay; `params` is replaced whole. */
export const AlertRulePatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    kind: Type.Optional(Kind),
    params: Type.Optional(Params),
    for: Type.Optional(For),
    channels: Type.Optional(Channels),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const AlertRuleView = Type.Object({
  id: Type.String(),
  namespace: Type.String(),
  name: Type.String(),
  kind: Kind,
  params: Type.Object({}, { additionalProperties: true }),
  for: Type.String({ description: 'As shorthand, `0s` for none.' }),
  channels: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  createdBy: Type.String(),
  updatedBy: Type.String(),
});

export const AlertView = Type.Object({
  id: Type.String(),
  status: Type.Enum(['firing', 'resolved']),
  since: IsoTime,
  firedAt: IsoTime,
  resolvedAt: Nullable(IsoTime),
  why: Type.String({ description: 'What was measured, as a sentence with the value.' }),
  value: Nullable(Type.Number()),
  rule: Type.Object({ id: Type.String(), name: Type.String(), kind: Kind, namespace: Type.String() }),
});

export const AlertRuleParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });
export const AlertRuleListQuery = Type.Object({ namespace: Type.Optional(Namespace), ...PageQuery }, { additionalProperties: false });
export const AlertListQuery = Type.Object(
  {
    namespace: Type.Optional(Namespace),
    status: Type.Optional(Type.Enum(['firing', 'resolved'])),
    rule: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'A rule name (in `namespace` or the key\'s own).' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
