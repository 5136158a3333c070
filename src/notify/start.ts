// Builds the deliverer from the configuration (the composition root calls this on nodes that
// deliver: those with the scheduler role, and a single node always).
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import type { Registry } from 'prom-client';
import { Deliverer } from './deliverer.js';
import { deliveryCounter } from './delivery-metrics.js';
import { createTransports } from './transports.js';

/** A claim holds its rows this long: longer than a claim's sends can take (each bounded by the timeout). */
const MIN_LEASE_MS = 60_000;
const BATCH = 200;

export interface RunningDeliverer {
  stop(): Promise<void>;
}

/** Starts delivering the outbox; `publicUrl` is read at each send (the address is known only after listen). */
export function startDeliverer(
  config: Config,
  d: { store: Store; clock: Clock; registry: Registry; publicUrl: () => string; onError: (err: Error) => void },
): RunningDeliverer {
  const transports = createTransports({
    outboundAllow: config.outboundAllow,
    timeoutMs: config.notifyTimeout,
    smtpUrl: config.smtpUrl,
    smtpFrom: config.smtpFrom,
    userAgent: `Sundial/${VERSION}`,
  });
  const deliverer = new Deliverer(
    {
      pollIntervalMs: config.notifyPollInterval,
      leaseMs: Math.max(MIN_LEASE_MS, config.notifyTimeout * 6),
      batch: BATCH,
      retry: { initialMs: config.notifyRetryInitial, maxMs: config.notifyRetryMax, forMs: config.notifyRetryFor },
      publicUrl: d.publicUrl,
      recoverClaims: !d.store.capabilities.shared,
      // The outbox is history like runs are: kept as long as finished runs.
      retentionMs: config.historyMaxAge,
    },
    { store: d.store, clock: d.clock, transports, onError: d.onError, count: deliveryCounter(d.registry) },
  );
  deliverer.start();
  return {
    async stop() {
      await deliverer.stop();
      await transports.close();
    },
  };
}
