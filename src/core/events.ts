import { EventEmitter } from 'node:events';
import type { RunErrorCode } from './run-errors.js';
import type { LogLine, Millis, ResourceSample, RunStatus, Task } from './types.js';

// The in-process event bus. Every run transition is emitted once, after it is committed;
// metrics, the SSE stream, and later the InfluxDB sink and notifications subscribe here.
// Listeners must be cheap and must not throw: the bus swallows and reports listener errors so a
// broken sink never breaks the scheduler.

/** One committed run transition (small on purpose: it is emitted on the hot path). */
export interface RunTransition {
  runId: string;
  taskId: string;
  taskName: string;
  namespace: string;
  from: RunStatus | null;
  to: RunStatus;
  at: Millis;
  scheduledFor: Millis;
  attempt: number;
  startedAt: Millis | null;
  finishedAt: Millis | null;
  /** For skips, cancels and failures with a reason (`overlap`, `misfire`, `lost`…). */
  reason: string | null;
  /** Error code of a failed/timed-out run. */
  errorCode: RunErrorCode | null;
}

export interface SundialEvents {
  'run:transition': RunTransition;
  /** Log lines a running run wrote; `fromSeq` is the index of the first in the run's whole log. */
  'run:logs': { runId: string; namespace: string; fromSeq: number; lines: LogLine[] };
  /**
   * A resource sample of a long run (about once a second), and one with `final` when a run ends
   * with its totals (then `rssBytes` is the run's peak).
   */
  'run:sample': { runId: string; namespace: string; sample: ResourceSample; final?: boolean };
  'task:changed': { action: 'created' | 'updated' | 'deleted' | 'paused' | 'resumed'; task: Task; at: Millis };
  /** The dispatcher's timer fired later than asked (event loop blocked or clock jump). */
  'scheduler:tick:overdue': { expectedAt: Millis; firedAt: Millis };
  'scheduler:claimed': { count: number; at: Millis };
  'scheduler:error': { where: string; error: Error };
  /** An API key was revoked on this node (every node's auth cache must forget it). */
  'api-key:revoked': { id: string; at: Millis };
  /** Another node revoked a key (relayed): this node's open streams of that key must end. */
  'cluster:api-key:revoked': { id: string; at: Millis };
  // The same events as they happened on another node of the cluster, relayed over the database's
  // signals while someone here listens (SSE, log follow). Kept apart from the local ones so that
  // metrics and sinks, which every node feeds with its own runs, never count a run twice.
  'cluster:run:transition': RunTransition;
  'cluster:run:logs': SundialEvents['run:logs'];
  'cluster:task:changed': SundialEvents['task:changed'];
  /** This node could not renew its leases in time and stopped its runs (others take them over). */
  'scheduler:fenced': { at: Millis; running: number; held: number };
  /** The database answered again after this node fenced itself; its runs were handed back. */
  'scheduler:unfenced': { at: Millis };
  /** The database became unreachable or reachable again (cluster mode). */
  'database:state': { reachable: boolean; at: Millis; error: string | null };
  /** This node's clock differs from the database's by `skewMs` (measured at each heartbeat). */
  'cluster:skew': { skewMs: number; rttMs: number; at: Millis };
  'pool:child:exit': { pid: number; code: number | null; signal: string | null; expected: boolean };
  /** What a worker pool's child printed outside any run (a task's top-level code, a crash report). */
  'pool:child:output': { pool: string; pid: number; text: string };
  /** Something a worker pool handled but the operator should know (a sink threw, a child was killed for its memory). */
  'pool:warning': { pool: string; pid: number | null; message: string; error: Error | null };
  'bus:listener:error': { event: string; error: Error };
}

export type EventName = keyof SundialEvents;

/** A typed wrapper around EventEmitter whose listeners cannot break the emitter. */
export class EventBus {
  readonly #ee = new EventEmitter();

  constructor() {
    this.#ee.setMaxListeners(100);
  }

  on<E extends EventName>(event: E, listener: (payload: SundialEvents[E]) => void): () => void {
    const wrapped = (payload: SundialEvents[E]): void => {
      try {
        listener(payload);
      } catch (err) {
        if (event !== 'bus:listener:error') {
          this.emit('bus:listener:error', { event, error: err instanceof Error ? err : new Error(String(err)) });
        }
      }
    };
    this.#ee.on(event, wrapped);
    return () => this.#ee.off(event, wrapped);
  }

  emit<E extends EventName>(event: E, payload: SundialEvents[E]): void {
    this.#ee.emit(event, payload);
  }

  /** True when someone listens (lets hot paths skip building payloads nobody reads). */
  has(event: EventName): boolean {
    return this.#ee.listenerCount(event) > 0;
  }
}
