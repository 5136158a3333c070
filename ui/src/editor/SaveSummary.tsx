// What the top of the form says when a save did not go through: the problem's detail and the
// messages no input stands for; or, for a version conflict, the two ways on.

import type { Ref } from 'react';
import { ApiError, errorText, type FieldProblem } from '../api/problem';

export type SaveFailure = { kind: 'client'; count: number } | { kind: 'api'; error: unknown };

export function SaveSummary({ failure, rest, ref }: { failure: SaveFailure; rest: FieldProblem[]; ref: Ref<HTMLDivElement> }) {
  const problem = failure.kind === 'api' && failure.error instanceof ApiError ? failure.error.problem : null;
  return (
    <div ref={ref} className="error-box save-summary" role="alert" tabIndex={-1}>
      <strong>Not saved.</strong>{' '}
      {failure.kind === 'client' ? (
        <>
          {failure.count === 1 ? 'One field needs' : `${failure.count} fields need`} fixing first; {failure.count === 1 ? 'it is' : 'they are'} marked below.
        </>
      ) : (
        <>
          {errorText(failure.error)}
          {problem && <span className="code"> ({problem.code})</span>}
        </>
      )}
      {rest.length > 0 && (
        <ul>
          {rest.map((e) => (
            <li key={e.path + e.message}>
              {e.path && <code>{e.path}</code>} {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ConflictNotice({
  yours,
  current,
  busy,
  onOverwrite,
  onReload,
  ref,
}: {
  yours: number;
  current: number;
  busy: boolean;
  onOverwrite: () => void;
  onReload: () => void;
  ref: Ref<HTMLDivElement>;
}) {
  return (
    <div ref={ref} className="conflict-box" role="alert" tabIndex={-1}>
      <p>
        <strong>Not saved: this task changed since you opened it.</strong> Someone saved version {current} while you were editing version {yours}. Your edits
        are still in the form.
      </p>
      <div className="actions">
        <button type="button" onClick={onReload} disabled={busy}>
          Load the latest version (discard my edits)
        </button>
        <button type="button" onClick={onOverwrite} disabled={busy}>
          Save my changes over it
        </button>
      </div>
    </div>
  );
}
