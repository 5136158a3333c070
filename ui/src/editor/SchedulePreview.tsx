// The schedule in words and its next fire times, in the schedule's own zone and the browser's.
// The status line is a polite live region: it says when the schedule became invalid or what it
// now means, without stealing focus from the input being typed in.

import { useId } from 'react';
import type { Schedule } from '../api/client';
import { ApiError, errorText, type FieldProblem } from '../api/problem';
import { fromNow } from '../format';
import { BROWSER_ZONE, type ScheduleType } from './model';
import { PREVIEW_COUNT, type SchedulePreviewState } from './schedule-preview';

const WHAT_IS_MISSING: Record<ScheduleType, string> = {
  none: 'No schedule: the task runs only when started by hand or through the API.',
  once: 'Pick a date and time to see when it runs.',
  interval: 'Enter how often (e.g. 5m) to see the next runs.',
  cron: 'Enter a cron expression to see the next runs.',
};

/** Date and time in `zone`; the year only when it is not this year's. */
function formatter(zone: string, seconds: boolean, year: boolean): Intl.DateTimeFormat {
  const opts: Intl.DateTimeFormatOptions = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  if (year) opts.year = 'numeric';
  if (seconds) opts.second = '2-digit';
  try {
    return new Intl.DateTimeFormat(undefined, { ...opts, timeZone: zone });
  } catch {
    return new Intl.DateTimeFormat(undefined, { ...opts, timeZone: 'UTC' });
  }
}

/** The browser's weekday and time of an instant shown in another zone. */
function localFormatter(seconds: boolean): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(seconds && { second: '2-digit' }) });
}

export function SchedulePreview({
  type,
  schedule,
  incomplete,
  clientInvalid,
  preview,
  unmapped,
}: {
  type: ScheduleType;
  schedule: Schedule | null;
  incomplete: boolean;
  clientInvalid: boolean;
  preview: SchedulePreviewState;
  /** The API's schedule errors no input stands for. */
  unmapped: FieldProblem[];
}) {
  const headingId = useId();
  const zone = schedule?.type === 'cron' ? (schedule.timezone ?? 'UTC') : BROWSER_ZONE;

  const answer = preview.answer;
  let status: string;
  let times: string[] = [];
  if (type === 'none' || incomplete) status = WHAT_IS_MISSING[type];
  else if (clientInvalid) status = 'Fix the marked fields to see the next runs.';
  else if (answer === null) status = 'Working out the next runs…';
  else if (answer.error !== null) {
    status =
      answer.error instanceof ApiError && (answer.error.problem.errors?.length ?? 0) > 0
        ? 'This schedule is not valid: see the marked fields.'
        : `No preview: ${errorText(answer.error)}`;
  } else if (answer.data) {
    status = answer.data.description;
    times = answer.data.times;
  } else status = 'Working out the next runs…';
  const showing = schedule !== null && !clientInvalid;

  const seconds = times.some((t) => new Date(t).getUTCSeconds() !== 0);
  const thisYear = new Date().getFullYear();
  const inZone = formatter(zone, seconds, times.some((t) => new Date(t).getFullYear() !== thisYear));
  const inBrowser = localFormatter(seconds);
  const showLocal = zone !== BROWSER_ZONE;

  return (
    <section className="schedule-preview" aria-labelledby={headingId} aria-busy={showing && preview.settling}>
      <h3 id={headingId}>Next runs</h3>
      <p className="preview-status" aria-live="polite">
        {status}
      </p>
      {showing && unmapped.length > 0 && (
        <ul className="field-errors">
          {unmapped.map((e) => (
            <li key={e.path + e.message}>
              <code>{e.path}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
      {times.length > 0 && (
        <>
          <ol className={`preview-times${preview.settling ? ' settling' : ''}`} aria-labelledby={headingId}>
            {times.map((t) => (
              <li key={t}>
                <time dateTime={t}>{inZone.format(new Date(t))}</time>
                <span className="muted sub">
                  {showLocal && <>{inBrowser.format(new Date(t))} your time · </>}
                  {fromNow(t)}
                </span>
              </li>
            ))}
          </ol>
          <p className="muted zone-note">
            Times in {zone}
            {zone === BROWSER_ZONE ? ' (your time zone)' : ''}.
          </p>
        </>
      )}
      {showing && answer?.data && times.length === 0 && (
        <p className="muted">It will not fire again (past its end or its last run).</p>
      )}
      {times.length === PREVIEW_COUNT && <p className="visually-hidden">Showing the next {PREVIEW_COUNT}.</p>}
    </section>
  );
}
