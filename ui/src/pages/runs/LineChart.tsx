// A small line chart in plain SVG: one series over time, its peak marked on the y axis, the
// first and last time on the x axis. The aria-label says in words what the line shows.

export interface Point {
  t: number;
  v: number;
}

const W = 360;
const H = 140;
const PAD = { left: 56, right: 10, top: 10, bottom: 22 };
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** A line chart of `points` (at least two); `format` writes a value for the axis and the label. */
export function LineChart({ points, title, format, className }: { points: Point[]; title: string; format: (v: number) => string; className?: string }) {
  const t0 = points[0]!.t;
  const t1 = points[points.length - 1]!.t;
  const peak = points.reduce((max, p) => Math.max(max, p.v), 0);
  const yMax = peak > 0 ? peak * 1.1 : 1;
  const x = (t: number): number => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number): number => PAD.top + (1 - v / yMax) * (H - PAD.top - PAD.bottom);
  const line = thin(points, W - PAD.left - PAD.right).map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const area = `${x(t0).toFixed(1)},${y(0)} ${line} ${x(t1).toFixed(1)},${y(0)}`;
  const mean = points.reduce((s, p) => s + p.v, 0) / points.length;
  const label = `${title}: ${points.length} samples over ${Math.round((t1 - t0) / 1000)} s, peak ${format(peak)}, average ${format(mean)}`;
  return (
    <figure className={`chart ${className ?? ''}`}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        <line className="chart-axis" x1={PAD.left} y1={y(0)} x2={W - PAD.right} y2={y(0)} />
        <line className="chart-grid" x1={PAD.left} y1={y(peak)} x2={W - PAD.right} y2={y(peak)} />
        <text className="chart-tick" x={PAD.left - 6} y={y(peak) + 4} textAnchor="end">
          {format(peak)}
        </text>
        <text className="chart-tick" x={PAD.left - 6} y={y(0) + 4} textAnchor="end">
          0
        </text>
        <text className="chart-tick" x={PAD.left} y={H - 6} textAnchor="start">
          {clock.format(t0)}
        </text>
        <text className="chart-tick" x={W - PAD.right} y={H - 6} textAnchor="end">
          {clock.format(t1)}
        </text>
        <polygon className="chart-area" points={area} />
        <polyline className="chart-line" points={line} />
      </svg>
    </figure>
  );
}

/**
 * At most `columns` points, one per time slice, each the slice's highest (a run samples once a
 * second, so a day-long run has 86,400 points for a 300-pixel line; peaks must stay visible).
 */
function thin(points: Point[], columns: number): Point[] {
  if (points.length <= columns) return points;
  const t0 = points[0]!.t;
  const span = Math.max(1, points[points.length - 1]!.t - t0);
  const out: Point[] = [];
  let slice = -1;
  for (const p of points) {
    const s = Math.min(columns - 1, Math.floor(((p.t - t0) / span) * columns));
    if (s !== slice) {
      out.push({ ...p });
      slice = s;
    } else if (p.v > out[out.length - 1]!.v) out[out.length - 1]!.v = p.v;
  }
  return out;
}
