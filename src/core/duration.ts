// Durations as people write them: ISO-8601 (`PT5M`) or shorthand (`1h30m`). Days are 24 hours
// (a duration is an amount of elapsed time, not a calendar step); years and months are refused
// because their length depends on where they start.

const MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof MS;
/** Shorthand units, largest first: a part must use a smaller unit than the one before it. */
const UNIT_ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];

const NUM = String.raw`(\d+(?:[.,]\d+)?)`;
const ISO_RE = new RegExp(`^P(?:${NUM}W)?(?:${NUM}D)?(?:T(?:${NUM}H)?(?:${NUM}M)?(?:${NUM}S)?)?$`, 'i');
const SHORT_PART_RE = /(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)\s*/y;

/**
 * Parses a duration: ISO-8601 (`PT5M`, `P1DT2H`, `PT0.5S`) or shorthand (`250ms`, `30s`, `5m`,
 * `1h30m`, `2d`). Returns milliseconds, or null when the text is not a duration.
 */
export function parseDuration(input: string): number | null {
  if (typeof input !== 'string') return null;
  const text = input.trim();
  if (text === '') return null;
  const ms = /^p/i.test(text) ? parseIso(text) : parseShorthand(text);
  if (ms === null || !Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) return null;
  return Math.round(ms);
}

function parseIso(text: string): number | null {
  const m = ISO_RE.exec(text);
  if (!m) return null;
  // "P" and "PT" alone match the pattern but say nothing.
  if (m.slice(1).every((g) => g === undefined)) return null;
  if (/T$/i.test(text)) return null;
  const num = (g: string | undefined): number => (g === undefined ? 0 : Number(g.replace(',', '.')));
  return num(m[1]) * MS.w + num(m[2]) * MS.d + num(m[3]) * MS.h + num(m[4]) * MS.m + num(m[5]) * MS.s;
}

function parseShorthand(text: string): number | null {
  let total = 0;
  let pos = 0;
  let lastRank = -1;
  SHORT_PART_RE.lastIndex = 0;
  while (pos < text.length) {
    SHORT_PART_RE.lastIndex = pos;
    const m = SHORT_PART_RE.exec(text);
    if (!m) return null;
    const unit = m[2] as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    // Descending units only: `5m5m` or `30s1m` is more likely a typo than a sum.
    if (rank <= lastRank) return null;
    lastRank = rank;
    total += Number(m[1]) * MS[unit];
    pos = SHORT_PART_RE.lastIndex;
  }
  return total;
}

/** Formats milliseconds as shorthand (`1h30m`, `250ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0s';
  let out = '';
  // Weeks are left out on purpose: `14d` reads better than `2w` in a policy view.
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const n = Math.floor(rest / MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * MS[unit];
    }
  }
  return ms < 0 ? `-${out}` : out;
}
