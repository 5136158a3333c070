// What a run is: its task, where and how it was started, what it was given, and what came of it.

import { Link } from 'react-router';
import type { Run } from '../../api/client';
import { Time } from '../../components/ui';
import { prettyJson } from './json';
import { shortId } from './statuses';

const none = <span className="muted">—</span>;

/** The run's properties as a description list. */
export function RunFacts({ run }: { run: Run }) {
  return (
    <dl className="props">
      <dt>Task</dt>
      <dd>
        <Link to={`/tasks/${run.taskId}`}>{run.taskName}</Link>
      </dd>
      <dt>Namespace</dt>
      <dd>{run.namespace}</dd>
      <dt>Attempt</dt>
      <dd>
        {run.attempt}
        {run.retryOf !== null && (
          <>
            {' '}
            · retry of <Link to={`/runs/${run.retryOf}`} className="mono" title={run.retryOf}>{shortId(run.retryOf)}</Link>
          </>
        )}
      </dd>
      <dt>Trigger</dt>
      <dd>{run.trigger}</dd>
      {run.occurrenceAt !== null && (
        <>
          <dt>Occurrence</dt>
          <dd>
            <Time iso={run.occurrenceAt} exact />
          </dd>
        </>
      )}
      <dt>Node</dt>
      <dd>{run.node ?? none}</dd>
      <dt>Priority</dt>
      <dd>{run.priority}</dd>
      <dt>Idempotency key</dt>
      <dd>{run.idempotencyKey !== null ? <code>{run.idempotencyKey}</code> : none}</dd>
      <dt>Reason</dt>
      <dd>{run.reason ?? none}</dd>
      <dt>Created</dt>
      <dd>
        <Time iso={run.createdAt} /> by <code>{run.createdBy}</code>
      </dd>
      <dt>Run id</dt>
      <dd>
        <code>{run.id}</code>
      </dd>
    </dl>
  );
}

/** What the run was given. */
export function RunPayload({ run }: { run: Run }) {
  if (run.payload === null || run.payload === undefined) return <p className="muted">No payload.</p>;
  return (
    <pre className="block" tabIndex={0} aria-label="Payload (JSON)">
      {prettyJson(run.payload)}
    </pre>
  );
}

/** The result of a succeeded run, the error of a failed one, or what is still to come. */
export function RunOutcome({ run }: { run: Run }) {
  if (run.error !== null) {
    return (
      <div className="run-error">
        <p>
          <code className="error-code">{run.error.code}</code> {run.error.message}
        </p>
        {run.error.detail !== undefined && run.error.detail !== null && (
          <pre className="block" tabIndex={0} aria-label="Error detail (JSON)">
            {prettyJson(run.error.detail)}
          </pre>
        )}
      </div>
    );
  }
  if (run.status === 'succeeded') {
    return (
      <pre className="block" tabIndex={0} aria-label="Result (JSON)">
        {prettyJson(run.result)}
      </pre>
    );
  }
  if (run.status === 'cancelled' || run.status === 'skipped') return <p className="muted">The run was {run.status}{run.reason ? ` (${run.reason})` : ''}; it has no result.</p>;
  return <p className="muted">No result yet: the run is {run.status}.</p>;
}
