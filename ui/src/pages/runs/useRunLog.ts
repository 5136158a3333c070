// A run's log lines. A finished run's log is read once; an unfinished run's is followed live
// (the follow stream replays the lines so far, then sends each new one, then `end`). Lines are
// appended in batches every 100 ms, so a chatty run costs ten renders a second at most.

import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { readEventStream } from '../../api/sse';
import { getRunLog, type LogLine } from './api';

export interface RunLogState {
  lines: LogLine[];
  /** The stream is open and the run has not ended. */
  following: boolean;
  loading: boolean;
  error: unknown;
}

/** The log of run `id`; `finished` is read once, at first render (a finished run stays finished). `onEnd` runs when a followed run ends. */
export function useRunLog(id: string, finished: boolean, onEnd: () => void): RunLogState {
  const [follow] = useState(!finished);
  const stored = useQuery({ queryKey: ['run-log', id], queryFn: () => getRunLog(id), enabled: !follow });
  const streamed = useFollowedLog(id, follow, onEnd);
  if (!follow) return { lines: stored.data ?? [], following: false, loading: stored.isPending, error: stored.error };
  return streamed;
}

function useFollowedLog(id: string, enabled: boolean, onEnd: () => void): RunLogState {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [following, setFollowing] = useState(enabled);
  const [opened, setOpened] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const ended = useRef(onEnd);
  useEffect(() => {
    ended.current = onEnd;
  }, [onEnd]);

  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    let pending: LogLine[] = [];
    let timer: number | null = null;
    let sawEnd = false;
    const flush = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      const batch = pending;
      pending = [];
      if (batch.length > 0) setLines((ls) => ls.concat(batch));
    };
    void readEventStream(`/v1/runs/${encodeURIComponent(id)}/logs?follow=1`, {
      signal: abort.signal,
      endEvent: 'end',
      onOpen: (open) => {
        if (open) setOpened(true);
      },
      onEvent(e) {
        if (e.event === 'end') {
          sawEnd = true;
          flush();
          setFollowing(false);
          ended.current();
          return;
        }
        if (e.event !== undefined && e.event !== 'message') return;
        pending.push(JSON.parse(e.data) as LogLine);
        timer ??= window.setTimeout(flush, 100);
      },
    }).then(() => {
      // The stream gave up without `end` (a 4xx such as a run that is gone): say so.
      if (!abort.signal.aborted && !sawEnd) {
        flush();
        setFollowing(false);
        setError(new Error('The live log could not be followed; reload the page to read it.'));
      }
    });
    return () => {
      abort.abort();
      if (timer !== null) clearTimeout(timer);
    };
  }, [id, enabled]);

  return { lines, following, loading: enabled && !opened && lines.length === 0, error };
}
