// The sink through InfluxDB's 2.x write API (/api/v2/write with org, bucket and a token), end to
// end against a real VictoriaMetrics (Debian's victoria-metrics on loopback), which takes that
// API and keeps each numeric field as a series `<measurement>_<field>` labelled with the tags.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startVictoriaMetrics, type VictoriaServer, type VmSeries } from '../helpers/influx.js';
import { eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

const NODE = 'e2e-vm-node';
let vm: VictoriaServer;
let server: ServerProcess;

before(async () => {
  vm = await startVictoriaMetrics();
  server = await startServerProcess({
    ...makeDirs({
      'work.mjs': `export default async (ctx) => { ctx.log('working on ' + ctx.run.id); ctx.log('two\\nlines'); return 1; };`,
      'fails.mjs': `export default async () => { throw new Error('no'); };`,
    }),
    env: {
      SUNDIAL_INFLUX_URL: vm.url,
      SUNDIAL_INFLUX_BUCKET: 'sundial',
      SUNDIAL_INFLUX_ORG: 'acme',
      SUNDIAL_INFLUX_TOKEN: 'not-checked-by-victoria-metrics',
      SUNDIAL_INFLUX_FLUSH_INTERVAL: '50ms',
      SUNDIAL_INFLUX_NODE_INTERVAL: '1s',
      SUNDIAL_NODE_ID: NODE,
    },
  });
});

after(async () => {
  await server?.kill('SIGTERM');
  await vm?.stop();
});

const TERMINAL = new Set(['succeeded', 'failed']);
const samples = (series: VmSeries[]): number => series.reduce((n, s) => n + s.values.length, 0);

it('writes task_schedule, task_metrics, task_logs and sundial_node through /api/v2/write', async () => {
  const work = await server.api<{ id: string }>('POST', '/v1/tasks', { name: 'work', kind: 'module', spec: { file: 'work.mjs' } });
  const fails = await server.api<{ id: string }>('POST', '/v1/tasks', { name: 'fails', kind: 'module', spec: { file: 'fails.mjs' } });
  assert.equal(work.status, 201);
  assert.equal(fails.status, 201);
  // One after the other, so the points of different runs fall in different milliseconds
  // (VictoriaMetrics keeps milliseconds).
  for (const task of ['work', 'work', 'work', 'work', 'work', 'fails']) {
    const r = await server.api<{ id: string }>('POST', `/v1/tasks/${task}/runs`, {});
    assert.equal(r.status, 201);
    await eventually(async () => TERMINAL.has((await server.api<{ status: string }>('GET', `/v1/runs/${r.body.id}`)).body.status), 20_000);
  }

  // Each run: created (scheduled), claimed (queued), started (running), ended: up to four
  // task_schedule points, some of which may share a millisecond.
  const attempts = await eventually(async () => {
    await vm.flush();
    const s = await vm.export(`task_schedule_attempt{task_id="${work.body.id}"}`);
    return samples(s) >= 10 ? s : null;
  }, 20_000, 250);
  assert.ok(samples(attempts) <= 20, `${samples(attempts)} samples`);
  for (const s of attempts) {
    assert.equal(s.metric.__name__, 'task_schedule_attempt');
    assert.equal(s.metric.task_id, work.body.id);
    assert.equal(s.metric.namespace, 'default');
    assert.equal(s.metric.run_id, undefined, 'the run id is a field, never a label');
    assert.ok(s.values.every((v) => v === 1));
  }
  // The last runs' points may still be on their way (the sink sends by size and by time).
  const exported = (query: string, enough: (s: VmSeries[]) => boolean): Promise<VmSeries[]> =>
    eventually(async () => {
      await vm.flush();
      const s = await vm.export(query);
      return enough(s) ? s : null;
    }, 15_000, 250).catch(() => vm.export(query));
  const failed = await exported(`task_schedule_attempt{task_id="${fails.body.id}"}`, (s) => samples(s) >= 3);
  assert.ok(samples(failed) >= 3);
  const cpu = await exported(`task_metrics_cpu_utilization{task_id="${work.body.id}"}`, (s) => samples(s) >= 5);
  const memory = await exported(`task_metrics_memory_utilization{task_id="${work.body.id}"}`, (s) => samples(s) >= 5);
  assert.ok(samples(cpu) >= 5 && samples(memory) >= 5, `metrics: ${samples(cpu)} cpu, ${samples(memory)} memory samples`);
  assert.ok(memory.every((s) => s.values.every((v) => v > 0)));
  const seq = await exported(`task_logs_seq{task_id="${work.body.id}"}`, (s) => samples(s) >= 5);
  assert.ok(samples(seq) >= 5, `log lines: ${samples(seq)}`);
  const node = await eventually(async () => {
    await vm.flush();
    const s = await vm.export(`sundial_node_runs_started{node="${NODE}"}`);
    return s.length > 0 && samples(s) > 0 ? s : null;
  }, 15_000, 250);
  assert.ok(node.length >= 1);
  // The 2.x API was used (the server says so at start; VictoriaMetrics answers both alike).
  const started = server.output.find((l) => l.includes('writing measurements to InfluxDB'));
  assert.ok(started !== undefined);
  assert.deepEqual(
    [JSON.parse(started).api, JSON.parse(started).path],
    ['v2', '/api/v2/write'],
  );

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^sundial_sink_dropped_total\{sink="influxdb",reason="overflow"\} 0$/m);
  assert.doesNotMatch(metrics, /sundial_sink_dropped_total\{sink="influxdb",reason="rejected"\}/);
});
