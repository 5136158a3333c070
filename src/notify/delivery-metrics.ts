// The deliverer's Prometheus counter, in the server's registry: attempts by channel type and
// outcome, so an operator (or a later alert rule) sees failures and dead notifications pile up
// without reading the outbox. A metric already in the registry is reused (tests build several).
import client from 'prom-client';
import type { ChannelType } from '../core/notify.js';

/** What became of one notification in one round. */
export type DeliveryOutcome = 'delivered' | 'failed' | 'dead' | 'deferred';

export type DeliveryCounter = (type: ChannelType | 'unknown', outcome: DeliveryOutcome) => void;

export function deliveryCounter(registry: client.Registry): DeliveryCounter {
  const name = 'sundial_notification_deliveries_total';
  const counter =
    (registry.getSingleMetric(name) as client.Counter<'type' | 'outcome'> | undefined) ??
    new client.Counter({
      name,
      help: 'Notifications by channel type and what became of them in a delivery round: delivered, failed (retried later), dead, deferred (rate limit).',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    });
  return (type, outcome) => counter.inc({ type, outcome });
}
