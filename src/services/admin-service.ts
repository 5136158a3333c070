// Read-only views for operators: the audit log, the cluster's nodes, run/task counts and runs
// per minute.

import { latenessPercentile } from '../core/lateness.js';
import type { Actor, AuditEntry, Millis, NodeState } from '../core/types.js';
import type { AuditFilter, Page, RunCounts, RunMinute } from '../store/store.js';
import { readScope } from '../auth/roles.js';
import { sinkFigures, type SinkFigures } from '../observability/sink-figures.js';
import { verifyAuditChain, type AuditVerification } from './audit-verify.js';
import type { ServiceDeps } from './deps.js';

/** Filters of an audit listing. */
export interface AuditListOptions {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  from?: Millis | undefined;
  to?: Millis | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Run and task counts. */
export interface Stats {
  at: Millis;
  runs: RunCounts;
  tasks: { total: number; active: number; paused: number };
  /** This node's sinks (admins only: a node's plumbing is no namespace's business, as for nodes). */
  sinks?: SinkFigures[];
}

/** Runs due in one minute, for the dashboard's overview. */
export interface RunMinuteStats {
  at: Millis;
  succeeded: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  skipped: number;
  /** Runs that started, whatever their status now. */
  started: number;
  /** Lateness (startedAt − scheduledFor) percentiles of the started runs; null when none started. */
  lateP50Ms: Millis | null;
  lateP99Ms: Millis | null;
}

/** Per-minute run stats over [from, to). */
export interface RunStats {
  from: Millis;
  to: Millis;
  bucketMs: number;
  /** Every minute of the window, oldest first. */
  buckets: RunMinuteStats[];
}

const MINUTE_MS = 60_000;

/** Where the nodes of the cluster are known (cluster/node-registry.ts on a server). */
export interface NodeDirectory {
  /** This node, now. */
  self(): NodeState;
  /** Every node, this one included. */
  list(): Promise<NodeState[]>;
}

/** Operator views (the routes check roles). */
export class AdminService {
  readonly #d: ServiceDeps;
  readonly #nodes: NodeDirectory;

  constructor(deps: ServiceDeps, nodes: NodeDirectory) {
    this.#d = deps;
    this.#nodes = nodes;
  }

  /** A page of audit rows, newest first as the store orders them. */
  async audit(query: AuditListOptions): Promise<Page<AuditEntry>> {
    const filter: AuditFilter = {
      namespaces: '*',
      limit: query.limit,
      ...(query.actor !== undefined && { actor: query.actor }),
      ...(query.action !== undefined && { action: query.action }),
      ...(query.target !== undefined && { targetId: query.target }),
      ...(query.from !== undefined && { from: query.from }),
      ...(query.to !== undefined && { to: query.to }),
      ...(query.cursor !== undefined && { cursor: query.cursor }),
    };
    return this.#d.store.listAudit(filter);
  }

  /** Walks the audit hash chain (audit-verify.ts), a page at a time; `expect`: a head written down earlier. */
  verifyAudit(expect?: { seq: number; hash: string }): Promise<AuditVerification> {
    return verifyAuditChain(this.#d.store.auditChain, { key: this.#d.auditKey ?? null, ...(expect !== undefined && { expect }) });
  }

  /** The cluster's nodes with their status (dead ones stay listed a while as `down`). */
  nodes(): Promise<NodeState[]> {
    return this.#nodes.list();
  }

  /** Counts of runs by status, the backlog, and tasks by status, in the key's namespaces. */
  async stats(actor: Actor, namespace?: string): Promise<Stats> {
    const now = this.#d.clock.now();
    const scope = readScope(actor, namespace);
    if (scope !== '*' && scope.length === 0) {
      return { at: now, runs: { byStatus: {}, backlog: 0 }, tasks: { total: 0, active: 0, paused: 0 } };
    }
    const [runs, tasks] = await Promise.all([this.#d.store.countRuns(scope, now), this.#d.store.countTasks(scope)]);
    const active = tasks.active ?? 0;
    const paused = tasks.paused ?? 0;
    const stats: Stats = { at: now, runs, tasks: { total: active + paused, active, paused } };
    const registry = this.#d.metricsRegistry;
    if (actor.role === 'admin' && registry !== undefined) stats.sinks = await sinkFigures(registry);
    return stats;
  }

  /**
   * Runs by the minute they were due, over the last `minutes` minutes up to the end of the
   * current one, in the key's namespaces: every minute present, empty ones as zeros.
   */
  async runStats(actor: Actor, namespace: string | undefined, minutes: number): Promise<RunStats> {
    const to = Math.floor(this.#d.clock.now() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    const from = to - minutes * MINUTE_MS;
    const scope = readScope(actor, namespace);
    const counted = scope !== '*' && scope.length === 0 ? [] : await this.#d.store.countRunsPerMinute(scope, from, to);
    const byMinute = new Map(counted.map((m) => [m.at, m]));
    const buckets: RunMinuteStats[] = [];
    for (let at = from; at < to; at += MINUTE_MS) buckets.push(minuteStats(at, byMinute.get(at)));
    return { from, to, bucketMs: MINUTE_MS, buckets };
  }
}

/** One minute's figures from the store's counts (zeros for a minute without runs). */
function minuteStats(at: Millis, m: RunMinute | undefined): RunMinuteStats {
  const count = (status: keyof RunMinute['byStatus']): number => m?.byStatus[status] ?? 0;
  const lateness = m?.lateness ?? [];
  return {
    at,
    succeeded: count('succeeded'),
    failed: count('failed'),
    timed_out: count('timed_out'),
    cancelled: count('cancelled'),
    skipped: count('skipped'),
    started: lateness.reduce((sum, b) => sum + b.n, 0),
    lateP50Ms: latenessPercentile(lateness, 0.5),
    lateP99Ms: latenessPercentile(lateness, 0.99),
  };
}
