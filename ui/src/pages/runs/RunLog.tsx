// A run's log in a monospace panel, coloured by level. While the run goes on, new lines are
// appended as they arrive, and the panel keeps to the bottom unless the reader scrolled up.

import { memo, useLayoutEffect, useRef } from 'react';
import type { Run } from '../../api/client';
import { ErrorMessage, Loading } from '../../components/ui';
import type { LogLine } from './api';
import { isFinished } from './statuses';
import { useRunLog } from './useRunLog';

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hour12: false });

/** The log panel of `run`; `onEnd` is called when a followed run ends. */
export function RunLog({ run, onEnd }: { run: Run; onEnd: () => void }) {
  const log = useRunLog(run.id, isFinished(run.status), onEnd);
  return (
    <section className="panel" aria-labelledby="run-log-title">
      <div className="panel-head">
        <h2 id="run-log-title">Log</h2>
        <span className="muted">
          {/* Only the state is announced; the count changes ten times a second while following. */}
          <span role="status">
            {log.following && (
              <>
                <span className="live-dot on" aria-hidden="true" />
                Following live
              </>
            )}
          </span>
          {!log.loading && `${log.following ? ' · ' : ''}${countLines(log.lines.length)}`}
        </span>
      </div>
      {run.logsTruncated && (
        <p className="notice">The log reached the server's size limit (SUNDIAL_LOG_MAX_BYTES); later lines were dropped.</p>
      )}
      <ErrorMessage error={log.error} />
      {log.loading ? <Loading what="Loading the log" /> : <LogLines lines={log.lines} waiting={log.following} />}
    </section>
  );
}

function countLines(n: number): string {
  return n === 1 ? '1 line' : `${n} lines`;
}

/** The lines themselves, sticking to the bottom while the reader is there. */
function LogLines({ lines, waiting }: { lines: LogLine[]; waiting: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el !== null && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  if (lines.length === 0) return <p className="muted log-empty">{waiting ? 'No lines yet; they will appear here as the run writes them.' : 'The run wrote no log.'}</p>;
  return (
    <div
      ref={box}
      className="log"
      role="log"
      aria-label="Log lines"
      aria-live="off"
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      {lines.map((l, i) => (
        <LogRow key={i} line={l} />
      ))}
    </div>
  );
}

/** One line; memoised, so a batch of new lines renders only the new rows (lines keep their identity). */
const LogRow = memo(function LogRow({ line }: { line: LogLine }) {
  return (
    <div className={`log-line level-${line.level}`}>
      <time dateTime={line.at} className="log-time">
        {clock.format(new Date(line.at))}
      </time>
      <span className="log-level">{line.level}</span>
      <span className="log-msg">{line.message}</span>
    </div>
  );
});
