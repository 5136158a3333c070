// What a run used: CPU time, peak memory and disk writes, and (for runs longer than a second)
// CPU and memory over time from its samples.

import { useQuery } from '@tanstack/react-query';
import type { Run } from '../../api/client';
import { ErrorMessage } from '../../components/ui';
import { bytes, duration } from '../../format';
import { getRunMetrics, type RunSample } from './api';
import { LineChart, type Point } from './LineChart';
import { isFinished } from './statuses';

/** CPU use in percent of one core between samples (the samples' figures are cumulative). */
export function cpuPercent(samples: RunSample[], startedAt: string | null): Point[] {
  const points: Point[] = [];
  let prevT = startedAt !== null ? Date.parse(startedAt) : null;
  let prevCpu = 0;
  for (const s of samples) {
    const t = Date.parse(s.at);
    if (prevT !== null && t > prevT) points.push({ t, v: Math.max(0, ((s.cpuMs - prevCpu) / (t - prevT)) * 100) });
    prevT = t;
    prevCpu = s.cpuMs;
  }
  return points;
}

/** The resources panel of `run` (its figures refresh every 2 s while it runs). */
export function RunResources({ run }: { run: Run }) {
  const running = run.status === 'running';
  const metrics = useQuery({
    queryKey: ['run-metrics', run.id, run.status],
    queryFn: () => getRunMetrics(run.id),
    enabled: running || isFinished(run.status),
    refetchInterval: running ? 2000 : false,
  });
  const m = metrics.data;
  const samples = m?.samples ?? [];
  const cpu = cpuPercent(samples, run.startedAt);
  const rss: Point[] = samples.map((s) => ({ t: Date.parse(s.at), v: s.rssBytes }));
  // While a run goes on, the totals come at its end; its samples say how far it has got.
  const last = samples[samples.length - 1];
  const cpuMs = m?.cpuMs ?? last?.cpuMs ?? run.cpuMs;
  const peakRss = m?.peakRssBytes ?? (rss.length > 0 ? rss.reduce((max, p) => Math.max(max, p.v), 0) : run.peakRssBytes);
  const diskWrites = m?.diskWriteBytes ?? last?.diskWriteBytes ?? run.diskWriteBytes;
  return (
    <section className="panel" aria-labelledby="run-resources-title">
      <h2 id="run-resources-title">Resources</h2>
      <div className="cards resource-cards">
        <Figure label="CPU time" value={duration(cpuMs)} />
        <Figure label="Peak memory" value={bytes(peakRss)} />
        <Figure label="Disk writes" value={bytes(diskWrites)} />
      </div>
      <ErrorMessage error={metrics.error} />
      {cpu.length >= 2 || rss.length >= 2 ? (
        <div className="charts">
          {cpu.length >= 2 && <LineChart points={cpu} title="CPU (% of one core)" format={(v) => `${v.toFixed(v < 10 ? 1 : 0)}%`} className="chart-cpu" />}
          {rss.length >= 2 && <LineChart points={rss} title="Memory (RSS)" format={bytes} className="chart-mem" />}
        </div>
      ) : (
        <p className="muted">
          {run.startedAt === null
            ? 'The run has not started.'
            : running
              ? 'Samples over time appear once the run has gone on for a second.'
              : 'No samples over time: runs shorter than a second have none, and not every runner measures.'}
        </p>
      )}
    </section>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div className="card">
      <div className="label">{label}</div>
      <div className="value">{value}</div>
    </div>
  );
}
