// The InfluxDB sink: bus events in, line protocol out. The bus listeners only turn an event into
// a buffered item (a few object writes) and return; the writer sends batches on its own timers,
// so a slow or dead InfluxDB never slows the scheduler (DESIGN: sinks buffer with a bound and
// report what they drop). Measurements: task_schedule (one point per run transition),
// task_metrics (per resource sample, and once at a run's end), task_logs (per log line) and
// sundial_node (this node's figures every `nodeIntervalMs`). docs/monitoring.md lists the fields.

import type client from 'prom-client';
import type { Clock } from '../../core/clock.js';
import type { EventBus, RunTransition, SundialEvents } from '../../core/events.js';
import { TERMINAL_STATUSES, type Task } from '../../core/types.js';
import { InfluxWriter, type InfluxTarget, type SinkLog } from './influx-writer.js';
import { formatPoint, type Point } from './line-protocol.js';
import { NodeStats } from './node-stats.js';
import { MEASUREMENT, logPoint, nodePoint, samplePoint, schedulePoint } from './points.js';
import { RunIndex } from './run-index.js';
import { SeriesClock } from './series-clock.js';
import { sinkCounters, type SinkCounters } from './sink-metrics.js';
import { NO_SCHEDULE, TaskInfoCache } from './task-info.js';

export interface InfluxSinkOptions {
  target: InfluxTarget;
  batchSize: number;
  flushIntervalMs: number;
  bufferSize: number;
  timeoutMs: number;
  /** How often a sundial_node point is written. */
  nodeIntervalMs: number;
  /** This node's id (the `node` tag of sundial_node). */
  node: string;
  /** Retry delays (tests shorten them). */
  backoff?: { initialMs: number; maxMs: number };
}

export interface InfluxSinkDeps {
  bus: EventBus;
  clock: Clock;
  /** The server's Prometheus registry (drops, writes and failures are counted there). */
  registry: client.Registry;
  log: SinkLog;
  /** A task by id, for the schedule fields of task_schedule (the server passes the store's). */
  lookupTask: (taskId: string) => Promise<Task | null>;
  /** Runs this node holds and runs (the dispatcher's load). */
  load?: () => { held: number; running: number };
  /** Runs due and not started in the store. */
  backlog?: () => Promise<number>;
}

/** A buffered point; task_schedule points get their schedule fields when their batch is encoded. */
type Item = { t: RunTransition; time: string } | { p: Point };

/** Points encoded per event-loop turn, so a big batch never holds the loop for long. */
const ENCODE_CHUNK = 500;
/** How long the node report waits for the store's backlog count before it goes without. */
const BACKLOG_TIMEOUT_MS = 1000;

/** Writes Sundial's measurements to InfluxDB from the bus. */
export class InfluxSink {
  readonly #o: InfluxSinkOptions;
  readonly #d: InfluxSinkDeps;
  readonly #counters: SinkCounters;
  readonly #writer: InfluxWriter<Item>;
  readonly #clock = new SeriesClock();
  readonly #runs = new RunIndex();
  readonly #tasks: TaskInfoCache;
  readonly #stats = new NodeStats();
  #unsubscribe: (() => void)[] = [];
  #nodeTimer: NodeJS.Timeout | null = null;
  #lastReport = 0;
  #reporting: Promise<void> | null = null;

  constructor(opts: InfluxSinkOptions, deps: InfluxSinkDeps) {
    this.#o = opts;
    this.#d = deps;
    this.#counters = sinkCounters(deps.registry, 'influxdb');
    this.#tasks = new TaskInfoCache({ lookup: deps.lookupTask, now: () => deps.clock.now() });
    this.#writer = new InfluxWriter<Item>({
      target: opts.target,
      batchSize: opts.batchSize,
      flushIntervalMs: opts.flushIntervalMs,
      maxBuffered: opts.bufferSize,
      timeoutMs: opts.timeoutMs,
      encode: (items) => this.#encode(items),
      sizeOf,
      counters: this.#counters,
      log: deps.log,
      ...(opts.backoff && { backoff: opts.backoff }),
    });
  }

  /** The write endpoint (its path names the API and database or bucket). */
  get endpoint(): InfluxWriter<Item>['endpoint'] {
    return this.#writer.endpoint;
  }

  /** Subscribes to the bus and starts the node reports. */
  start(): void {
    const { bus } = this.#d;
    this.#unsubscribe = [
      bus.on('run:transition', this.#onTransition),
      bus.on('run:logs', this.#onLogs),
      bus.on('run:sample', this.#onSample),
      bus.on('task:changed', (e) => this.#tasks.set(e.task)),
    ];
    this.#lastReport = this.#d.clock.now();
    this.#nodeTimer = setInterval(() => void this.#reportNode(), this.#o.nodeIntervalMs);
    this.#nodeTimer.unref();
  }

  /** Sends what is buffered now (tests; shutdown goes through stop). */
  async flush(): Promise<void> {
    await this.#writer.flush();
  }

  /**
   * Unsubscribes, writes a last node report and everything buffered within `boundMs`; what is
   * left then is dropped and counted.
   */
  async stop(boundMs: number): Promise<void> {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    if (this.#nodeTimer !== null) clearInterval(this.#nodeTimer);
    this.#nodeTimer = null;
    if (this.#reporting !== null) await this.#reporting;
    await this.#reportNode();
    await this.#writer.close(boundMs);
  }

  readonly #onTransition = (t: RunTransition): void => {
    this.#stats.record(t);
    if (t.to === 'running') {
      this.#runs.started(t.runId, { taskId: t.taskId, taskName: t.taskName, namespace: t.namespace, startedAt: t.startedAt ?? t.at });
    } else if (t.from === 'running' || TERMINAL_STATUSES.has(t.to)) {
      this.#runs.ended(t.runId);
    }
    this.#writer.push({ t, time: this.#clock.next(`s\0${t.taskId}`, t.at) });
  };

  readonly #onLogs = (e: SundialEvents['run:logs']): void => {
    const ref = this.#runs.get(e.runId);
    if (ref === undefined) {
      this.#counters.dropped('unknown_run', e.lines.length);
      return;
    }
    const series = `l\0${ref.taskId}`;
    for (let i = 0; i < e.lines.length; i++) {
      const line = e.lines[i]!;
      this.#writer.push({ p: logPoint(ref, e.runId, line, e.fromSeq + i, this.#clock.next(series, line.at)) });
    }
  };

  readonly #onSample = (e: SundialEvents['run:sample']): void => {
    const ref = this.#runs.get(e.runId);
    if (ref === undefined) {
      this.#counters.dropped('unknown_run', 1);
      return;
    }
    const s = e.sample;
    this.#writer.push({ p: samplePoint(ref, e.runId, s, e.final === true, this.#clock.next(`m\0${ref.taskId}`, s.at)) });
    ref.lastAt = s.at;
    ref.lastCpuMs = s.cpuMs;
  };

  async #reportNode(): Promise<void> {
    if (this.#reporting !== null) return;
    this.#reporting = (async () => {
      const now = this.#d.clock.now();
      const stats = this.#stats.take();
      const load = this.#d.load?.() ?? null;
      const backlog = this.#d.backlog ? await within(this.#d.backlog(), BACKLOG_TIMEOUT_MS) : null;
      const figures = {
        ...stats,
        intervalMs: now - this.#lastReport,
        backlog,
        held: load?.held ?? null,
        running: load?.running ?? null,
        pointsBuffered: this.#writer.buffered,
        pointsDropped: this.#counters.droppedTotal,
      };
      this.#lastReport = now;
      this.#writer.push({ p: nodePoint(this.#o.node, figures, this.#clock.next(`n\0${this.#o.node}`, now)) });
    })().finally(() => (this.#reporting = null));
    await this.#reporting;
  }

  async #encode(items: Item[]): Promise<string[]> {
    const taskIds = new Set<string>();
    for (const item of items) if ('t' in item) taskIds.add(item.t.taskId);
    await this.#tasks.load(taskIds);
    const lines: string[] = [];
    for (let i = 0; i < items.length; i++) {
      if (i > 0 && i % ENCODE_CHUNK === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const item = items[i]!;
      const point = 't' in item ? schedulePoint(item.t, this.#tasks.peek(item.t.taskId) ?? NO_SCHEDULE, item.time) : item.p;
      const line = formatPoint(point);
      if (line !== null) lines.push(line);
    }
    return lines;
  }
}

/** `p`'s value, or null when it fails or takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p.catch(() => null), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A buffered item's rough size in memory (the buffer's byte bound). */
function sizeOf(item: Item): number {
  if ('t' in item) return 400;
  const m = item.p.measurement === MEASUREMENT.logs ? item.p.fields.log_message : undefined;
  return 400 + (typeof m === 'string' ? m.length * 2 : 0);
}
