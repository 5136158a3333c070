// The runs API calls the run pages make, with the types they answer.

import { client, unwrap, type Run } from '../../api/client';
import type { paths } from '../../api/schema';

/** Filters of GET /v1/runs, as the URL holds them ('' for none). */
export interface RunFilters {
  status: string;
  task: string;
  from: string;
  to: string;
  namespace: string;
}

/** One page of runs. */
export async function listRuns(f: RunFilters, cursor: string | undefined, limit = 50) {
  const query = {
    limit,
    ...(cursor !== undefined ? { cursor } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...(f.task ? { task: f.task } : {}),
    ...(f.from ? { from: f.from } : {}),
    ...(f.to ? { to: f.to } : {}),
    ...(f.namespace ? { namespace: f.namespace } : {}),
  };
  return unwrap(await client.GET('/v1/runs', { params: { query } }));
}
export type RunPage = Awaited<ReturnType<typeof listRuns>>;

/** One run. */
export async function getRun(id: string): Promise<Run> {
  return unwrap(await client.GET('/v1/runs/{id}', { params: { path: { id } } }));
}

/** A run's CPU, memory and disk figures with their samples. */
export async function getRunMetrics(id: string) {
  return unwrap(await client.GET('/v1/runs/{id}/metrics', { params: { path: { id } } }));
}
export type RunMetrics = Awaited<ReturnType<typeof getRunMetrics>>;
export type RunSample = RunMetrics['samples'][number];

/** One line of a run's log (the API documents one line of its JSON-lines answer). */
export type LogLine = paths['/v1/runs/{id}/logs']['get']['responses'][200]['content']['application/x-ndjson'];

/** A run's whole stored log (the API answers JSON lines). */
export async function getRunLog(id: string): Promise<LogLine[]> {
  const text = unwrap(await client.GET('/v1/runs/{id}/logs', { params: { path: { id } }, parseAs: 'text' }));
  return parseLogLines(text);
}

/** Parses JSON lines, skipping blank ones. */
export function parseLogLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogLine);
}

/** Moves a pending run to `at` (an ISO instant). */
export async function rescheduleRun(id: string, at: string): Promise<Run> {
  return unwrap(await client.POST('/v1/runs/{id}/reschedule', { params: { path: { id } }, body: { at } }));
}

/** Cancels a run (a running one stops when its node has stopped it). */
export async function cancelRun(id: string): Promise<Run> {
  return unwrap(await client.POST('/v1/runs/{id}/cancel', { params: { path: { id } } }));
}
