// What each rule kind measures, from what the store and this node's metrics already have: one
// small read per rule (an index probe or a bounded range), never a scan of history.
import { durationParam } from '../core/alert-params.js';
import type { AlertRule, Measurement } from '../core/alerts.js';
import { formatDuration } from '../core/duration.js';
import { latenessPercentile, type LatenessBucket } from '../core/lateness.js';
import type { Millis } from '../core/types.js';
import type { Store } from '../store/store.js';
import type { DropHistory } from './drop-history.js';

export interface MeasureContext {
  store: Store;
  now: Millis;
  /** A node whose heartbeat is older than this is down (its leases lapsed; cluster/node-registry.ts says the same). */
  nodeLeaseMs: number;
  /** Points the InfluxDB sink dropped, per window; null when this node has no sink. */
  drops: DropHistory | null;
}

/** Nodes that stopped beating longer ago than this drop off the node list (node-registry.ts): a named node missing from it is down. */
const NODE_LIST_MS = 3_600_000;
/** outbox_backlog counts at most this many pending notifications per evaluation. */
const OUTBOX_COUNT_CAP = 10_000;

const ago = (ms: number): string => formatDuration(Math.max(0, ms));

export async function measure(rule: AlertRule, ctx: MeasureContext): Promise<Measurement> {
  switch (rule.kind) {
    case 'consecutive_failures':
      return consecutiveFailures(rule, ctx);
    case 'retries_exhausted':
      return retriesExhausted(rule, ctx);
    case 'no_success_for':
      return noSuccessFor(rule, ctx);
    case 'lateness_p99':
      return latenessP99(rule, ctx);
    case 'backlog':
      return backlog(rule, ctx);
    case 'node_down':
      return nodeDown(rule, ctx);
    case 'sink_dropping':
      return sinkDropping(rule, ctx);
    case 'outbox_backlog':
      return outboxBacklog(rule, ctx);
  }
}

/** A rule naming a task that does not exist (deleted, renamed) watches nothing: it resolves, and says so. */
function missingTask(rule: AlertRule): Measurement {
  return { active: false, value: null, why: `task ${rule.namespace}/${rule.params.task ?? ''} does not exist` };
}

async function consecutiveFailures(rule: AlertRule, { store }: MeasureContext): Promise<Measurement> {
  const n = rule.params.n ?? 1;
  const task = await store.getTaskByName(rule.namespace, rule.params.task ?? '');
  if (task === null) return missingTask(rule);
  const recent = (await store.listRecentRuns([task.id], n)).get(task.id) ?? [];
  let streak = 0;
  while (streak < recent.length && (recent[streak]!.status === 'failed' || recent[streak]!.status === 'timed_out')) streak++;
  const name = `${task.namespace}/${task.name}`;
  if (streak >= n) return { active: true, value: streak, why: `task ${name} failed ${streak} times in a row (bound ${n})` };
  const last = recent[0];
  return { active: false, value: streak, why: last === undefined ? `task ${name} has no finished run` : `task ${name}'s last run ${last.status}` };
}

async function retriesExhausted(rule: AlertRule, { store, now }: MeasureContext): Promise<Measurement> {
  const within = durationParam(rule.params, 'within');
  let taskId: string | null = null;
  if (rule.params.task !== undefined) {
    const task = await store.getTaskByName(rule.namespace, rule.params.task);
    if (task === null) return missingTask(rule);
    taskId = task.id;
  }
  const run = await store.alerts.lastExhaustedRun(rule.namespace, taskId, now - within);
  const scope = rule.params.task === undefined ? `namespace ${rule.namespace}` : `task ${rule.namespace}/${rule.params.task}`;
  if (run === null) return { active: false, value: 0, why: `no run of ${scope} exhausted its retries in the last ${formatDuration(within)}` };
  return {
    active: true,
    value: run.finishedAt,
    why: `run ${run.runId} of task ${rule.namespace}/${run.taskName} failed with no retries left ${ago(now - run.finishedAt)} ago`,
  };
}

async function noSuccessFor(rule: AlertRule, { store, now }: MeasureContext): Promise<Measurement> {
  const bound = durationParam(rule.params, 'duration');
  const task = await store.getTaskByName(rule.namespace, rule.params.task ?? '');
  if (task === null) return missingTask(rule);
  const last = await store.alerts.lastSuccessAt(task.id);
  // A task that never succeeded is measured from its creation: a new task is not late yet.
  const age = now - (last ?? task.createdAt);
  const name = `${task.namespace}/${task.name}`;
  const what = last === null ? `has not succeeded since it was created ${ago(age)} ago` : `last succeeded ${ago(age)} ago`;
  return { active: age > bound, value: age, why: `task ${name} ${what} (bound ${formatDuration(bound)})` };
}

async function latenessP99(rule: AlertRule, { store, now }: MeasureContext): Promise<Measurement> {
  const bound = durationParam(rule.params, 'bound');
  const window = durationParam(rule.params, 'window');
  const minutes = await store.countRunsPerMinute([rule.namespace], now - window, now + 1);
  const merged = new Map<number, LatenessBucket>();
  for (const m of minutes) {
    for (const b of m.lateness) {
      const seen = merged.get(b.bucket);
      merged.set(b.bucket, seen === undefined ? { ...b } : { bucket: b.bucket, n: seen.n + b.n, maxMs: Math.max(seen.maxMs, b.maxMs) });
    }
  }
  const runs = [...merged.values()].reduce((sum, b) => sum + b.n, 0);
  const p99 = latenessPercentile([...merged.values()], 0.99);
  const where = `namespace ${rule.namespace}`;
  if (p99 === null) return { active: false, value: null, why: `no run started in ${where} in the last ${formatDuration(window)}` };
  return {
    active: p99 > bound,
    value: p99,
    why: `lateness p99 of ${where} over the last ${formatDuration(window)} is ${formatDuration(p99)} (bound ${formatDuration(bound)}, ${runs} runs)`,
  };
}

async function backlog(rule: AlertRule, { store, now }: MeasureContext): Promise<Measurement> {
  const above = rule.params.above ?? 0;
  const { backlog: n } = await store.countRuns([rule.namespace], now);
  return { active: n > above, value: n, why: `${n} runs of namespace ${rule.namespace} are due and not started (bound ${above})` };
}

async function nodeDown(rule: AlertRule, { store, now, nodeLeaseMs }: MeasureContext): Promise<Measurement> {
  const nodes = await store.listNodes(now - NODE_LIST_MS);
  const wanted = rule.params.node;
  if (wanted !== undefined && !nodes.some((n) => n.id === wanted)) {
    return { active: true, value: 1, why: `node ${wanted} has sent no heartbeat for over ${formatDuration(NODE_LIST_MS)}` };
  }
  const down = nodes.filter((n) => (wanted === undefined || n.id === wanted) && now - n.heartbeatAt > nodeLeaseMs);
  if (down.length === 0) {
    return { active: false, value: 0, why: wanted === undefined ? `all ${nodes.length} nodes are up` : `node ${wanted} is up` };
  }
  const list = down.map((n) => `${n.id} (last heartbeat ${ago(now - n.heartbeatAt)} ago)`).join(', ');
  return { active: true, value: down.length, why: `${down.length === 1 ? 'node' : `${down.length} nodes`} down: ${list}` };
}

async function sinkDropping(rule: AlertRule, { now, drops }: MeasureContext): Promise<Measurement> {
  const above = rule.params.above ?? 0;
  const window = durationParam(rule.params, 'window');
  if (drops === null) return { active: false, value: null, why: 'no InfluxDB sink on the evaluating node (SUNDIAL_INFLUX_URL unset)' };
  const n = drops.increase(now, window);
  return { active: n > above, value: n, why: `the InfluxDB sink dropped ${n} points in the last ${formatDuration(window)} (bound ${above})` };
}

async function outboxBacklog(rule: AlertRule, { store, now }: MeasureContext): Promise<Measurement> {
  const olderThan = durationParam(rule.params, 'olderThan');
  const above = rule.params.above ?? 0;
  const { count, oldest } = await store.alerts.oldPendingNotifications(now - olderThan, OUTBOX_COUNT_CAP + 1);
  const shown = count > OUTBOX_COUNT_CAP ? `more than ${OUTBOX_COUNT_CAP}` : String(count);
  if (count === 0) return { active: false, value: 0, why: `no notification has been pending for longer than ${formatDuration(olderThan)}` };
  return {
    active: count > above,
    value: count,
    why: `${shown} notifications pending for longer than ${formatDuration(olderThan)}, the oldest for ${ago(now - (oldest ?? now))} (bound ${above})`,
  };
}
