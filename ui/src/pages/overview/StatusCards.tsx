// The cards at the top: what is happening now, what is late, what failed. Numbers that need
// attention (a backlog, failures) are marked by colour and by a word, never by colour alone.

import type { ReactNode } from 'react';

interface Counts {
  scheduled: number;
  queued: number;
  running: number;
  backlog: number;
  tasksActive: number;
  tasksPaused: number;
  tasksTotal: number;
}

function Card({ label, value, hint, tone, flag }: { label: string; value: number | undefined; hint: ReactNode; tone?: 'warn' | 'bad' | undefined; flag?: string | undefined }) {
  return (
    <li className={`card ov-card${tone ? ` ov-card-${tone}` : ''}`}>
      <div className="label">{label}</div>
      <div className="value">
        {value ?? '—'}
        {flag !== undefined && <span className="ov-flag">{flag}</span>}
      </div>
      <div className="ov-card-hint">{hint}</div>
    </li>
  );
}

/** A measurement sink's figures on the answering node since it started (/v1/stats `sinks`, admin keys only). */
export interface SinkCount {
  sink: string;
  dropped: number;
  buffered: number;
}

const SINK_NAMES: Record<string, string> = { influxdb: 'InfluxDB' };

/**
 * The status cards; `counts` undefined while /v1/stats loads, `failures` while the series does.
 * `sinks`: one card per configured sink (none for keys that are not shown sinks).
 */
export function StatusCards({
  counts,
  failures,
  sinks = [],
}: {
  counts: Counts | undefined;
  failures: { failed: number; timedOut: number } | undefined;
  sinks?: SinkCount[] | undefined;
}) {
  const failed = failures === undefined ? undefined : failures.failed + failures.timedOut;
  const backlog = counts?.backlog;
  return (
    <ul className="cards ov-cards" aria-label="Current state">
      <Card label="Running" value={counts?.running} hint="started, not finished" />
      <Card label="Queued" value={counts?.queued} hint="waiting for a worker" />
      <Card label="Scheduled" value={counts?.scheduled} hint="pending, not yet due" />
      <Card
        label="Backlog"
        value={backlog}
        tone={backlog ? 'warn' : undefined}
        flag={backlog ? 'late' : undefined}
        hint={backlog ? 'due, not started' : 'nothing overdue'}
      />
      <Card
        label="Failures, last hour"
        value={failed}
        tone={failed ? 'bad' : undefined}
        flag={failed ? 'failing' : undefined}
        hint={failures === undefined ? 'failed or timed out' : `${failures.failed} failed · ${failures.timedOut} timed out`}
      />
      <Card label="Tasks active" value={counts?.tasksActive} hint={counts === undefined ? 'of all tasks' : `${counts.tasksPaused} paused · ${counts.tasksTotal} in all`} />
      {sinks.map((s) => (
        <Card
          key={s.sink}
          label={`${SINK_NAMES[s.sink] ?? s.sink} points dropped`}
          value={s.dropped}
          tone={s.dropped > 0 ? 'warn' : undefined}
          flag={s.dropped > 0 ? 'dropping' : undefined}
          hint={`${s.buffered} buffered · since start`}
        />
      ))}
    </ul>
  );
}
