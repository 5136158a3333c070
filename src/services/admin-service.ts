// Read-only views for operators: the audit log, the cluster's nodes and run/task counts.

import type { Actor, AuditEntry, Millis, NodeInfo } from '../core/types.js';
import type { AuditFilter, Page, RunCounts } from '../store/store.js';
import { readScope } from '../auth/roles.js';
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
}

/** Operator views (the routes check roles). */
export class AdminService {
  readonly #d: ServiceDeps;
  readonly #nodeInfo: () => NodeInfo;

  constructor(deps: ServiceDeps, nodeInfo: () => NodeInfo) {
    this.#d = deps;
    this.#nodeInfo = nodeInfo;
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

  /** Nodes that sent a heartbeat within two lease periods; this node always, fresh. */
  async nodes(): Promise<NodeInfo[]> {
    const self = this.#nodeInfo();
    const since = this.#d.clock.now() - 2 * this.#d.config.lease;
    const others = (await this.#d.store.listNodes(since)).filter((n) => n.id !== self.id);
    return [self, ...others].sort((a, b) => a.id.localeCompare(b.id));
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
    return { at: now, runs, tasks: { total: active + paused, active, paused } };
  }

}
