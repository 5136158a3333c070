// What the charts draw: rows along the x axis (one per time bucket), each with a value per series.

/** One series: its key in each row's values, its name, and its colour (any CSS colour, e.g. `var(--ok)`). */
export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  /** Drawn dashed (line charts), so series differ by more than colour. */
  dashed?: boolean;
}

/** One x position: a stable key, its axis label, and a value per series key (null: no value). */
export interface ChartRow {
  key: string | number;
  label: string;
  /** A longer label for tooltips and the data table (defaults to `label`). */
  title?: string;
  values: Record<string, number | null>;
  /** Label this row on the x axis (default: every few rows). */
  tick?: boolean;
}
