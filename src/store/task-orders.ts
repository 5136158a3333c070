// The task list's sort orders, shared by the SQL stores: which column each sort reads, its
// direction, and how a cursor's sort value must look, so both backends page the same way.
import type { Task } from '../core/types.js';
import type { TaskSortValue } from './cursor.js';
import type { TaskSort } from './store.js';

/** How a task sort orders rows: by a column then the id, or (column null) by the id alone. */
export interface TaskOrder {
  column: 'name' | 'next_run_at' | 'last_run_at' | null;
  desc: boolean;
  /** The column holds times, NULL for "none" (sorted last both ways). */
  times: boolean;
  /** The cursor's sort value of a task (null for the id sorts). */
  value: (t: Task) => TaskSortValue;
}

const byId = (desc: boolean): TaskOrder => ({ column: null, desc, times: false, value: () => null });
const byName = (desc: boolean): TaskOrder => ({ column: 'name', desc, times: false, value: (t) => t.name });
const byTime = (column: 'next_run_at' | 'last_run_at', desc: boolean): TaskOrder => ({
  column,
  desc,
  times: true,
  value: (t) => (column === 'next_run_at' ? t.nextRunAt : t.lastRunAt),
});

export const TASK_ORDERS: Record<TaskSort, TaskOrder> = {
  createdAt: byId(false),
  '-createdAt': byId(true),
  name: byName(false),
  '-name': byName(true),
  nextRunAt: byTime('next_run_at', false),
  '-nextRunAt': byTime('next_run_at', true),
  lastRunAt: byTime('last_run_at', false),
  '-lastRunAt': byTime('last_run_at', true),
};

/** Whether a cursor's sort value has the type of the order's column. */
export function fits(o: TaskOrder, v: TaskSortValue): boolean {
  if (o.column === null) return v === null;
  return o.times ? v === null || typeof v === 'number' : typeof v === 'string';
}
