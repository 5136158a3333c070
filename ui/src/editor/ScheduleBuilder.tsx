// The schedule builder: none / once / interval / cron, with the next fire times previewed by
// the API while typing. The API's objections to the schedule being typed show next to the
// input they concern, as the objections to a submitted form do.

import { useId, useMemo } from 'react';
import { ApiError, type FieldProblem } from '../api/problem';
import { Field } from '../components/ui';
import { buildSchedule } from './build';
import { groupProblems, SCHEDULE_POINTERS } from './field-map';
import { BROWSER_ZONE, type ScheduleForm, type ScheduleType } from './model';
import { SchedulePreview } from './SchedulePreview';
import { Segmented } from './Segmented';
import { useSchedulePreview } from './schedule-preview';

const TYPES: { value: ScheduleType; label: string }[] = [
  { value: 'none', label: 'None' },
  { value: 'once', label: 'Once' },
  { value: 'interval', label: 'Interval' },
  { value: 'cron', label: 'Cron' },
];

const P = SCHEDULE_POINTERS;

/** Suggestions for the cron input (a datalist: the browser offers them, typing is never blocked). */
const CRON_EXAMPLES: [string, string][] = [
  ['*/15 * * * *', 'every 15 minutes'],
  ['0 * * * *', 'every hour'],
  ['0 9 * * *', 'every day at 09:00'],
  ['0 9 * * 1-5', 'weekdays at 09:00'],
  ['0 0 * * 0', 'Sundays at midnight'],
  ['0 0 1 * *', 'the 1st of every month'],
];

/** Time zones the browser knows, for the zone input's suggestions. */
function zoneNames(): string[] {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
  } catch {
    return ['UTC', BROWSER_ZONE];
  }
}

export function ScheduleBuilder({
  value,
  onChange,
  errors,
}: {
  value: ScheduleForm;
  onChange: (patch: Partial<ScheduleForm>) => void;
  /** The submitted form's messages per pointer. */
  errors: (pointer: string) => string[] | undefined;
}) {
  const built = useMemo(() => buildSchedule(value), [value]);
  const previewable = built.incomplete || built.errors.length > 0 ? null : built.schedule;
  const preview = useSchedulePreview(previewable);

  // What is wrong with the schedule as typed now: the browser's objections, else the API's.
  const live = useMemo(() => {
    let problems: FieldProblem[] = [];
    if (!built.incomplete) problems = built.errors;
    // An earlier input's messages do not belong on the inputs as they are now.
    const answered = preview.answerIsCurrent ? preview.answer?.error : undefined;
    if (problems.length === 0 && !built.incomplete && answered instanceof ApiError) problems = answered.problem.errors ?? [];
    return groupProblems(problems, 'http');
  }, [built, preview.answer, preview.answerIsCurrent]);

  const err = (pointer: string): string[] | undefined => {
    const all = [...(errors(pointer) ?? []), ...(live.fields[pointer] ?? [])];
    return all.length > 0 ? [...new Set(all)] : undefined;
  };
  const set = <K extends keyof ScheduleForm>(k: K) => (v: ScheduleForm[K]) => onChange({ [k]: v } as Partial<ScheduleForm>);

  return (
    <div className="schedule-builder">
      <div className="schedule-inputs">
        <Segmented legend="Repeats" options={TYPES} value={value.type} onChange={set('type')} errors={err(P.type)} />
        {value.type === 'once' && (
          <Field label="Run at" hint={`Your local time (${BROWSER_ZONE}).`} errors={err(P.at)}>
            {(ids) => <input {...ids} type="datetime-local" step={1} value={value.at} onChange={(e) => set('at')(e.target.value)} />}
          </Field>
        )}
        {value.type === 'interval' && (
          <Field label="Every" hint="A duration: 30s, 5m, 1h30m, 2d or PT5M." errors={err(P.every)}>
            {(ids) => <input {...ids} className="mono" placeholder="5m" autoComplete="off" spellCheck={false} value={value.every} onChange={(e) => set('every')(e.target.value)} />}
          </Field>
        )}
        {value.type === 'cron' && <CronFields value={value} set={set} err={err} />}
        {(value.type === 'interval' || value.type === 'cron') && (
          <div className="form-row">
            <Field label="Start (optional)" hint={value.type === 'interval' ? 'Default: one interval after saving.' : 'Your local time.'} errors={err(P.startAt)}>
              {(ids) => <input {...ids} type="datetime-local" step={1} value={value.startAt} onChange={(e) => set('startAt')(e.target.value)} />}
            </Field>
            <Field label="End (optional)" hint="Your local time." errors={err(P.endAt)}>
              {(ids) => <input {...ids} type="datetime-local" step={1} value={value.endAt} onChange={(e) => set('endAt')(e.target.value)} />}
            </Field>
          </div>
        )}
        {value.type !== 'none' && (
          <div className="form-row">
            {value.type !== 'once' && (
              <Field label="Max runs (optional)" hint="Stop after this many occurrences." errors={err(P.maxRuns)}>
                {(ids) => <input {...ids} inputMode="numeric" value={value.maxRuns} onChange={(e) => set('maxRuns')(e.target.value)} />}
              </Field>
            )}
            <Field label="Jitter (optional)" hint="Spread each run randomly over up to this long, e.g. 30s." errors={err(P.jitter)}>
              {(ids) => <input {...ids} className="mono" autoComplete="off" spellCheck={false} value={value.jitter} onChange={(e) => set('jitter')(e.target.value)} />}
            </Field>
          </div>
        )}
      </div>
      <SchedulePreview
        type={value.type}
        schedule={previewable}
        incomplete={built.incomplete}
        clientInvalid={!built.incomplete && built.errors.length > 0}
        preview={preview}
        unmapped={live.rest}
      />
    </div>
  );
}

function CronFields({
  value,
  set,
  err,
}: {
  value: ScheduleForm;
  set: <K extends keyof ScheduleForm>(k: K) => (v: ScheduleForm[K]) => void;
  err: (pointer: string) => string[] | undefined;
}) {
  const listId = useId();
  const examplesId = useId();
  const zones = useMemo(zoneNames, []);
  return (
    <div className="form-row">
      <Field label="Cron expression" hint="minute hour day-of-month month day-of-week (6 fields: seconds first), e.g. 0 9 * * 1-5" errors={err(P.expression)}>
        {(ids) => (
          <input
            {...ids}
            list={examplesId}
            className="mono"
            placeholder="*/15 * * * *"
            autoComplete="off"
            spellCheck={false}
            value={value.expression}
            onChange={(e) => set('expression')(e.target.value)}
          />
        )}
      </Field>
      <datalist id={examplesId}>
        {CRON_EXAMPLES.map(([expr, words]) => (
          <option key={expr} value={expr} label={words} />
        ))}
      </datalist>
      <Field label="Time zone" hint={`IANA name; your browser is in ${BROWSER_ZONE}.`} errors={err(P.timezone)}>
        {(ids) => (
          <>
            <input {...ids} list={listId} autoComplete="off" spellCheck={false} value={value.timezone} onChange={(e) => set('timezone')(e.target.value)} />
            <datalist id={listId}>
              {zones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </>
        )}
      </Field>
    </div>
  );
}
