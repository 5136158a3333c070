// The sink on a bus: each event becomes its point (one per transition, per sample, per log line),
// the schedule fields come from the task (looked up once, then from task:changed), log lines and
// samples find their task through the run, and the node reports its figures. Written to a
// loopback HTTP receiver; the real InfluxDB reads them back in test/e2e/influx-sink.test.ts.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { systemClock } from '../../../src/core/clock.js';
import { EventBus, type RunTransition } from '../../../src/core/events.js';
import type { Task } from '../../../src/core/types.js';
import { InfluxSink } from '../../../src/observability/influx/influx-sink.js';

let server: Server;
let url = '';
let bodies: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(gunzipSync(Buffer.concat(chunks)).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const quiet = { info() {}, warn() {}, error() {} };

function sink(lookups: string[], extra: { backlog?: () => Promise<number> } = {}) {
  const bus = new EventBus();
  const registry = new Registry();
  const s = new InfluxSink(
    {
      target: { url, database: 'sundial', bucket: '', org: '', token: '' },
      batchSize: 1000,
      flushIntervalMs: 20,
      bufferSize: 10_000,
      timeoutMs: 2000,
      nodeIntervalMs: 60_000,
      node: 'node a',
    },
    {
      bus,
      clock: systemClock,
      registry,
      log: quiet,
      lookupTask: async (id) => {
        lookups.push(id);
        return { id, schedule: { type: 'cron', expression: '*/10 * * * * *', timezone: 'Europe/Berlin', startAt: '2026-01-01T00:00:00+01:00' } } as unknown as Task;
      },
      load: () => ({ held: 4, running: 2 }),
      ...extra,
    },
  );
  s.start();
  return { bus, registry, s };
}

function t(runId: string, from: RunTransition['from'], to: RunTransition['to'], at: number, extra: Partial<RunTransition> = {}): RunTransition {
  return {
    runId,
    taskId: 'tsk_1',
    taskName: 'report',
    namespace: 'default',
    from,
    to,
    at,
    scheduledFor: 1_000,
    attempt: 1,
    startedAt: to === 'running' || from === 'running' ? 1_005 : null,
    finishedAt: from === 'running' ? 3_005 : null,
    reason: null,
    errorCode: null,
    ...extra,
  };
}

const MEASUREMENT_START = /^(?=(?:task_schedule|task_metrics|task_logs|sundial_node)[, ])/m;

/** Points of one measurement in the written bodies (a log message may hold newlines: split at points, not lines). */
function written(measurement: string): string[] {
  return bodies
    .join('')
    .split(MEASUREMENT_START)
    .map((p) => p.replace(/\n$/, ''))
    .filter((p) => p.startsWith(`${measurement},`) || p.startsWith(`${measurement} `));
}

describe('the InfluxDB sink', () => {
  it('writes one task_schedule point per transition, with the task’s schedule looked up once', async () => {
    bodies = [];
    const lookups: string[] = [];
    const { bus, s } = sink(lookups);
    bus.emit('run:transition', t('r1', null, 'scheduled', 900));
    bus.emit('run:transition', t('r1', 'scheduled', 'queued', 950));
    bus.emit('run:transition', t('r1', 'queued', 'running', 1_005));
    bus.emit('run:transition', t('r1', 'running', 'succeeded', 3_005));
    await s.flush();
    const points = written('task_schedule');
    assert.equal(points.length, 4);
    assert.deepEqual(lookups, ['tsk_1']);
    assert.deepEqual(points.map((p) => /task_status="(\w+)"/.exec(p)?.[1]), ['scheduled', 'queued', 'running', 'succeeded']);
    for (const p of points) {
      assert.match(p, /^task_schedule,namespace=default,task_id=tsk_1 task_name="report",execution_time="1970-01-01T00:00:0\d\.\d{3}Z",task_status="\w+",/);
      assert.ok(p.includes('recurrence_interval="*/10 * * * * * Europe/Berlin",start_date="2025-12-31T23:00:00.000Z",end_date="",run_id="r1"'), p);
    }
    // Each point its own nanosecond timestamp.
    const times = points.map((p) => p.split(' ').at(-1));
    assert.equal(new Set(times).size, 4);
    await s.stop(1000);
  });

  it('takes schedule changes from task:changed without asking the store', async () => {
    bodies = [];
    const lookups: string[] = [];
    const { bus, s } = sink(lookups);
    bus.emit('task:changed', { action: 'updated', at: 1, task: { id: 'tsk_1', schedule: { type: 'interval', every: '30s' } } as unknown as Task });
    bus.emit('run:transition', t('r2', null, 'scheduled', 900));
    await s.flush();
    assert.deepEqual(lookups, []);
    assert.ok(written('task_schedule')[0]!.includes('recurrence_interval="30s",start_date="",end_date=""'));
    await s.stop(1000);
  });

  it('writes log lines and samples under the task of their run; lines of unknown runs are counted as dropped', async () => {
    bodies = [];
    const { bus, registry, s } = sink([]);
    bus.emit('run:transition', t('r3', 'queued', 'running', 1_005));
    bus.emit('run:logs', {
      runId: 'r3',
      namespace: 'default',
      fromSeq: 0,
      lines: [
        { at: 1_100, level: 'info', message: 'plain' },
        { at: 1_100, level: 'error', message: 'multi\nline "quoted" \\ Zürich 🚀' },
      ],
    });
    bus.emit('run:sample', { runId: 'r3', namespace: 'default', sample: { at: 2_005, cpuMs: 500, rssBytes: 1_000_000, diskWriteBytes: 10 } });
    bus.emit('run:sample', { runId: 'r3', namespace: 'default', sample: { at: 3_005, cpuMs: 1_500, rssBytes: 2_000_000, diskWriteBytes: 20 }, final: true });
    bus.emit('run:transition', t('r3', 'running', 'failed', 3_006, { errorCode: 'module_threw' }));
    bus.emit('run:logs', { runId: 'nobody', namespace: 'default', fromSeq: 0, lines: [{ at: 1, level: 'info', message: 'x' }] });
    await s.flush();
    const text = bodies.join('');
    assert.ok(text.includes('task_logs,namespace=default,task_id=tsk_1 log_message="plain",log_level="info",log_timestamp="1970-01-01T00:00:01.100Z",run_id="r3",task_name="report",seq=0i '));
    assert.ok(text.includes('log_message="multi\nline \\"quoted\\" \\\\ Zürich 🚀",log_level="error",log_timestamp="1970-01-01T00:00:01.100Z",run_id="r3",task_name="report",seq=1i '));
    const metrics = written('task_metrics');
    assert.equal(metrics.length, 2);
    assert.match(metrics[0]!, /^task_metrics,namespace=default,task_id=tsk_1 cpu_utilization=0.5,memory_utilization=1000000,disk_usage=10,run_id="r3",task_name="report",cpu_ms=500,final=false \d+$/);
    assert.match(metrics[1]!, /cpu_utilization=1,memory_utilization=2000000,disk_usage=20,.*final=true \d+$/);
    assert.ok(text.includes('error_code="module_threw"'));
    const dropped = (await registry.getSingleMetric('sundial_sink_dropped_total')!.get()).values.find((v) => v.labels.reason === 'unknown_run');
    assert.equal(dropped?.value, 1);
    await s.stop(1000);
  });

  it('reports the node’s figures, and a last time when it stops', async () => {
    bodies = [];
    const { bus, s } = sink([], { backlog: async () => 7 });
    bus.emit('run:transition', t('r4', 'queued', 'running', 1_005));
    bus.emit('run:transition', t('r4', 'running', 'succeeded', 3_005));
    await s.stop(1000);
    const node = written('sundial_node');
    assert.equal(node.length, 1);
    assert.match(node[0]!, /^sundial_node,node=node\\ a runs_started=1i,runs_finished=1i,runs_failed=0i,runs_per_second=[\d.]+,lateness_p50_ms=5,lateness_p99_ms=5,lateness_max_ms=5,backlog=7i,held=4i,running=2i,points_buffered=\d+i,points_dropped=0i \d+$/);
  });
});
