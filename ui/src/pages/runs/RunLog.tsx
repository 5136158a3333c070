// A run's log in a monospace panel, coloured by level. While the run goes on, new lines are
// appended as they arrive, and the panel keeps to the bottom unless the reader scrolled up.

import { useLayoutEffect, useRef } from 'react';
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
        <span className="muted" role="status">
          {log.following ? (
            <>
              <span className="live-dot on" aria-hidden="true" />
              Following live · {countLines(log.lines.length)}
            </>
          ) : (
            !log.loading && countLines(log.lines.length)
          )}
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
        <div key={i} className={`log-line level-${l.level}`}>
          <time dateTime={l.at} className="log-time">
            {clock.format(new Date(l.at))}
          </time>
          <span className="log-level">{l.level}</span>
          <span className="log-msg">{l.message}</span>
        </div>
      ))}
    </div>
  );
}
