// A task's schedule: in words, as written, and its next ten fire times in the schedule's zone
// and in the browser's, with daylight-saving changes marked between the times they separate.

import { useQuery } from '@tanstack/react-query';
import { Fragment, type ReactNode } from 'react';
import { client, unwrap, type Schedule } from '../../api/client';
import { ErrorMessage, Loading } from '../../components/ui';
import { browserZone, knownZone, offsetMinutes, withOffsets, zonedParts, type FireTime } from './zones';

const PREVIEW_COUNT = 10;

function RawSchedule({ schedule }: { schedule: Schedule }) {
  const rows: [string, ReactNode][] = [['Type', schedule.type]];
  if (schedule.at !== undefined) rows.push(['At', schedule.at]);
  if (schedule.every !== undefined) rows.push(['Every', schedule.every]);
  if (schedule.expression !== undefined) rows.push(['Expression', schedule.expression]);
  if (schedule.type === 'cron') rows.push(['Time zone', schedule.timezone ?? 'UTC (default)']);
  if (schedule.startAt !== undefined) rows.push(['Starts', schedule.startAt]);
  if (schedule.endAt !== undefined) rows.push(['Ends', schedule.endAt]);
  if (schedule.maxRuns !== undefined) rows.push(['At most', `${schedule.maxRuns} runs`]);
  if (schedule.jitter !== undefined) rows.push(['Jitter', `up to ${schedule.jitter}`]);
  return (
    <dl className="props">
      {rows.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>
            <code>{v}</code>
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

function shift(change: NonNullable<FireTime['change']>): string {
  const minutes = offsetMinutes(change.to) - offsetMinutes(change.from);
  const amount = Math.abs(minutes) % 60 === 0 ? `${Math.abs(minutes) / 60} h` : `${Math.abs(minutes)} min`;
  return minutes > 0 ? `clocks go forward ${amount}` : `clocks go back ${amount}`;
}

/** A fire time in the schedule's zone, and in the browser's (its date only when it differs). */
function FireCells({ iso, offset, zone, local, withSeconds }: { iso: string; offset: string; zone: string; local: string; withSeconds: boolean }) {
  const there = zonedParts(iso, zone, withSeconds);
  const here = zonedParts(iso, local, withSeconds, false);
  return (
    <>
      <td>
        <time dateTime={iso}>
          {there.day}, <strong>{there.time}</strong>
        </time>
        <span className="muted offset">{offset}</span>
      </td>
      <td>
        {here.key !== there.key && <>{here.day}, </>}
        {here.time}
      </td>
    </>
  );
}

function FireTimes({ times, zone }: { times: string[]; zone: string }) {
  const local = browserZone();
  const rows = withOffsets(times, zone);
  const withSeconds = times.some((t) => !t.endsWith(':00.000Z'));
  return (
    <div className="table-wrap">
      <table className="fire-times" aria-label="Next fire times">
        <thead>
          <tr>
            <th scope="col" className="num">
              #
            </th>
            <th scope="col">
              In the schedule's zone <span className="zone">{zone}</span>
            </th>
            <th scope="col">
              Your time <span className="zone">{local}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => [
            r.change !== null && (
              <tr key={`dst-${r.iso}`} className="dst-row">
                <td />
                <td colSpan={2}>
                  <span className="dst-marker">
                    DST: {r.change.from} → {r.change.to}
                  </span>{' '}
                  <span className="muted">({shift(r.change)} in {zone})</span>
                </td>
              </tr>
            ),
            <tr key={r.iso} data-fire-time={r.iso}>
              <td className="num muted">{i + 1}</td>
              <FireCells iso={r.iso} offset={r.offset} zone={zone} local={local} withSeconds={withSeconds} />
            </tr>,
          ])}
        </tbody>
      </table>
    </div>
  );
}

function Preview({ schedule }: { schedule: Schedule }) {
  const { data, error, isPending } = useQuery({
    queryKey: ['schedules', 'preview', schedule],
    queryFn: async ({ signal }) => unwrap(await client.POST('/v1/schedules/preview', { body: { schedule, count: PREVIEW_COUNT }, signal })),
  });
  if (isPending) return <Loading what="Working out the next fire times" />;
  if (error) return <ErrorMessage error={error} />;
  if (data.times.length === 0) return <p className="muted">It will not fire again.</p>;
  const zone = schedule.type === 'cron' ? knownZone(schedule.timezone ?? 'UTC') : 'UTC';
  return <FireTimes times={data.times} zone={zone} />;
}

/** The schedule panel of the task detail. */
export function SchedulePanel({ schedule, description }: { schedule: Schedule | null; description: string | null }) {
  return (
    <section className="panel" aria-labelledby="schedule-h">
      <h2 id="schedule-h">Schedule</h2>
      {schedule === null ? (
        <p className="muted">No schedule: the task runs only when someone runs it or schedules a one-off run.</p>
      ) : (
        <>
          <p className="schedule-words">{description}</p>
          <RawSchedule schedule={schedule} />
          <h3>Next fire times</h3>
          <Preview schedule={schedule} />
        </>
      )}
    </section>
  );
}
