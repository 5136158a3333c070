// What the sinks (InfluxDB today) dropped and hold, read back from this node's Prometheus
// registry, where observability/influx/sink-metrics.ts counts them. Read from the registry rather
// than from the sink itself so the API needs no handle on a sink that may not be configured: a
// sink's series exist (at 0) from its start, so a sink that is listed is one that runs.

import type { Registry } from 'prom-client';

/** One sink's figures on this node since it started. */
export interface SinkFigures {
  sink: string;
  /** Points dropped, all reasons (`sundial_sink_dropped_total`). */
  dropped: number;
  /** Points held, waiting to be written (`sundial_sink_buffered_points`). */
  buffered: number;
}

async function valuesOf(registry: Registry, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  return (await metric.get()).values as { labels: Record<string, string | number>; value: number }[];
}

/** Every sink with a series in `registry`, by name. */
export async function sinkFigures(registry: Registry): Promise<SinkFigures[]> {
  const bySink = new Map<string, SinkFigures>();
  const of = (sink: string): SinkFigures => {
    let f = bySink.get(sink);
    if (f === undefined) bySink.set(sink, (f = { sink, dropped: 0, buffered: 0 }));
    return f;
  };
  for (const v of await valuesOf(registry, 'sundial_sink_dropped_total')) of(String(v.labels.sink)).dropped += v.value;
  for (const v of await valuesOf(registry, 'sundial_sink_buffered_points')) of(String(v.labels.sink)).buffered += v.value;
  return [...bySink.values()].sort((a, b) => a.sink.localeCompare(b.sink));
}
