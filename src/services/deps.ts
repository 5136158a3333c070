// What the services need from the rest of Sundial, handed in by the composition root.

import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import type { PlannerOptions } from '../core/planner.js';
import type { Config } from '../config/config.js';
import type { Keyring } from '../core/secrets/envelope.js';
import type { SchedulerControl } from '../scheduler/scheduler-control.js';
import type { Store } from '../store/store.js';
import type { SpecChecks } from './task-spec.js';

/** Dependencies shared by every service. */
export interface ServiceDeps extends SpecChecks {
  config: Config;
  store: Store;
  clock: Clock;
  bus: EventBus;
  scheduler: SchedulerControl;
  planner: PlannerOptions;
  /** This node's Prometheus registry: /v1/stats reads the sinks' drop counters from it (absent: none shown). */
  metricsRegistry?: Registry;
  /** The secrets store's keys; null or absent: secret writes answer 501 `secrets_key_missing` with `secretsKeyProblem`. */
  secretsKeyring?: Keyring | null | undefined;
  secretsKeyProblem?: string | null | undefined;
  /** The HMAC key of the audit chain's checkpoints (config/audit-key.ts); null or absent: none. */
  auditKey?: string | null;
}
