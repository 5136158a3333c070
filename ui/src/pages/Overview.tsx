// The first page most people see: what runs now, what is late, what failed in the last hour,
// what comes next. Everything stays current from the event stream (charts at once, counts and
// lists by throttled refetches), never by reloading or polling.

import { useQuery } from '@tanstack/react-query';
import { useCallback } from 'react';
import { useSearchParams } from 'react-router';
import { useSession } from '../auth/session';
import { ErrorMessage, Loading, PageHeader } from '../components/ui';
import { useLiveConnected } from '../live/live-events';
import { LatenessChart, OutcomeChart } from './overview/charts';
import { FiringAlerts } from './overview/FiringAlerts';
import { NamespaceFilter } from './overview/NamespaceFilter';
import { NextRuns } from './overview/NextRuns';
import { statsQuery } from './overview/queries';
import { RecentFailures } from './overview/RecentFailures';
import { failuresIn } from './overview/series';
import { StatusCards } from './overview/StatusCards';
import { useOverviewLive } from './overview/useOverviewLive';
import { useRunSeries } from './overview/useRunSeries';
import './Overview.css';

/**
 * Whether the numbers on screen are live, in words (the sidebar has the dot). One status region
 * that stays in the page while its text changes, so screen readers announce both switches.
 */
function LiveState() {
  const live = useLiveConnected();
  return (
    <span className={`ov-live${live ? '' : ' ov-live-off'}`} role="status">
      <span className={`live-dot${live ? ' on' : ''}`} aria-hidden="true" />
      {live ? 'Live: updates as runs change' : 'Reconnecting: figures may be out of date'}
    </span>
  );
}

/** The Overview page. */
export function Overview() {
  const { me } = useSession();
  const [params, setParams] = useSearchParams();
  const namespace = params.get('namespace') || undefined;
  const setNamespace = useCallback(
    (ns: string | undefined) =>
      setParams(
        (p) => {
          const next = new URLSearchParams(p);
          if (ns === undefined) next.delete('namespace');
          else next.set('namespace', ns);
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );

  const stats = useQuery(statsQuery(namespace));
  const series = useRunSeries(namespace);
  useOverviewLive(namespace, series.apply);

  const namespaces = me?.namespaces ?? [];
  const several = namespaces.includes('*') || namespaces.length > 1;
  const s = stats.data;
  const data = series.query.data;

  return (
    <div className="overview">
      <PageHeader
        title="Overview"
        subtitle={<LiveState />}
        actions={several ? <NamespaceFilter namespaces={namespaces} value={namespace} onChange={setNamespace} /> : undefined}
      />
      <ErrorMessage error={stats.error} />
      <FiringAlerts namespace={namespace} />
      <StatusCards
        counts={
          s === undefined
            ? undefined
            : { ...s.runs.byStatus, backlog: s.runs.backlog, tasksActive: s.tasks.active, tasksPaused: s.tasks.paused, tasksTotal: s.tasks.total }
        }
        failures={data === undefined ? undefined : failuresIn(data)}
        sinks={s?.sinks}
      />
      <ErrorMessage error={series.query.error} />
      <div className="ov-charts">
        <section className="panel" aria-labelledby="ov-runs-chart">
          <h2 id="ov-runs-chart">Runs per minute, last hour</h2>
          <p className="ov-panel-note">Finished runs by outcome, in the minute each was due.</p>
          {data === undefined ? <ChartPlaceholder loading={series.query.isPending} /> : <OutcomeChart series={data} />}
        </section>
        <section className="panel" aria-labelledby="ov-late-chart">
          <h2 id="ov-late-chart">Start lateness</h2>
          <p className="ov-panel-note">How long after their due time runs started: median (p50) and p99.</p>
          {data === undefined ? <ChartPlaceholder loading={series.query.isPending} /> : <LatenessChart series={data} />}
        </section>
      </div>
      <div className="ov-lists">
        <RecentFailures namespace={namespace} />
        <NextRuns namespace={namespace} showNamespace={several && namespace === undefined} />
      </div>
    </div>
  );
}

/** Holds a chart's place while it loads, so nothing below jumps when it arrives. */
function ChartPlaceholder({ loading }: { loading: boolean }) {
  return <div className="ov-chart-placeholder">{loading && <Loading what="Loading the last hour" />}</div>;
}
