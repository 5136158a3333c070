// The sink's Prometheus counters, in the server's registry: what it wrote, what failed, what it
// dropped and why (DESIGN: `sundial_sink_dropped_total{sink="influxdb"}`). Labelled by sink so
// that later sinks share the names; a metric already in the registry is reused.

import client from 'prom-client';

/** Why points were dropped. */
export type DropReason = 'overflow' | 'rejected' | 'unknown_run' | 'shutdown' | 'unwritable';

export interface SinkCounters {
  dropped(reason: DropReason, n: number): void;
  written(n: number): void;
  /** A write attempt failed; `reason` is `timeout`, `network`, `http_5xx`, `http_429` or `http_4xx`. */
  failed(reason: string): void;
  buffered(n: number): void;
  /** Points dropped since start, all reasons. */
  readonly droppedTotal: number;
}

function counter<L extends string>(registry: client.Registry, name: string, help: string, labelNames: readonly L[]): client.Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as client.Counter<L>;
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

/** The counters of one sink (`sink` label), registered in `registry`. */
export function sinkCounters(registry: client.Registry, sink: string): SinkCounters {
  const dropped = counter(
    registry,
    'sundial_sink_dropped_total',
    'Points a sink dropped, by reason: overflow (its buffer was full), rejected (the server refused the batch with a 4xx), unknown_run, unwritable, shutdown (not written within the bound at shutdown).',
    ['sink', 'reason'] as const,
  );
  const written = counter(registry, 'sundial_sink_points_written_total', 'Points a sink wrote (the server acknowledged them).', ['sink'] as const);
  const failed = counter(
    registry,
    'sundial_sink_batches_failed_total',
    'Write attempts of a sink that failed, by reason (timeout, network, http_5xx, http_429: retried with backoff; http_4xx: dropped).',
    ['sink', 'reason'] as const,
  );
  const existingGauge = registry.getSingleMetric('sundial_sink_buffered_points') as client.Gauge<'sink'> | undefined;
  const buffered =
    existingGauge ??
    new client.Gauge({ name: 'sundial_sink_buffered_points', help: 'Points a sink holds, waiting to be written.', labelNames: ['sink'] as const, registers: [registry] });
  // Present at 0 from the start, so alerts and dashboards see the series before the first drop.
  dropped.inc({ sink, reason: 'overflow' }, 0);
  written.inc({ sink }, 0);
  buffered.set({ sink }, 0);
  let droppedTotal = 0;
  return {
    dropped(reason, n) {
      if (n <= 0) return;
      droppedTotal += n;
      dropped.inc({ sink, reason }, n);
    },
    written(n) {
      written.inc({ sink }, n);
    },
    failed(reason) {
      failed.inc({ sink, reason });
    },
    buffered(n) {
      buffered.set({ sink }, n);
    },
    get droppedTotal() {
      return droppedTotal;
    },
  };
}
