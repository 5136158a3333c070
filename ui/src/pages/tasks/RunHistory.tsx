// A task's runs, newest due first, a page at a time. Live transitions patch the rows on screen
// at once; a throttled refetch then brings new runs and the figures only the server knows.

import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { client, unwrap, type Run } from '../../api/client';
import { ErrorMessage, Loading, Pager, StatusBadge, Time, useCursorPager } from '../../components/ui';
import { duration } from '../../format';
import { useLiveEvents, type RunTransitionEvent } from '../../live/live-events';
import { applyTransition } from '../../live/applyTransition';
import { useThrottled } from '../../live/useThrottled';

const PAGE_SIZE = 20;
const REFRESH_MS = 1000;

interface RunPage {
  items: Run[];
  nextCursor: string | null;
}

/** The query key prefix of a task's run pages. */
export function taskRunsKey(taskId: string): unknown[] {
  return ['runs', 'list', { task: taskId }];
}

function patch(page: RunPage, events: RunTransitionEvent[]): RunPage {
  const latest = new Map(events.map((e) => [e.runId, e]));
  let changed = false;
  const items = page.items.map((r) => {
    const e = latest.get(r.id);
    if (e === undefined || e.to === r.status) return r;
    changed = true;
    return applyTransition(r, e);
  });
  return changed ? { ...page, items } : page;
}

/** Keeps the task's run pages current from the event stream. */
function useLiveRuns(taskId: string, onRunEvent: () => void) {
  const queryClient = useQueryClient();
  const refetch = useThrottled(() => {
    void queryClient.invalidateQueries({ queryKey: taskRunsKey(taskId) });
    onRunEvent();
  }, REFRESH_MS);
  useLiveEvents((batch) => {
    const mine = batch.filter((e): e is RunTransitionEvent => e.type === 'run:transition' && e.taskId === taskId);
    if (mine.length === 0) return;
    queryClient.setQueriesData<RunPage>({ queryKey: taskRunsKey(taskId) }, (page) => (page === undefined ? page : patch(page, mine)));
    refetch();
  });
}

function RunRow({ run }: { run: Run }) {
  return (
    <tr data-run-id={run.id}>
      <td>
        <Link to={`/runs/${run.id}`} className="mono" title={run.id}>
          {run.id.slice(-8)}
        </Link>
      </td>
      <td>
        <StatusBadge status={run.status} />
      </td>
      <td>{run.trigger}</td>
      <td className="num">{run.attempt}</td>
      <td>
        <Time iso={run.scheduledFor} />
      </td>
      <td>
        <Time iso={run.startedAt} />
      </td>
      <td className="num">{duration(run.lateMs)}</td>
      <td className="num">{duration(run.durationMs)}</td>
    </tr>
  );
}

/** The run history panel of the task detail; `onRunEvent` hears (throttled) of new transitions. */
export function RunHistory({ taskId, onRunEvent }: { taskId: string; onRunEvent: () => void }) {
  const pager = useCursorPager(taskId);
  const query = { task: taskId, limit: PAGE_SIZE, ...(pager.cursor !== undefined ? { cursor: pager.cursor } : {}) };
  const { data, error, isPending, isPlaceholderData } = useQuery({
    queryKey: [...taskRunsKey(taskId), query],
    queryFn: async ({ signal }) => unwrap(await client.GET('/v1/runs', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
  useLiveRuns(taskId, onRunEvent);

  return (
    <section className="panel" aria-labelledby="runs-h">
      <h2 id="runs-h">Run history</h2>
      <ErrorMessage error={error} />
      {isPending ? (
        <Loading what="Loading runs" />
      ) : data === undefined ? null : data.items.length === 0 && pager.page === 1 ? (
        <p className="muted">No runs yet.</p>
      ) : (
        <>
          <div className="table-wrap flat">
            <table className="run-table" aria-label="Run history" aria-busy={isPlaceholderData}>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Trigger</th>
                  <th scope="col" className="num">
                    Attempt
                  </th>
                  <th scope="col">Scheduled for</th>
                  <th scope="col">Started</th>
                  <th scope="col" className="num">
                    Late by
                  </th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((r) => (
                  <RunRow key={r.id} run={r} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={pager.page} nextCursor={data.nextCursor} onPrev={pager.prev} onNext={pager.next} busy={isPlaceholderData} />
        </>
      )}
    </section>
  );
}
