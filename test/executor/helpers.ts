// Shared pieces of the executor tests: jobs, the fixture tasks directory, pid checks.

import { fileURLToPath } from 'node:url';
import type { RunJob } from '../../src/executor/executor.js';

/** test/fixtures/tasks as an absolute path. */
export const FIXTURE_TASKS = fileURLToPath(new URL('../fixtures/tasks/', import.meta.url));

let seq = 0;

/** A module job for a fixture file; `over` replaces any field. */
export function moduleJob(file: string, over: Partial<RunJob> & { exportName?: string } = {}): RunJob {
  const n = ++seq;
  const { exportName, ...rest } = over;
  return {
    runId: `run-${n}`,
    taskId: 'task-1',
    taskName: 'fixture',
    namespace: 'default',
    attempt: 1,
    scheduledFor: Date.UTC(2026, 0, 1, 12, 0, 0),
    idempotencyKey: `task-1:${n}`,
    kind: 'module',
    spec: exportName === undefined ? { file } : { file, export: exportName },
    payload: null,
    timeoutMs: 10_000,
    ...rest,
  };
}

/** An http job. */
export function httpJob(spec: Record<string, unknown>, over: Partial<RunJob> = {}): RunJob {
  const n = ++seq;
  return {
    runId: `run-${n}`,
    taskId: 'task-h',
    taskName: 'http-fixture',
    namespace: 'default',
    attempt: 2,
    scheduledFor: Date.UTC(2026, 0, 1, 12, 0, 0),
    idempotencyKey: `task-h:${n}`,
    kind: 'http',
    spec: spec as unknown as RunJob['spec'],
    payload: null,
    timeoutMs: 5_000,
    ...over,
  };
}


/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pred` holds or `ms` pass; returns whether it held. */
export async function waitFor(pred: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
}
