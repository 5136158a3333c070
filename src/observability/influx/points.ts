// Bus events → points, with the seed's measurement, tag and field names (DESIGN.md, "Monitoring,
// InfluxDB and notifications"). Tags are only what is indexed and low in cardinality (task id,
// namespace, node); a run id is a field. Each field keeps one type in every point (InfluxDB
// refuses a batch that changes a field's type): times are RFC 3339 UTC strings, resource figures
// and durations floats, counts integers.

import type { RunTransition } from '../../core/events.js';
import type { LogLine, ResourceSample } from '../../core/types.js';
import { int, truncateUtf8, type Point } from './line-protocol.js';
import type { RunRef } from './run-index.js';
import type { ScheduleInfo } from './task-info.js';

export const MEASUREMENT = {
  schedule: 'task_schedule',
  metrics: 'task_metrics',
  logs: 'task_logs',
  node: 'sundial_node',
} as const;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * `task_schedule`: one point per run transition. `execution_time` is when the run started, or its
 * due time before it starts; the schedule fields are the task's (empty when it has none).
 */
export function schedulePoint(t: RunTransition, schedule: ScheduleInfo, time: string): Point {
  return {
    measurement: MEASUREMENT.schedule,
    tags: { namespace: t.namespace, task_id: t.taskId },
    fields: {
      task_name: t.taskName,
      execution_time: iso(t.startedAt ?? t.scheduledFor),
      task_status: t.to,
      recurrence_interval: schedule.recurrence,
      start_date: schedule.startDate,
      end_date: schedule.endDate,
      run_id: t.runId,
      attempt: int(t.attempt),
      previous_status: t.from ?? '',
      scheduled_for: iso(t.scheduledFor),
      late_ms: t.startedAt === null ? undefined : Math.max(0, t.startedAt - t.scheduledFor),
      duration_ms: t.startedAt === null || t.finishedAt === null ? undefined : Math.max(0, t.finishedAt - t.startedAt),
      reason: t.reason ?? undefined,
      error_code: t.errorCode ?? undefined,
    },
    time,
  };
}

/** CPU time over wall time between two readings, in cores (0.5: half a core); 0 when no time passed. */
export function cpuCores(fromAt: number, fromCpuMs: number, at: number, cpuMs: number): number {
  const wall = at - fromAt;
  if (!(wall > 0)) return 0;
  return Math.round((Math.max(0, cpuMs - fromCpuMs) / wall) * 10_000) / 10_000;
}

/**
 * `task_metrics`: one point per resource sample. `cpu_utilization` in cores since the run's
 * previous sample (or its start), `memory_utilization` the resident memory in bytes (at the end:
 * the run's peak), `disk_usage` the bytes written so far.
 */
export function samplePoint(ref: RunRef, runId: string, sample: ResourceSample, final: boolean, time: string): Point {
  return {
    measurement: MEASUREMENT.metrics,
    tags: { namespace: ref.namespace, task_id: ref.taskId },
    fields: {
      cpu_utilization: cpuCores(ref.lastAt, ref.lastCpuMs, sample.at, sample.cpuMs),
      memory_utilization: sample.rssBytes,
      disk_usage: sample.diskWriteBytes,
      run_id: runId,
      task_name: ref.taskName,
      cpu_ms: sample.cpuMs,
      final,
    },
    time,
  };
}

/** `task_logs`: one point per log line; a message with newlines stays one point. */
export function logPoint(ref: RunRef, runId: string, line: LogLine, seq: number, time: string): Point {
  return {
    measurement: MEASUREMENT.logs,
    tags: { namespace: ref.namespace, task_id: ref.taskId },
    fields: {
      log_message: truncateUtf8(line.message),
      log_level: line.level,
      log_timestamp: iso(line.at),
      run_id: runId,
      task_name: ref.taskName,
      seq: int(seq),
    },
    time,
  };
}

/** What a node did during one interval (sundial_node). */
export interface NodeFigures {
  intervalMs: number;
  runsStarted: number;
  runsFinished: number;
  runsFailed: number;
  /** Start minus due time of the runs started in the interval (null: none started). */
  latenessP50Ms: number | null;
  latenessP99Ms: number | null;
  latenessMaxMs: number | null;
  /** Runs due and not started, in the whole store (null: unknown, e.g. the database is away). */
  backlog: number | null;
  /** Runs this node holds claimed and waiting, and running. */
  held: number | null;
  running: number | null;
  /** This sink's buffer and what it dropped since start. */
  pointsBuffered: number;
  pointsDropped: number;
}

/** `sundial_node`: the node's and scheduler's figures, once per interval. */
export function nodePoint(node: string, f: NodeFigures, time: string): Point {
  const seconds = f.intervalMs / 1000;
  return {
    measurement: MEASUREMENT.node,
    tags: { node },
    fields: {
      runs_started: int(f.runsStarted),
      runs_finished: int(f.runsFinished),
      runs_failed: int(f.runsFailed),
      runs_per_second: seconds > 0 ? Math.round((f.runsFinished / seconds) * 1000) / 1000 : 0,
      lateness_p50_ms: f.latenessP50Ms ?? undefined,
      lateness_p99_ms: f.latenessP99Ms ?? undefined,
      lateness_max_ms: f.latenessMaxMs ?? undefined,
      backlog: f.backlog === null ? undefined : int(f.backlog),
      held: f.held === null ? undefined : int(f.held),
      running: f.running === null ? undefined : int(f.running),
      points_buffered: int(f.pointsBuffered),
      points_dropped: int(f.pointsDropped),
    },
    time,
  };
}
