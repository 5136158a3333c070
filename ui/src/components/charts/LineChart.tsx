// Lines over the same rows as the bar chart (e.g. lateness p50/p99 per minute), in hand-written
// SVG. A null value breaks the line (no data that minute) rather than drawing a false zero.

import { bands, DataTable, Legend, MARGIN, Tooltip, useHover, XLabels, YGrid } from './ChartParts';
import { linear, niceTicks } from './scale';
import type { ChartRow, ChartSeries } from './types';
import { useElementWidth } from './useElementWidth';
import './charts.css';

/** "Lateness: p50 latest 4 ms, highest 12 ms; p99 …" (the latest is the last row with a value). */
export function describeLines(label: string, series: ChartSeries[], rows: ChartRow[], format: (v: number) => string): string {
  const parts = series.map((s) => {
    const values = rows.map((r) => r.values[s.key] ?? null).filter((v): v is number => v !== null);
    if (values.length === 0) return `${s.label} no data`;
    return `${s.label} latest ${format(values[values.length - 1]!)}, highest ${format(Math.max(...values))}`;
  });
  return `${label}: ${parts.join('; ')}.`;
}

/** The SVG path of one series, with a gap wherever the value is null. */
function linePath(rows: ChartRow[], key: string, x: (i: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  rows.forEach((r, i) => {
    const v = r.values[key] ?? null;
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

/** A line chart; each series a line, with dots where a value stands alone between gaps. */
export function LineChart({
  label,
  series,
  rows,
  format,
  xLabel = 'Time',
  height = 200,
  emptyText = 'No data yet',
  minStep = 0,
}: {
  label: string;
  series: ChartSeries[];
  rows: ChartRow[];
  /** How a value reads on the axis, in tooltips and in the table. */
  format: (v: number) => string;
  xLabel?: string;
  height?: number;
  emptyText?: string;
  /** The smallest step between y ticks (1 for whole units). */
  minStep?: number;
}) {
  const [ref, width] = useElementWidth<HTMLDivElement>();
  const all = rows.flatMap((r) => series.map((s) => r.values[s.key] ?? null)).filter((v): v is number => v !== null);
  const ticks = niceTicks(Math.max(0, ...all), 4, minStep);
  const y = linear(ticks[ticks.length - 1]!, height - MARGIN.bottom, MARGIN.top);
  const { band, center } = bands(rows.length, width);
  const hover = useHover(rows.length, band);
  const hovered = hover.index === null ? undefined : rows[hover.index];
  const show = (v: number | null): string => (v === null ? '—' : format(v));
  const alone = (key: string, i: number): boolean => (rows[i - 1]?.values[key] ?? null) === null && (rows[i + 1]?.values[key] ?? null) === null;

  return (
    <figure className="vis-chart">
      <div ref={ref} className="vis-canvas" style={{ height }}>
        <svg width={width} height={height} role="img" aria-label={describeLines(label, series, rows, format)} onMouseMove={hover.onMouseMove} onMouseLeave={hover.onMouseLeave}>
          <YGrid ticks={ticks} y={y} width={width} format={format} />
          {hover.index !== null && <line className="vis-guide-line" x1={center(hover.index)} x2={center(hover.index)} y1={MARGIN.top} y2={height - MARGIN.bottom} />}
          {series.map((s) => (
            <g key={s.key}>
              <path d={linePath(rows, s.key, center, y)} fill="none" stroke={s.color} strokeWidth={2} strokeLinejoin="round" strokeDasharray={s.dashed ? '5 3' : undefined} />
              {rows.map((r, i) => {
                const v = r.values[s.key] ?? null;
                if (v === null || (hover.index !== i && !alone(s.key, i))) return null;
                return <circle key={r.key} cx={center(i)} cy={y(v)} r={hover.index === i ? 3.5 : 2.5} fill={s.color} />;
              })}
            </g>
          ))}
          <line className="vis-axis" x1={MARGIN.left} x2={width - MARGIN.right} y1={y(0)} y2={y(0)} />
          <XLabels rows={rows} center={center} height={height} />
          {all.length === 0 && (
            <text className="vis-empty" x={MARGIN.left + (width - MARGIN.left - MARGIN.right) / 2} y={(height - MARGIN.bottom + MARGIN.top) / 2} textAnchor="middle">
              {emptyText}
            </text>
          )}
        </svg>
        {hovered !== undefined && hover.index !== null && <Tooltip row={hovered} series={series} x={center(hover.index)} width={width} format={show} />}
      </div>
      <Legend series={series} />
      <DataTable caption={label} xLabel={xLabel} series={series} rows={rows} format={show} />
    </figure>
  );
}
