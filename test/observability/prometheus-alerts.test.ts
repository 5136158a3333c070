// docs/prometheus-alerts.yml matches the metrics Sundial exports: every metric an expression names
// is registered by a real registry built the way the server builds it (metrics.ts, the InfluxDB
// sink's counters, the deliverer's counter, the process metrics), and `promtool check rules`
// accepts the file where promtool is installed (scripts/install-promtool.sh).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ManualClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import { sinkCounters } from '../../src/observability/influx/sink-metrics.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { deliveryCounter } from '../../src/notify/delivery-metrics.js';

const FILE = fileURLToPath(new URL('../../docs/prometheus-alerts.yml', import.meta.url));

/** PromQL functions, operators and grouping words, and the label names used in `by (...)`. */
const PROMQL_WORDS = new Set([
  'histogram_quantile', 'rate', 'increase', 'sum', 'max', 'min', 'avg', 'count', 'abs', 'by', 'without', 'on', 'ignoring',
  'and', 'or', 'unless', 'bool', 'le', 'instance', 'type', 'job',
]);
/** Series Prometheus makes itself for every target, not exported by Sundial. */
const PROMETHEUS_SERIES = new Set(['up']);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every series name Sundial's registry exposes (histograms as their _bucket, _sum and _count). */
async function exportedNames(): Promise<Set<string>> {
  const registry = createMetrics({
    bus: new EventBus(),
    store: { countRuns: async () => ({ byStatus: {}, backlog: 0 }) },
    clock: new ManualClock(),
    load: () => ({ held: 0, running: 0, pendingWrites: 0 }),
  });
  sinkCounters(registry, 'influxdb');
  deliveryCounter(registry);
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (['histogram', 'summary'].includes(String(m.type))) for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

/** The metric names an expression reads: identifiers outside strings, label matchers and ranges that are not PromQL words. */
function metricsIn(expr: string): string[] {
  const bare = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
  const words = bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  return words.filter((w) => !PROMQL_WORDS.has(w));
}

describe('docs/prometheus-alerts.yml', () => {
  const doc = parse(readFileSync(FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  const rules = doc.groups.flatMap((g) => g.rules);

  it('names only metrics that Sundial registers', async () => {
    const exported = await exportedNames();
    assert.ok(exported.has('sundial_run_lateness_seconds_bucket'), 'the registry was built');
    assert.ok(rules.length >= 10);
    for (const rule of rules) {
      const used = metricsIn(rule.expr);
      assert.ok(used.length > 0, `${rule.alert}: no metric in ${rule.expr}`);
      for (const name of used) {
        assert.ok(exported.has(name) || PROMETHEUS_SERIES.has(name), `${rule.alert}: ${name} is not a metric Sundial exports`);
      }
    }
  });

  it('gives every rule a unique name, a severity and a summary', () => {
    assert.equal(new Set(rules.map((r) => r.alert)).size, rules.length);
    for (const r of rules) {
      assert.match(r.alert, /^Sundial[A-Za-z]+$/);
      assert.ok(['critical', 'warning'].includes(r.labels?.severity ?? ''), `${r.alert}: severity`);
      assert.ok(r.annotations?.summary, `${r.alert}: summary`);
    }
  });

  it('keeps the rules the deployment guide showed (lateness, backlog, failures, scheduler errors)', () => {
    for (const name of ['SundialRunsLate', 'SundialBacklog', 'SundialFailures', 'SundialSchedulerErrors']) assert.ok(rules.some((r) => r.alert === name), name);
  });

  it('passes promtool check rules (where promtool is installed)', (t) => {
    const which = spawnSync('sh', ['-c', 'command -v promtool || ls /usr/bin/promtool'], { encoding: 'utf8' });
    const promtool = which.stdout.trim().split('\n')[0];
    if (which.status !== 0 || !promtool) {
      t.skip('promtool is not installed (scripts/install-promtool.sh); checked by the parser above only');
      return;
    }
    const res = spawnSync(promtool, ['check', 'rules', FILE], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });
});
