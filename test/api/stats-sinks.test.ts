// /v1/stats shows admins what this node's measurement sinks dropped and hold (read from the
// Prometheus counters the InfluxDB sink keeps), so the dashboard's overview can show drops without
// scraping /metrics; other roles and nodes without a sink get nothing or an empty list.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { sinkCounters } from '../../src/observability/influx/sink-metrics.js';
import { startApi } from '../helpers/api-harness.js';

interface StatsBody {
  sinks?: { sink: string; dropped: number; buffered: number }[];
}

test('admins see the influxdb sink’s drops (all reasons) and buffered points; operators and viewers see no sinks', async () => {
  const registry = new Registry();
  const counters = sinkCounters(registry, 'influxdb');
  counters.dropped('overflow', 7);
  counters.dropped('rejected', 2);
  counters.buffered(3);
  const h = await startApi({ metricsRegistry: registry });
  try {
    const res = await h.call({ method: 'GET', url: '/v1/stats' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual((res.json() as StatsBody).sinks, [{ sink: 'influxdb', dropped: 9, buffered: 3 }]);

    for (const role of ['operator', 'viewer']) {
      const key = (await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: `k-${role}`, role } })).json() as { secret: string };
      const other = await h.call({ method: 'GET', url: '/v1/stats', token: key.secret });
      assert.equal(other.statusCode, 200, other.body);
      assert.equal((other.json() as StatsBody).sinks, undefined, `${role} keys get no sinks`);
    }
  } finally {
    await h.close();
  }
});

test('a node without a sink lists none', async () => {
  const h = await startApi({ metricsRegistry: new Registry() });
  try {
    const res = await h.call({ method: 'GET', url: '/v1/stats' });
    assert.deepEqual((res.json() as StatsBody).sinks, []);
  } finally {
    await h.close();
  }
});
