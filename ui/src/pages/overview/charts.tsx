// The two charts of the last hour, drawn from the live series.

import { LineChart } from '../../components/charts/LineChart';
import { StackedBarChart } from '../../components/charts/StackedBarChart';
import type { ChartRow, ChartSeries } from '../../components/charts/types';
import { duration } from '../../format';
import type { LiveSeries, Minute } from './series';

const OUTCOME_SERIES: ChartSeries[] = [
  { key: 'succeeded', label: 'Succeeded', color: 'var(--ov-succeeded)' },
  { key: 'failed', label: 'Failed', color: 'var(--ov-failed)' },
  { key: 'timed_out', label: 'Timed out', color: 'var(--ov-timed-out)' },
  { key: 'cancelled', label: 'Cancelled', color: 'var(--ov-cancelled)' },
  { key: 'skipped', label: 'Skipped', color: 'var(--ov-skipped)' },
];

const LATENESS_SERIES: ChartSeries[] = [
  { key: 'p50', label: 'p50', color: 'var(--ov-p50)' },
  { key: 'p99', label: 'p99', color: 'var(--ov-p99)', dashed: true },
];

/** 850 ms, 1.5 s, then the dashboard's usual durations: short enough for an axis. */
function lateness(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))} s`;
  return duration(ms);
}

const clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

/** Axis label, tooltip title and tick flag of one minute (the last one is still counting). */
function rowOf(m: Minute, last: boolean): Omit<ChartRow, 'values'> {
  const label = clock.format(m.at);
  return { key: m.at, label, title: last ? `${label} (this minute, so far)` : label, tick: new Date(m.at).getMinutes() % 10 === 0 };
}

/** Runs per minute by outcome, stacked. */
export function OutcomeChart({ series }: { series: LiveSeries }) {
  const rows = series.minutes.map((m, i) => ({ ...rowOf(m, i === series.minutes.length - 1), values: { ...m.counts } }));
  return <StackedBarChart label="Finished runs per minute by outcome" xLabel="Minute due" series={OUTCOME_SERIES} rows={rows} emptyText="No run finished in the last hour" />;
}

/** Start lateness p50 and p99 per minute. */
export function LatenessChart({ series }: { series: LiveSeries }) {
  const rows = series.minutes.map((m, i) => ({ ...rowOf(m, i === series.minutes.length - 1), values: { p50: m.lateP50Ms, p99: m.lateP99Ms } }));
  return <LineChart label="Start lateness per minute" xLabel="Minute due" series={LATENESS_SERIES} rows={rows} format={lateness} minStep={1} emptyText="No run started in the last hour" />;
}
