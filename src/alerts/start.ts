// Builds the alert evaluator from the configuration (the composition root calls this on nodes
// with the scheduler role, and on a single node always).
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import type { AlertRule } from '../core/alerts.js';
import type { Store } from '../store/store.js';
import { DropHistory } from './drop-history.js';
import { AlertEvaluator } from './evaluator.js';

export interface RunningEvaluator {
  stop(): Promise<void>;
}

/** The sink's dropped points on this node, all reasons: read from the registry the sink counts in. */
async function droppedPoints(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('sundial_sink_dropped_total');
  if (metric === undefined) return 0;
  let total = 0;
  for (const v of (await metric.get()).values) if (v.labels.sink === 'influxdb') total += v.value;
  return total;
}

export function startAlertEvaluator(
  config: Config,
  d: { store: Store; clock: Clock; registry: Registry; holder: string; onError: (err: Error, rule: AlertRule | null) => void },
): RunningEvaluator {
  const evaluator = new AlertEvaluator(
    { intervalMs: config.alertInterval, holder: d.holder, nodeLeaseMs: config.lease },
    { store: d.store, clock: d.clock, drops: config.influxUrl === '' ? null : new DropHistory(() => droppedPoints(d.registry)), onError: d.onError },
  );
  evaluator.start();
  return { stop: () => evaluator.stop() };
}
