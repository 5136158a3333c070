// Prometheus metrics, fed by the event bus (never called from the hot path directly).
// Labels stay low-cardinality (status, reason): task names would make one series per task.

import client from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../core/events.js';
import type { Millis, NamespaceScope, RunCounts } from '../core/types.js';

export interface MetricsSources {
  bus: EventBus;
  store: { countRuns(namespaces: NamespaceScope, now: Millis): Promise<RunCounts> };
  clock: Clock;
  /** In-memory load of the local dispatcher. */
  load: () => { held: number; running: number; pendingWrites: number };
}

const LATENESS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** Creates the registry with Sundial's metrics and process metrics, subscribed to the bus. */
export function createMetrics(src: MetricsSources): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'sundial_' });

  const transitions = new client.Counter({
    name: 'sundial_run_transitions_total',
    help: 'Run state transitions, by the state entered (and reason for skips, cancels and failures).',
    labelNames: ['status', 'reason'] as const,
    registers: [registry],
  });
  const lateness = new client.Histogram({
    name: 'sundial_run_lateness_seconds',
    help: 'Start time minus due time of each run that started.',
    buckets: LATENESS_BUCKETS,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'sundial_run_duration_seconds',
    help: 'Finish minus start of each run that ran.',
    labelNames: ['status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const errors = new client.Counter({
    name: 'sundial_scheduler_errors_total',
    help: 'Errors caught by background loops, by where they happened.',
    labelNames: ['where'] as const,
    registers: [registry],
  });
  const overdue = new client.Counter({
    name: 'sundial_scheduler_overdue_ticks_total',
    help: 'Dispatcher timers that fired more than 100 ms late (event loop blocked or clock jump).',
    registers: [registry],
  });
  const childExits = new client.Counter({
    name: 'sundial_pool_child_exits_total',
    help: 'Worker processes that exited, by whether it was expected.',
    labelNames: ['expected'] as const,
    registers: [registry],
  });
  new client.Gauge({
    name: 'sundial_runs_backlog',
    help: 'Runs due now or earlier that have not started (scheduled or queued).',
    registers: [registry],
    async collect() {
      // While the database is away the last value stays: a scrape must not fail with it.
      const counts = await src.store.countRuns('*', src.clock.now()).catch(() => null);
      if (counts !== null) this.set(counts.backlog);
    },
  });
  const byStatus = new client.Gauge({
    name: 'sundial_runs',
    help: 'Runs in the store, by status.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await src.store.countRuns('*', src.clock.now()).catch(() => null);
      if (counts === null) return;
      byStatus.reset();
      for (const [status, n] of Object.entries(counts.byStatus)) byStatus.set({ status }, n ?? 0);
    },
  });
  new client.Gauge({
    name: 'sundial_dispatcher_runs',
    help: 'Runs this node holds in memory: claimed and waiting (held), executing (running).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const l = src.load();
      this.set({ state: 'held' }, l.held);
      this.set({ state: 'running' }, l.running);
      this.set({ state: 'pending_writes' }, l.pendingWrites);
    },
  });

  // Label children are looked up once per label set: hashing a label object on every one of
  // three transitions per run costs measurable time at 30,000 runs a second.
  const transitionChild = new Map<string, client.Counter.Internal>();
  const durationChild = new Map<string, client.Histogram.Internal<'status'>>();
  src.bus.on('run:transition', (t) => {
    const reason = t.reason ?? '';
    const key = `${t.to}\u0000${reason}`;
    let counter = transitionChild.get(key);
    if (counter === undefined) transitionChild.set(key, (counter = transitions.labels({ status: t.to, reason })));
    counter.inc();
    if (t.to === 'running' && t.startedAt !== null) {
      lateness.observe(Math.max(0, t.startedAt - t.scheduledFor) / 1000);
    } else if (t.startedAt !== null && t.finishedAt !== null && t.from === 'running') {
      let hist = durationChild.get(t.to);
      if (hist === undefined) durationChild.set(t.to, (hist = duration.labels({ status: t.to })));
      hist.observe(Math.max(0, t.finishedAt - t.startedAt) / 1000);
    }
  });
  const databaseUp = new client.Gauge({
    name: 'sundial_database_up',
    help: '1 while this node reaches its database (cluster mode; always 1 on SQLite).',
    registers: [registry],
  });
  databaseUp.set(1);
  const skew = new client.Gauge({
    name: 'sundial_clock_skew_seconds',
    help: "The database's clock minus this node's, measured at each heartbeat (cluster mode).",
    registers: [registry],
  });
  const fences = new client.Counter({
    name: 'sundial_fenced_total',
    help: 'Times this node could not renew its leases in time and stopped its runs.',
    registers: [registry],
  });
  src.bus.on('database:state', (e) => databaseUp.set(e.reachable ? 1 : 0));
  src.bus.on('cluster:skew', (e) => skew.set(e.skewMs / 1000));
  src.bus.on('scheduler:fenced', () => fences.inc());
  src.bus.on('scheduler:error', (e) => errors.inc({ where: e.where }));
  src.bus.on('scheduler:tick:overdue', () => overdue.inc());
  src.bus.on('pool:child:exit', (e) => childExits.inc({ expected: String(e.expected) }));
  return registry;
}
