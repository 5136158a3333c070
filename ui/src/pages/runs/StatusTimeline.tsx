// A run's way through its lifecycle: scheduled → queued → running → outcome, each step with its
// time. An ordered list, so screen readers hear the steps in order with their state.

import { useEffect, useState } from 'react';
import type { Run } from '../../api/client';
import { duration, fromNow, localTime } from '../../format';
import { isFinished } from './statuses';

type StepState = 'done' | 'current' | 'pending' | 'not-reached';

interface Step {
  key: string;
  label: string;
  at: string | null;
  state: StepState;
  note?: string;
  /** The outcome's status, for its colour. */
  tone?: string;
}

const STATE_TEXT: Record<StepState, string> = {
  done: 'done',
  current: 'in progress',
  pending: 'pending',
  'not-reached': 'not reached',
};

/** The four steps of a run as its fields say. */
export function timelineSteps(run: Run): Step[] {
  const finished = isFinished(run.status);
  const state = (reached: boolean, current: boolean): StepState => (current ? 'current' : reached ? 'done' : finished ? 'not-reached' : 'pending');
  const late = run.lateMs === null ? undefined : run.lateMs <= 0 ? 'on time' : `${duration(run.lateMs)} late`;
  return [
    { key: 'scheduled', label: 'Scheduled', at: run.scheduledFor, state: state(true, run.status === 'scheduled') },
    { key: 'queued', label: 'Queued', at: run.queuedAt, state: state(run.queuedAt !== null, run.status === 'queued') },
    { key: 'running', label: 'Running', at: run.startedAt, state: state(run.startedAt !== null, run.status === 'running'), note: late },
    {
      key: 'outcome',
      label: finished ? run.status.replace('_', ' ') : 'Outcome',
      at: run.finishedAt,
      state: finished ? 'done' : 'pending',
      note: run.durationMs === null ? undefined : `took ${duration(run.durationMs)}`,
      tone: finished ? run.status : undefined,
    },
  ];
}

/** The run's status timeline. */
export function StatusTimeline({ run }: { run: Run }) {
  // The relative times ("in 3 minutes") move on while the page stays open.
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 10_000);
    return () => clearInterval(t);
  }, []);
  return (
    <ol className="timeline" aria-label="Status timeline">
      {timelineSteps(run).map((s) => (
        <li key={s.key} className={`step step-${s.state}${s.tone ? ` tone-${s.tone}` : ''}`} aria-current={s.state === 'current' ? 'step' : undefined}>
          <span className="step-dot" aria-hidden="true" />
          <span className="step-label">
            {s.label}
            <span className="visually-hidden"> ({STATE_TEXT[s.state]})</span>
          </span>
          {s.at !== null ? (
            <span className="step-time">
              <time dateTime={s.at}>{localTime(s.at)}</time>
              <span className="muted">{fromNow(s.at)}</span>
            </span>
          ) : (
            <span className="step-time muted" aria-hidden="true">
              {s.state === 'not-reached' ? 'skipped' : 'waiting'}
            </span>
          )}
          {s.note !== undefined && <span className="step-note">{s.note}</span>}
        </li>
      ))}
    </ol>
  );
}
