// The InfluxDB sink end to end: a real Sundial server writes to a real InfluxDB 1.x (Debian's
// influxd, started on loopback by test/helpers/influx.ts) and the points are read back with
// InfluxQL: one task_schedule point per transition that the server published (compared with its
// own /v1/events stream), with every field of the seed, the right types and timestamps; the
// task_metrics points of a run that lasts; a task_logs point per log line, awkward characters and
// all, equal to the run's stored log; and the node's sundial_node figures.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { InfluxWriter } from '../../src/observability/influx/influx-writer.js';
import { formatPoint, int, type Point } from '../../src/observability/influx/line-protocol.js';
import { SeriesClock } from '../../src/observability/influx/series-clock.js';
import { sinkCounters } from '../../src/observability/influx/sink-metrics.js';
import { Registry } from 'prom-client';
import { startInfluxd, type InfluxdServer } from '../helpers/influx.js';
import { ADMIN_TOKEN, eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

const DB = 'sundial_e2e';
const NODE = 'e2e-influx-node';

/** What the module task logs: spaces, commas, equals signs, quotes, backslashes, newlines, unicode. */
const AWKWARD_LINES: [string, string][] = [
  ['plain line', 'info'],
  ['spaces, commas=equals "double quotes" and \\backslashes\\', 'warn'],
  ['multi\nline\r\nmessage\n', 'error'],
  ['unicode: Zürich 日本語 🚀 ☃', 'debug'],
  ['trailing backslash \\', 'info'],
  ['task_logs,task_id=fake log_message="injected" 1', 'info'],
];

const MODULES = {
  'awkward.mjs': `
    const LINES = ${JSON.stringify(AWKWARD_LINES)};
    export default async (ctx) => {
      for (const [message, level] of LINES) ctx.log(message, level);
      if (ctx.payload && ctx.payload.holdMs) {
        const block = Buffer.alloc(32 * 1024 * 1024, 1);
        const end = Date.now() + ctx.payload.holdMs;
        while (Date.now() < end) {
          const spin = Date.now() + 20;
          while (Date.now() < spin) {}
          await new Promise((r) => setTimeout(r, 30));
        }
        return block.length;
      }
      return 'ok';
    };`,
  'fails.mjs': `export default async (ctx) => { ctx.log('about to fail'); throw new Error('boom "quoted"'); };`,
};

interface TransitionEvent {
  runId: string;
  taskId: string;
  taskName: string;
  from: string | null;
  to: string;
  at: string;
  scheduledFor: string;
  startedAt: string | null;
  attempt: number;
}

interface RunView {
  id: string;
  status: string;
  taskId: string;
  scheduledFor: string;
  startedAt: string | null;
}

let influx: InfluxdServer;
let server: ServerProcess;
const transitions: TransitionEvent[] = [];
const sse = new AbortController();
let sseDone: Promise<void> = Promise.resolve();

/** Collects run:transition events from /v1/events until aborted; resolves once the stream is open. */
async function collectTransitions(): Promise<void> {
  const res = await fetch(`${server.url}/v1/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: sse.signal });
  assert.equal(res.status, 200);
  sseDone = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let sep: number;
        while ((sep = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          let event = '';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (event === 'run:transition') transitions.push(JSON.parse(data) as TransitionEvent);
        }
      }
    } catch {
      // aborted at the end
    }
  })();
}

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);

before(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  server = await startServerProcess({
    ...makeDirs(MODULES),
    env: {
      SUNDIAL_INFLUX_URL: influx.url,
      SUNDIAL_INFLUX_DATABASE: DB,
      SUNDIAL_INFLUX_FLUSH_INTERVAL: '50ms',
      SUNDIAL_INFLUX_NODE_INTERVAL: '1s',
      SUNDIAL_NODE_ID: NODE,
    },
  });
  await collectTransitions();
});

after(async () => {
  sse.abort();
  await sseDone;
  await server?.kill('SIGTERM');
  await influx?.stop();
});

/** Runs of the scenario, created once and shared by the tests below. */
let scenario: Promise<{ awkwardId: string; failsId: string; long: RunView; short: RunView; failed: RunView }> | null = null;
function runScenario(): NonNullable<typeof scenario> {
  scenario ??= (async () => {
    const awkward = await server.api<{ id: string }>('POST', '/v1/tasks', {
      name: 'awkward',
      kind: 'module',
      spec: { file: 'awkward.mjs' },
      schedule: { type: 'interval', every: '1h', startAt: '2030-01-01T00:00:00+01:00', endAt: '2031-01-01T00:00:00Z' },
    });
    assert.equal(awkward.status, 201, JSON.stringify(awkward.body));
    const fails = await server.api<{ id: string }>('POST', '/v1/tasks', { name: 'fails', kind: 'module', spec: { file: 'fails.mjs' } });
    assert.equal(fails.status, 201);
    const started = await Promise.all([
      server.api<RunView>('POST', '/v1/tasks/awkward/runs', { payload: { holdMs: 2500 } }),
      server.api<RunView>('POST', '/v1/tasks/awkward/runs', {}),
      server.api<RunView>('POST', '/v1/tasks/fails/runs', {}),
    ]);
    for (const s of started) assert.equal(s.status, 201);
    const done = await Promise.all(
      started.map((s) =>
        eventually(async () => {
          const r = await server.api<RunView>('GET', `/v1/runs/${s.body.id}`);
          return TERMINAL.has(r.body.status) ? r.body : null;
        }, 30_000),
      ),
    );
    // The server published every transition of these runs (the stream is the reference).
    await eventually(async () => done.every((r) => transitions.some((t) => t.runId === r.id && t.to === r.status)), 10_000);
    return { awkwardId: awkward.body.id, failsId: fails.body.id, long: done[0]!, short: done[1]!, failed: done[2]! };
  })();
  return scenario;
}

const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Field types InfluxDB keeps for a measurement. */
async function fieldTypes(measurement: string): Promise<Record<string, string>> {
  const rows = await influx.rows(`SHOW FIELD KEYS FROM "${measurement}"`, DB);
  return Object.fromEntries(rows.map((r) => [r.fieldKey as string, r.fieldType as string]));
}

/** Epoch ms of an RFC 3339 time with up to nanoseconds, and the nanoseconds as a BigInt. */
function nanos(rfc: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(rfc);
  assert.ok(m, rfc);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

describe('InfluxDB 1.x sink, end to end', () => {
  it('writes one task_schedule point per published transition, with every field, its type and a unique time', async () => {
    const { awkwardId, failsId, long } = await runScenario();
    const expected = transitions.filter((t) => t.taskId === awkwardId || t.taskId === failsId);
    assert.ok(expected.length >= 8, `transitions: ${expected.length}`);
    const rows = await eventually(async () => {
      const r = await influx.rows(`SELECT * FROM task_schedule WHERE task_id = ${q(awkwardId)} OR task_id = ${q(failsId)}`, DB);
      return r.length >= expected.length ? r : null;
    }, 15_000);
    // Exactly one point per transition: the same (run, from, to) multiset, no more.
    const key = (runId: unknown, from: unknown, to: unknown): string => `${String(runId)} ${String(from || '-')}→${String(to)}`;
    assert.deepEqual(rows.map((r) => key(r.run_id, r.previous_status, r.task_status)).sort(), expected.map((t) => key(t.runId, t.from, t.to)).sort());

    for (const r of rows) {
      const t = expected.find((e) => e.runId === r.run_id && e.to === r.task_status && (e.from ?? '') === r.previous_status)!;
      assert.equal(r.task_id, t.taskId);
      assert.equal(r.namespace, 'default');
      assert.equal(r.task_name, t.taskName);
      assert.equal(r.execution_time, t.startedAt ?? t.scheduledFor, `execution_time of ${key(t.runId, t.from, t.to)}`);
      assert.equal(r.scheduled_for, t.scheduledFor);
      assert.equal(r.attempt, t.attempt);
      // The point's time is the transition's, to the millisecond (nanoseconds keep it unique).
      const ms = Number(nanos(r.time as string) / 1_000_000n);
      assert.ok(Math.abs(ms - Date.parse(t.at)) <= 1, `time ${String(r.time)} vs at ${t.at}`);
      if (t.taskId === awkwardId) {
        assert.deepEqual([r.recurrence_interval, r.start_date, r.end_date], ['1h', '2029-12-31T23:00:00.000Z', '2031-01-01T00:00:00.000Z']);
      } else {
        assert.deepEqual([r.recurrence_interval, r.start_date, r.end_date], ['', '', '']);
      }
    }
    for (const taskId of [awkwardId, failsId]) {
      const times = rows.filter((r) => r.task_id === taskId).map((r) => r.time as string);
      assert.equal(new Set(times).size, times.length, 'every point of a series has its own timestamp');
    }
    const succeeded = rows.find((r) => r.run_id === long.id && r.task_status === 'succeeded')!;
    assert.ok((succeeded.duration_ms as number) >= 2500);
    assert.equal(typeof succeeded.late_ms, 'number');
    const failed = rows.find((r) => r.task_id === failsId && r.task_status === 'failed')!;
    assert.equal(failed.error_code, 'module_threw');

    const types = await fieldTypes('task_schedule');
    const expectedTypes: Record<string, string> = {
      attempt: 'integer',
      duration_ms: 'float',
      end_date: 'string',
      error_code: 'string',
      execution_time: 'string',
      late_ms: 'float',
      previous_status: 'string',
      reason: 'string',
      recurrence_interval: 'string',
      run_id: 'string',
      scheduled_for: 'string',
      start_date: 'string',
      task_name: 'string',
      task_status: 'string',
    };
    // Every field present has its type; every field but `reason` (no transition here has one) is present.
    for (const [k, type] of Object.entries(types)) assert.equal(type, expectedTypes[k], `type of ${k}`);
    for (const k of Object.keys(expectedTypes)) if (k !== 'reason') assert.ok(k in types, `field ${k}`);
    // Tags are only what is indexed: the run id is a field.
    const tagKeys = (await influx.rows('SHOW TAG KEYS FROM task_schedule', DB)).map((r) => r.tagKey);
    assert.deepEqual(tagKeys.sort(), ['namespace', 'task_id']);
  });

  it('writes one task_logs point per log line, equal to the stored log, awkward characters and all', async () => {
    const { long, short, failed } = await runScenario();
    for (const run of [long, short, failed]) {
      const stored = await fetch(`${server.url}/v1/runs/${run.id}/logs`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const lines = (await stored.text())
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { at: string; level: string; message: string });
      assert.ok(lines.length >= 1);
      const rows = await eventually(async () => {
        const r = await influx.rows(`SELECT * FROM task_logs WHERE run_id = ${q(run.id)}`, DB);
        return r.length >= lines.length ? r : null;
      }, 15_000);
      assert.equal(rows.length, lines.length);
      assert.deepEqual(
        rows.map((r) => [r.log_message, r.log_level, r.log_timestamp, r.task_id]),
        lines.map((l) => [l.message, l.level, l.at, run.taskId]),
      );
      assert.deepEqual(rows.map((r) => r.seq), lines.map((_, i) => i));
    }
    const messages = (await influx.rows(`SELECT log_message FROM task_logs WHERE run_id = ${q(short.id)}`, DB)).map((r) => r.log_message);
    assert.deepEqual(messages, AWKWARD_LINES.map(([m]) => m));
    // The line that looks like line protocol stayed a message: no point was injected.
    assert.deepEqual(await influx.rows(`SELECT * FROM task_logs WHERE task_id = 'fake'`, DB), []);
    assert.deepEqual(await fieldTypes('task_logs'), {
      log_level: 'string',
      log_message: 'string',
      log_timestamp: 'string',
      run_id: 'string',
      seq: 'integer',
      task_name: 'string',
    });
  });

  it('writes task_metrics samples of a run that lasts (CPU in cores, memory and disk in bytes), and its totals at the end', async () => {
    const { long, short } = await runScenario();
    const rows = await eventually(async () => {
      const r = await influx.rows(`SELECT * FROM task_metrics WHERE run_id = ${q(long.id)}`, DB);
      return r.some((x) => x.final === true) ? r : null;
    }, 15_000);
    const live = rows.filter((r) => r.final === false);
    assert.ok(live.length >= 1, `live samples: ${live.length}`);
    for (const r of rows) {
      assert.equal(r.task_id, long.taskId);
      assert.ok((r.cpu_utilization as number) >= 0 && (r.cpu_utilization as number) <= 64, `cpu ${String(r.cpu_utilization)}`);
      assert.ok((r.memory_utilization as number) > 1024 * 1024, `memory ${String(r.memory_utilization)}`);
      assert.ok((r.disk_usage as number) >= 0);
    }
    // The run spins about 40 % of the time: some CPU shows in at least one sample.
    assert.ok(rows.some((r) => (r.cpu_utilization as number) > 0.05), JSON.stringify(rows.map((r) => r.cpu_utilization)));
    assert.equal(rows.filter((r) => r.final === true).length, 1);
    const short_ = await influx.rows(`SELECT * FROM task_metrics WHERE run_id = ${q(short.id)}`, DB);
    assert.ok(short_.length <= 1, 'a short run has its totals only');
    const types = await fieldTypes('task_metrics');
    assert.deepEqual([types.cpu_utilization, types.memory_utilization, types.disk_usage, types.final], ['float', 'float', 'float', 'boolean']);
  });

  it('writes the node’s figures to sundial_node, and counts what it wrote in /metrics', async () => {
    await runScenario();
    const rows = await eventually(async () => {
      const r = await influx.rows(`SELECT * FROM sundial_node WHERE node = ${q(NODE)}`, DB);
      return r.some((x) => (x.runs_started as number) > 0) ? r : null;
    }, 15_000);
    const busy = rows.find((x) => (x.runs_started as number) > 0)!;
    assert.equal(typeof busy.lateness_p99_ms, 'number');
    assert.equal(typeof busy.backlog, 'number');
    const types = await fieldTypes('sundial_node');
    assert.deepEqual([types.runs_started, types.runs_per_second, types.lateness_p99_ms, types.backlog], ['integer', 'float', 'float', 'integer']);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const written = /^sundial_sink_points_written_total\{sink="influxdb"\} (\d+)/m.exec(metrics);
    assert.ok(written && Number(written[1]) > 10, metrics.split('\n').filter((l) => l.includes('sundial_sink')).join('\n'));
    assert.match(metrics, /^sundial_sink_dropped_total\{sink="influxdb",reason="overflow"\} 0$/m);
  });

  it('answers every query of docs/grafana-dashboard.json from the written points', async () => {
    await runScenario();
    interface Panel {
      title: string;
      targets: { query: string }[];
    }
    const dash = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as {
      panels: Panel[];
      templating: { list: { query: string }[] };
    };
    // Grafana's macros, as Grafana would expand them for the last hour and every task.
    const expand = (query: string): string =>
      query.replace(/\$timeFilter/g, 'time > now() - 1h').replace(/\$__interval/g, '10s').replace(/\/\^\$task\$\//g, '/^.*$/');
    for (const panel of dash.panels) {
      let values = 0;
      for (const target of panel.targets) {
        const series = await influx.query(expand(target.query), DB);
        // A count filled with zeros shows nothing until it counts something; other values count when present.
        const shows = (x: unknown): boolean => x !== null && !(target.query.includes('count(') && x === 0);
        values += series.flatMap((s) => s.values).filter((v) => v.slice(1).some(shows)).length;
      }
      assert.ok(values > 0, `panel "${panel.title}" shows nothing`);
    }
    const tasks = await influx.rows(dash.templating.list[0]!.query, DB);
    assert.ok(tasks.length >= 2);
  });

  it('round-trips awkward names and values through the real parser', async () => {
    const db = 'sundial_escaping';
    await influx.createDatabase(db);
    const registry = new Registry();
    const w = new InfluxWriter<Point>({
      target: { url: influx.url, database: db, bucket: '', org: '', token: '' },
      batchSize: 100,
      flushIntervalMs: 10,
      maxBuffered: 1000,
      timeoutMs: 5000,
      encode: async (points) => points.map((p) => formatPoint(p)!),
      sizeOf: () => 100,
      counters: sinkCounters(registry, 'influxdb'),
      log: { info() {}, warn() {}, error() {} },
    });
    const clock = new SeriesClock();
    const values = [
      'spaces and, commas=equals',
      'double "quotes" and \\backslashes\\',
      'new\nlines\r\n and tabs\t',
      'unicode Zürich 日本語 🚀',
      '\\',
      '',
    ];
    const tagValues = ['with space', 'with,comma', 'with=equals', 'Zürich 🚀', 'C:\\dir\\file'];
    const now = Date.now();
    values.forEach((v, i) =>
      w.push({
        measurement: 'odd measurement,name',
        tags: { 'tag key,=': tagValues[i % tagValues.length]!, i: String(i) },
        fields: { 'field key, "x"=': v, n: int(i) },
        time: clock.next('odd', now),
      }),
    );
    await w.flush();
    await w.close(1000);
    assert.equal((await registry.getSingleMetric('sundial_sink_points_written_total')!.get()).values[0]!.value, values.length);
    const rows = await influx.rows('SELECT * FROM "odd measurement,name" ORDER BY time', db);
    assert.equal(rows.length, values.length);
    const byI = new Map(rows.map((r) => [Number(r.i), r]));
    values.forEach((v, i) => {
      const r = byI.get(i)!;
      assert.equal(r['field key, "x"='], v, `value ${i}`);
      assert.equal(r.n, i);
      assert.equal(r['tag key,='], tagValues[i % tagValues.length]);
    });
  });
});
