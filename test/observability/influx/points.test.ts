// Bus events → points: the seed's measurements, tags and fields, with DESIGN.md's units and
// formats; the schedule fields from the task; the node's figures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunTransition } from '../../../src/core/events.js';
import type { Task } from '../../../src/core/types.js';
import { formatPoint, int } from '../../../src/observability/influx/line-protocol.js';
import { NodeStats } from '../../../src/observability/influx/node-stats.js';
import { cpuCores, logPoint, nodePoint, samplePoint, schedulePoint } from '../../../src/observability/influx/points.js';
import { RunIndex, type RunRef } from '../../../src/observability/influx/run-index.js';
import { NO_SCHEDULE, TaskInfoCache, scheduleInfo } from '../../../src/observability/influx/task-info.js';

const T0 = Date.UTC(2026, 11, 7, 20, 0, 0);

function transition(extra: Partial<RunTransition> = {}): RunTransition {
  return {
    runId: 'run_1',
    taskId: 'tsk_1',
    taskName: 'nightly-report',
    namespace: 'default',
    from: 'queued',
    to: 'running',
    at: T0 + 12,
    scheduledFor: T0,
    attempt: 2,
    startedAt: T0 + 12,
    finishedAt: null,
    reason: null,
    errorCode: null,
    ...extra,
  };
}

const ref = (): RunRef => ({ taskId: 'tsk_1', taskName: 'nightly-report', namespace: 'default', startedAt: T0, lastAt: T0, lastCpuMs: 0 });

describe('task_schedule points', () => {
  it('carries every field of the seed, the run id as a field, and only task_id and namespace as tags', () => {
    const p = schedulePoint(transition(), { recurrence: '*/10 * * * * * Europe/Berlin', startDate: '2026-12-01T00:00:00.000Z', endDate: '' }, '1');
    assert.equal(p.measurement, 'task_schedule');
    assert.deepEqual(p.tags, { namespace: 'default', task_id: 'tsk_1' });
    assert.deepEqual(p.fields, {
      task_name: 'nightly-report',
      execution_time: '2026-12-07T20:00:00.012Z',
      task_status: 'running',
      recurrence_interval: '*/10 * * * * * Europe/Berlin',
      start_date: '2026-12-01T00:00:00.000Z',
      end_date: '',
      run_id: 'run_1',
      attempt: int(2),
      previous_status: 'queued',
      scheduled_for: '2026-12-07T20:00:00.000Z',
      late_ms: 12,
      duration_ms: undefined,
      reason: undefined,
      error_code: undefined,
    });
  });

  it('uses the due time as execution_time before the run starts, and says why for skips and failures', () => {
    const created = schedulePoint(transition({ from: null, to: 'scheduled', startedAt: null, at: T0 - 5000 }), NO_SCHEDULE, '1');
    assert.equal(created.fields.execution_time, '2026-12-07T20:00:00.000Z');
    assert.equal(created.fields.previous_status, '');
    assert.equal(created.fields.late_ms, undefined);
    const failed = schedulePoint(
      transition({ from: 'running', to: 'failed', finishedAt: T0 + 1012, reason: 'lost', errorCode: 'lost' }),
      NO_SCHEDULE,
      '1',
    );
    assert.deepEqual([failed.fields.task_status, failed.fields.duration_ms, failed.fields.reason, failed.fields.error_code], ['failed', 1000, 'lost', 'lost']);
    const line = formatPoint(failed)!;
    assert.match(line, /^task_schedule,namespace=default,task_id=tsk_1 task_name="nightly-report",/);
    assert.match(line, / 1$/);
    assert.ok(line.includes(',run_id="run_1",attempt=2i,'));
  });

  it('describes schedules as the API writes them, instants in RFC 3339 UTC', () => {
    assert.deepEqual(scheduleInfo(null), { recurrence: '', startDate: '', endDate: '' });
    assert.deepEqual(scheduleInfo({ type: 'interval', every: '5m', startAt: '2026-12-01T10:00:00+01:00', endAt: '2027-01-01T00:00:00Z' }), {
      recurrence: '5m',
      startDate: '2026-12-01T09:00:00.000Z',
      endDate: '2027-01-01T00:00:00.000Z',
    });
    assert.deepEqual(scheduleInfo({ type: 'cron', expression: '*/10 * * * * *', timezone: 'Europe/Berlin' }), {
      recurrence: '*/10 * * * * * Europe/Berlin',
      startDate: '',
      endDate: '',
    });
    assert.deepEqual(scheduleInfo({ type: 'cron', expression: '0 9 * * 1' }).recurrence, '0 9 * * 1');
    assert.deepEqual(scheduleInfo({ type: 'once', at: '2026-12-24T18:00:00+01:00' }), {
      recurrence: '',
      startDate: '2026-12-24T17:00:00.000Z',
      endDate: '2026-12-24T17:00:00.000Z',
    });
  });
});

describe('task_metrics and task_logs points', () => {
  it('measures CPU in cores between samples, memory and disk in bytes', () => {
    assert.equal(cpuCores(T0, 0, T0 + 1000, 500), 0.5);
    assert.equal(cpuCores(T0, 100, T0 + 2000, 4100), 2);
    assert.equal(cpuCores(T0, 0, T0, 10), 0);
    const p = samplePoint(ref(), 'run_1', { at: T0 + 1000, cpuMs: 250, rssBytes: 52_428_800, diskWriteBytes: 4096 }, false, '7');
    assert.equal(p.measurement, 'task_metrics');
    assert.deepEqual(p.tags, { namespace: 'default', task_id: 'tsk_1' });
    assert.deepEqual(
      [p.fields.cpu_utilization, p.fields.memory_utilization, p.fields.disk_usage, p.fields.run_id, p.fields.final],
      [0.25, 52_428_800, 4096, 'run_1', false],
    );
    // Floats, always (a field's type never changes): no `i` suffix.
    assert.ok(formatPoint(p)!.includes('memory_utilization=52428800,disk_usage=4096,'));
  });

  it('writes one point per log line, newlines and all, with its level, time and place in the log', () => {
    const message = 'first line\nsecond "quoted", a=b\\c 🚀';
    const p = logPoint(ref(), 'run_1', { at: T0 + 3, level: 'warn', message }, 41, '9');
    assert.equal(p.measurement, 'task_logs');
    assert.deepEqual(p.tags, { namespace: 'default', task_id: 'tsk_1' });
    assert.deepEqual([p.fields.log_message, p.fields.log_level, p.fields.log_timestamp, p.fields.seq], [message, 'warn', '2026-12-07T20:00:00.003Z', int(41)]);
    assert.equal(
      formatPoint(p),
      'task_logs,namespace=default,task_id=tsk_1 log_message="first line\nsecond \\"quoted\\", a=b\\\\c 🚀",log_level="warn",' +
        'log_timestamp="2026-12-07T20:00:00.003Z",run_id="run_1",task_name="nightly-report",seq=41i 9',
    );
  });
});

describe('sundial_node points', () => {
  it('reports runs started, finished, failed, runs/s, lateness quantiles and the backlog', () => {
    const stats = new NodeStats();
    for (let i = 0; i < 100; i++) stats.record(transition({ runId: `r${i}`, startedAt: T0 + i, at: T0 + i }));
    stats.record(transition({ from: 'running', to: 'succeeded', finishedAt: T0 + 200 }));
    stats.record(transition({ from: 'running', to: 'failed', finishedAt: T0 + 200 }));
    stats.record(transition({ from: 'queued', to: 'cancelled' }));
    const s = stats.take();
    assert.deepEqual(s, { runsStarted: 100, runsFinished: 2, runsFailed: 1, latenessP50Ms: 49, latenessP99Ms: 98, latenessMaxMs: 99 });
    assert.deepEqual(stats.take(), { runsStarted: 0, runsFinished: 0, runsFailed: 0, latenessP50Ms: null, latenessP99Ms: null, latenessMaxMs: null });
    const p = nodePoint('node-a', { ...s, intervalMs: 1000, backlog: 5, held: 3, running: 1, pointsBuffered: 10, pointsDropped: 0 }, '1');
    assert.equal(p.measurement, 'sundial_node');
    assert.deepEqual(p.tags, { node: 'node-a' });
    assert.equal(p.fields.runs_per_second, 2);
    assert.deepEqual(p.fields.backlog, int(5));
    assert.equal(p.fields.lateness_p99_ms, 98);
  });

  it('keeps a bounded sample of lateness however many runs start', () => {
    const stats = new NodeStats({ reservoir: 64 });
    for (let i = 0; i < 100_000; i++) stats.record(transition({ startedAt: T0 + (i % 1000), at: T0 }));
    const s = stats.take();
    assert.equal(s.runsStarted, 100_000);
    assert.equal(s.latenessMaxMs, 999);
    assert.ok(s.latenessP50Ms! > 100 && s.latenessP50Ms! < 900, `p50 ${s.latenessP50Ms}`);
  });
});

describe('run index and task cache', () => {
  it('knows the task of running and lately ended runs, within its bounds', () => {
    const idx = new RunIndex({ maxRunning: 3, maxEnded: 2 });
    for (const id of ['a', 'b', 'c', 'd']) idx.started(id, { taskId: `t-${id}`, taskName: id, namespace: 'ns', startedAt: T0 });
    assert.equal(idx.get('a'), undefined); // the oldest running run made room
    assert.equal(idx.get('d')?.taskId, 't-d');
    idx.ended('b');
    idx.ended('c');
    idx.ended('d');
    assert.equal(idx.get('b'), undefined);
    assert.equal(idx.get('d')?.taskId, 't-d');
    assert.equal(idx.size, 2);
  });

  it('looks each task up once, keeps it for its TTL, and takes changes from the bus', async () => {
    let now = T0;
    const calls: string[] = [];
    const task = (id: string, every: string): Task => ({ id, schedule: { type: 'interval', every } }) as unknown as Task;
    const cache = new TaskInfoCache({
      lookup: async (id) => (calls.push(id), id === 'gone' ? null : task(id, '5m')),
      now: () => now,
      ttlMs: 1000,
    });
    await cache.load(['a', 'a', 'b', 'gone']);
    await cache.load(['a', 'b']);
    assert.deepEqual(calls.sort(), ['a', 'b', 'gone']);
    assert.equal(cache.peek('a')?.recurrence, '5m');
    assert.deepEqual(cache.peek('gone'), NO_SCHEDULE);
    cache.set(task('a', '1h'));
    assert.equal(cache.peek('a')?.recurrence, '1h');
    now += 1001;
    assert.equal(cache.peek('a'), undefined);
  });

  it('never fails a batch for a lookup that fails or hangs', async () => {
    const cache = new TaskInfoCache({
      lookup: (id) => (id === 'broken' ? Promise.reject(new Error('database away')) : new Promise(() => {})),
      now: () => T0,
      lookupTimeoutMs: 50,
    });
    const started = Date.now();
    await cache.load(['broken', 'hangs']);
    assert.ok(Date.now() - started < 1000);
    assert.equal(cache.peek('broken'), undefined);
    assert.equal(cache.peek('hangs'), undefined);
  });
});
