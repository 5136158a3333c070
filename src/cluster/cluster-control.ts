// What the API's services ask of "the scheduler", for a node that may not run one (an API-only
// node) and whose runs may be held by other nodes: the local dispatcher where there is one, and
// a hint to the other nodes over the signal bridge where there are others.

import type { Millis } from '../core/types.js';
import type { SchedulerControl } from '../scheduler/scheduler-control.js';
import type { SignalBridge } from './signal-bridge.js';

/** SchedulerControl over this node's dispatcher (if any) and the cluster's other nodes (if any). */
export class ClusterControl implements SchedulerControl {
  constructor(
    private readonly local: SchedulerControl | null,
    private readonly bridge: SignalBridge | null,
  ) {}

  wake(dueAt: Millis): void {
    this.local?.wake(dueAt);
    this.bridge?.wake(dueAt);
  }

  /** True when this node held and stopped it; otherwise the holder is told (and also polls). */
  cancelRunning(runId: string): boolean {
    if (this.local?.cancelRunning(runId) === true) return true;
    this.bridge?.cancel([runId]);
    return false;
  }

  /** Other nodes need no word: their start of a cancelled or moved run is refused by its epoch. */
  forget(runId: string): void {
    this.local?.forget(runId);
  }
}
