// What `task_schedule` points say about a run's task beyond the transition itself: its schedule
// as the seed's `recurrence_interval`, `start_date` and `end_date`. Transitions carry only the
// task's id and name (they are emitted on the hot path), so the schedule comes from a cache fed
// by the bus's `task:changed` events and, for tasks not seen change since start-up, from a lookup
// the server injects (backed by the store). Entries expire, so a change made on another node of a
// cluster shows up within the TTL.

import { readInstant } from '../../core/schedule/instant.js';
import type { Millis, Schedule, Task } from '../../core/types.js';

/** The schedule fields of a `task_schedule` point; empty strings where the task has none. */
export interface ScheduleInfo {
  /** The schedule as the API writes it: `5m`, `*\/10 * * * * * Europe/Berlin`; empty for one-off runs. */
  recurrence: string;
  /** RFC 3339 UTC: the schedule's `startAt` (a `once` schedule: its `at`). */
  startDate: string;
  /** RFC 3339 UTC: the schedule's `endAt` (a `once` schedule: its `at`). */
  endDate: string;
}

export const NO_SCHEDULE: ScheduleInfo = Object.freeze({ recurrence: '', startDate: '', endDate: '' });

/** An instant as RFC 3339 UTC; a text that does not parse is kept as written. */
function utc(text: string | undefined): string {
  if (text === undefined || text === '') return '';
  const ms = readInstant(text);
  return typeof ms === 'number' ? new Date(ms).toISOString() : text;
}

/** The seed's schedule fields for a task's schedule. */
export function scheduleInfo(schedule: Schedule | null): ScheduleInfo {
  if (schedule === null) return NO_SCHEDULE;
  switch (schedule.type) {
    case 'once': {
      const at = utc(schedule.at);
      return { recurrence: '', startDate: at, endDate: at };
    }
    case 'interval':
      return { recurrence: schedule.every, startDate: utc(schedule.startAt), endDate: utc(schedule.endAt) };
    case 'cron':
      return {
        recurrence: schedule.timezone ? `${schedule.expression} ${schedule.timezone}` : schedule.expression,
        startDate: utc(schedule.startAt),
        endDate: utc(schedule.endAt),
      };
  }
}

export interface TaskInfoCacheOptions {
  /** Looks a task up by id (null: no such task). */
  lookup: (taskId: string) => Promise<Task | null>;
  now: () => Millis;
  /** How long an entry is trusted (default 60 s). */
  ttlMs?: number;
  /** Entries kept at most (default 10,000; the oldest go first). */
  maxEntries?: number;
  /** How long one lookup may take before the point goes without (default 2 s). */
  lookupTimeoutMs?: number;
}

interface Entry {
  info: ScheduleInfo;
  at: Millis;
}

/** Schedule fields per task id: from `task:changed` events, else looked up and kept for a while. */
export class TaskInfoCache {
  readonly #o: Required<TaskInfoCacheOptions>;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: TaskInfoCacheOptions) {
    this.#o = { ttlMs: 60_000, maxEntries: 10_000, lookupTimeoutMs: 2000, ...opts };
  }

  /** Records a task as it is now (from a `task:changed` event). */
  set(task: Task): void {
    this.#put(task.id, scheduleInfo(task.schedule));
  }

  /** The cached fields, or undefined when unknown or expired. */
  peek(taskId: string): ScheduleInfo | undefined {
    const e = this.#entries.get(taskId);
    if (e === undefined) return undefined;
    if (this.#o.now() - e.at > this.#o.ttlMs) {
      this.#entries.delete(taskId);
      return undefined;
    }
    return e.info;
  }

  /**
   * Makes sure every id in `taskIds` is cached, looking up the missing ones at once. Never
   * rejects: a failed or slow lookup leaves that task without schedule fields (empty strings).
   */
  async load(taskIds: Iterable<string>): Promise<void> {
    const missing = new Set<string>();
    for (const id of taskIds) if (this.peek(id) === undefined) missing.add(id);
    if (missing.size === 0) return;
    await Promise.all(
      [...missing].map(async (id) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const task = await Promise.race([
            this.#o.lookup(id),
            new Promise<undefined>((resolve) => {
              timer = setTimeout(() => resolve(undefined), this.#o.lookupTimeoutMs);
            }),
          ]);
          if (task === undefined) return; // too slow: try again with the next batch
          this.#put(id, task === null ? NO_SCHEDULE : scheduleInfo(task.schedule));
        } catch {
          // The store is away: these points go without schedule fields; the next batch asks again.
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  #put(taskId: string, info: ScheduleInfo): void {
    this.#entries.delete(taskId);
    if (this.#entries.size >= this.#o.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(taskId, { info, at: this.#o.now() });
  }
}
