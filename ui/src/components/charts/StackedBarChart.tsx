// Stacked bars, one per row (e.g. runs per minute by outcome), in hand-written SVG. Screen
// readers get a one-sentence summary (the image's name) and the full numbers in a hidden table.

import { bands, DataTable, Legend, MARGIN, Tooltip, useHover, XLabels, YGrid } from './ChartParts';
import { linear, niceTicks } from './scale';
import type { ChartRow, ChartSeries } from './types';
import { useElementWidth } from './useElementWidth';
import './charts.css';

const count = (v: number | null): string => (v === null ? '0' : String(v));

function rowTotal(row: ChartRow, series: ChartSeries[]): number {
  return series.reduce((sum, s) => sum + (row.values[s.key] ?? 0), 0);
}

/** "Runs per minute: 120 succeeded, 3 failed. Busiest: 10:42 with 14." */
export function describeStacks(label: string, series: ChartSeries[], rows: ChartRow[]): string {
  if (rows.length === 0) return `${label}: no data.`;
  const totals = series.map((s) => `${rows.reduce((sum, r) => sum + (r.values[s.key] ?? 0), 0)} ${s.label.toLowerCase()}`);
  let busiest = rows[0]!;
  for (const r of rows) if (rowTotal(r, series) > rowTotal(busiest, series)) busiest = r;
  const peak = rowTotal(busiest, series);
  const span = `${rows[0]!.title ?? rows[0]!.label} to ${rows[rows.length - 1]!.title ?? rows[rows.length - 1]!.label}`;
  return `${label}, ${span}: ${totals.join(', ')}.${peak > 0 ? ` Busiest: ${busiest.title ?? busiest.label} with ${peak}.` : ''}`;
}

/** A stacked bar chart; `series` stack bottom to top in the order given. */
export function StackedBarChart({
  label,
  series,
  rows,
  xLabel = 'Time',
  height = 200,
  emptyText = 'Nothing yet',
}: {
  /** What the chart shows; the table's caption and the start of the summary. */
  label: string;
  series: ChartSeries[];
  rows: ChartRow[];
  /** The data table's heading for the x column. */
  xLabel?: string;
  height?: number;
  emptyText?: string;
}) {
  const [ref, width] = useElementWidth<HTMLDivElement>();
  const totals = rows.map((r) => rowTotal(r, series));
  const ticks = niceTicks(Math.max(0, ...totals), 4, 1);
  const y = linear(ticks[ticks.length - 1]!, height - MARGIN.bottom, MARGIN.top);
  const { band, center } = bands(rows.length, width);
  const barWidth = Math.max(1, Math.min(band * 0.72, band - 1));
  const hover = useHover(rows.length, band);
  const hovered = hover.index === null ? undefined : rows[hover.index];

  return (
    <figure className="vis-chart">
      <div ref={ref} className="vis-canvas" style={{ height }}>
        <svg width={width} height={height} role="img" aria-label={describeStacks(label, series, rows)} onMouseMove={hover.onMouseMove} onMouseLeave={hover.onMouseLeave}>
          <YGrid ticks={ticks} y={y} width={width} format={(v) => String(v)} />
          {hover.index !== null && <rect className="vis-guide" x={center(hover.index) - band / 2} y={MARGIN.top} width={band} height={height - MARGIN.top - MARGIN.bottom} />}
          {rows.map((r, i) => {
            let base = 0;
            return (
              <g key={r.key}>
                {series.map((s) => {
                  const v = r.values[s.key] ?? 0;
                  if (v <= 0) return null;
                  const top = y(base + v);
                  const h = y(base) - top;
                  base += v;
                  return <rect key={s.key} x={center(i) - barWidth / 2} y={top} width={barWidth} height={Math.max(h, 1)} fill={s.color} />;
                })}
              </g>
            );
          })}
          <line className="vis-axis" x1={MARGIN.left} x2={width - MARGIN.right} y1={y(0)} y2={y(0)} />
          <XLabels rows={rows} center={center} height={height} />
          {totals.every((t) => t === 0) && (
            <text className="vis-empty" x={MARGIN.left + (width - MARGIN.left - MARGIN.right) / 2} y={(height - MARGIN.bottom + MARGIN.top) / 2} textAnchor="middle">
              {emptyText}
            </text>
          )}
        </svg>
        {hovered !== undefined && hover.index !== null && (
          <Tooltip
            row={hovered}
            series={[...series].reverse()}
            x={center(hover.index)}
            width={width}
            format={count}
            footer={
              <div className="vis-tooltip-row vis-tooltip-total">
                <span />
                <span>Total</span>
                <span className="vis-tooltip-value">{rowTotal(hovered, series)}</span>
              </div>
            }
          />
        )}
      </div>
      <Legend series={series} />
      <DataTable caption={label} xLabel={xLabel} series={series} rows={rows} format={count} total />
    </figure>
  );
}
