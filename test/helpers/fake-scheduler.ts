// A SchedulerControl that records what the API asked of it.
import type { Millis } from '../../src/core/types.js';
import type { SchedulerControl } from '../../src/scheduler/scheduler-control.js';

/** Records every call; `cancelRunning` answers `holds` (default true). */
export class FakeScheduler implements SchedulerControl {
  readonly woken: Millis[] = [];
  readonly cancelled: string[] = [];
  readonly forgotten: string[] = [];
  holds = true;

  wake(dueAt: Millis): void {
    this.woken.push(dueAt);
  }

  cancelRunning(runId: string): boolean {
    this.cancelled.push(runId);
    return this.holds;
  }

  forget(runId: string): void {
    this.forgotten.push(runId);
  }
}
