// Axis arithmetic shared by the charts: "nice" tick values and a linear scale.

/**
 * Ticks from 0 to at least `max` on round steps (1, 2 or 5 × 10ⁿ), about `count` of them, no
 * step below `minStep` (1 for counts and whole milliseconds: no "0.5 runs").
 */
export function niceTicks(max: number, count = 4, minStep = 0): number[] {
  if (!(max > 0)) return [0, Math.max(1, minStep)];
  const raw = Math.max(max / count, minStep);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v < max + step / 2; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

/** Maps [0, domainMax] onto [rangeFrom, rangeTo] (screen y runs downwards, so from > to). */
export function linear(domainMax: number, rangeFrom: number, rangeTo: number): (v: number) => number {
  const k = domainMax > 0 ? (rangeTo - rangeFrom) / domainMax : 0;
  return (v) => rangeFrom + v * k;
}
