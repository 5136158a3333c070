// A row of small bars, one per recent run, oldest on the left, coloured by outcome. The bars
// carry a title each (hover) and the whole strip one summary for screen readers, so the colour
// is never the only cue.

import { duration, fromNow } from '../format';

/** What a mark needs to know about a run. */
export interface SparkRun {
  id: string;
  status: string;
  scheduledFor: string;
  finishedAt?: string | null;
  durationMs?: number | null;
}

const LABELS: Record<string, string> = { timed_out: 'timed out' };
// The summary's order: outcomes people look for first.
const ORDER = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'running', 'queued', 'scheduled'];

/** "Last 20 runs: 18 succeeded, 2 failed". */
export function sparkSummary(runs: readonly SparkRun[]): string {
  if (runs.length === 0) return 'No finished runs yet';
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const keys = [...counts.keys()].sort((a, b) => rank(a) - rank(b));
  const parts = keys.map((k) => `${counts.get(k)} ${LABELS[k] ?? k}`);
  return `Last ${runs.length === 1 ? 'run' : `${runs.length} runs`}: ${parts.join(', ')}`;
}

function rank(status: string): number {
  const i = ORDER.indexOf(status);
  return i === -1 ? ORDER.length : i;
}

function markTitle(r: SparkRun): string {
  const when = r.finishedAt ?? r.scheduledFor;
  const took = r.durationMs !== null && r.durationMs !== undefined ? `, took ${duration(r.durationMs)}` : '';
  return `${LABELS[r.status] ?? r.status} ${fromNow(when)}${took}`;
}

/**
 * Recent runs as bars. `runs` come newest first (as the API lists them); `slots` reserves room
 * for that many, so rows with few runs line up with full ones.
 */
export function Sparkline({ runs, slots = 20 }: { runs: readonly SparkRun[]; slots?: number }) {
  const shown = runs.slice(0, slots).reverse();
  return (
    <span className="sparkline" role="img" aria-label={sparkSummary(shown)} style={{ ['--slots' as string]: slots }}>
      {shown.map((r) => (
        <span key={r.id} className={`spark spark-${r.status}`} title={markTitle(r)} />
      ))}
    </span>
  );
}
