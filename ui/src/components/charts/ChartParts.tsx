// Pieces both charts share: the plot frame, the y grid, x labels, the legend, the hover
// tooltip and the visually-hidden data table that carries every number for screen readers.

import { useState, type MouseEvent, type ReactNode } from 'react';
import type { ChartRow, ChartSeries } from './types';

/** Space around the plot for the axis labels (px). Both charts use it, so stacked charts line up. */
export const MARGIN = { top: 10, right: 12, bottom: 24, left: 56 };

/** Where each row sits along x: the centre and width of its band. */
export function bands(rows: number, width: number): { band: number; center: (i: number) => number; plotWidth: number } {
  const plotWidth = Math.max(0, width - MARGIN.left - MARGIN.right);
  const band = rows > 0 ? plotWidth / rows : plotWidth;
  return { band, plotWidth, center: (i) => MARGIN.left + band * (i + 0.5) };
}

/** Horizontal grid lines with their values on the left. */
export function YGrid({ ticks, y, width, format }: { ticks: number[]; y: (v: number) => number; width: number; format: (v: number) => string }) {
  return (
    <g className="vis-grid">
      {ticks.map((t) => (
        <g key={t}>
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(t)} y2={y(t)} />
          <text x={MARGIN.left - 6} y={y(t)} dy="0.32em" textAnchor="end">
            {format(t)}
          </text>
        </g>
      ))}
    </g>
  );
}

/** Labels under the rows marked `tick` (or every few rows when none is). */
export function XLabels({ rows, center, height }: { rows: ChartRow[]; center: (i: number) => number; height: number }) {
  const every = Math.max(1, Math.ceil(rows.length / 6));
  return (
    <g className="vis-x">
      {rows.map((r, i) =>
        (r.tick ?? (rows.length - 1 - i) % every === 0) ? (
          <text key={r.key} x={center(i)} y={height - 6} textAnchor="middle">
            {r.label}
          </text>
        ) : null,
      )}
    </g>
  );
}

/** The row under the pointer, for the hover guide and tooltip. */
export function useHover(rows: number, band: number) {
  const [index, setIndex] = useState<number | null>(null);
  return {
    index,
    onMouseMove(e: MouseEvent<SVGSVGElement>) {
      const x = e.clientX - e.currentTarget.getBoundingClientRect().left - MARGIN.left;
      const i = Math.floor(x / band);
      setIndex(i >= 0 && i < rows ? i : null);
    },
    onMouseLeave() {
      setIndex(null);
    },
  };
}

/** The hovered row's values next to the pointer (decoration: the table has the same numbers). */
export function Tooltip({ row, series, x, width, format, footer }: { row: ChartRow; series: ChartSeries[]; x: number; width: number; format: (v: number | null) => string; footer?: ReactNode }) {
  const left = x > width / 2;
  return (
    <div className="vis-tooltip" aria-hidden="true" style={left ? { right: width - x + 10 } : { left: x + 10 }}>
      <div className="vis-tooltip-title">{row.title ?? row.label}</div>
      {series.map((s) => (
        <div key={s.key} className="vis-tooltip-row">
          <span className="vis-swatch" style={{ background: s.color }} />
          <span>{s.label}</span>
          <span className="vis-tooltip-value">{format(row.values[s.key] ?? null)}</span>
        </div>
      ))}
      {footer}
    </div>
  );
}

/** The series' names and colours (hidden from screen readers, which get the table). */
export function Legend({ series }: { series: ChartSeries[] }) {
  return (
    <ul className="vis-legend" aria-hidden="true">
      {series.map((s) => (
        <li key={s.key}>
          <span className={`vis-swatch${s.dashed ? ' dashed' : ''}`} style={{ background: s.dashed ? undefined : s.color, borderColor: s.color }} />
          {s.label}
        </li>
      ))}
    </ul>
  );
}

/** Every number of the chart as a table, visually hidden (in a div: a table box ignores the 1px size). */
export function DataTable({ caption, xLabel, series, rows, format, total }: { caption: string; xLabel: string; series: ChartSeries[]; rows: ChartRow[]; format: (v: number | null) => string; total?: boolean }) {
  return (
    <div className="visually-hidden">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{xLabel}</th>
            {series.map((s) => (
              <th key={s.key} scope="col">
                {s.label}
              </th>
            ))}
            {total && <th scope="col">Total</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <th scope="row">{r.title ?? r.label}</th>
              {series.map((s) => (
                <td key={s.key}>{format(r.values[s.key] ?? null)}</td>
              ))}
              {total && <td>{series.reduce((sum, s) => sum + (r.values[s.key] ?? 0), 0)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
