// One connection to GET /v1/events for the whole app, shared by every page that wants live
// updates. Events reach subscribers in batches every 100 ms, so a busy installation (hundreds of
// transitions a second) costs ten renders a second, not one per event. (A timer, not
// requestAnimationFrame, which stops in background tabs and would let batches pile up.)
// Whenever the stream (re)connects, every query on screen is read again: events sent while it
// was down, or before it first connected, are lost, and this is the one place that knows.
// (Except queries that must not change under the user, such as the task a form was filled from.)

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { readEventStream } from '../api/sse';
import { useSession } from '../auth/session';

/** Query `meta` key: a query with it set to true is not read again when the stream reconnects. */
export const KEEP_ON_RECONNECT = 'keepOnReconnect';

/** A run transition as /v1/events sends it. */
export interface RunTransitionEvent {
  type: 'run:transition';
  runId: string;
  taskId: string;
  taskName: string;
  namespace: string;
  from: string | null;
  to: string;
  at: string;
  scheduledFor: string;
  attempt: number;
  startedAt: string | null;
  finishedAt: string | null;
  reason: string | null;
  errorCode: string | null;
}

/** A task change as /v1/events sends it. */
export interface TaskChangedEvent {
  type: 'task:changed';
  action: 'created' | 'updated' | 'deleted' | 'paused' | 'resumed';
  at: string;
  task: { id: string; name: string; namespace: string; [field: string]: unknown };
}

export type LiveEvent = RunTransitionEvent | TaskChangedEvent;
type Listener = (events: LiveEvent[]) => void;

interface LiveEvents {
  subscribe(listener: Listener): () => void;
  connected: boolean;
}

const LiveContext = createContext<LiveEvents | null>(null);

/** Keeps the event stream open while someone is signed in. */
export function LiveEventsProvider({ children }: { children: ReactNode }) {
  const { me } = useSession();
  const queryClient = useQueryClient();
  const listeners = useRef(new Set<Listener>());
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    if (me === null) return;
    const abort = new AbortController();
    let pending: LiveEvent[] = [];
    let frame: number | null = null;
    const flush = (): void => {
      frame = null;
      const batch = pending;
      pending = [];
      for (const l of listeners.current) l(batch);
    };
    void readEventStream('/v1/events', {
      signal: abort.signal,
      onOpen(open) {
        setConnected(open);
        if (open) void queryClient.invalidateQueries({ predicate: (q) => q.meta?.[KEEP_ON_RECONNECT] !== true });
      },
      onEvent(e) {
        if (e.event !== 'run:transition' && e.event !== 'task:changed') return;
        pending.push({ type: e.event, ...(JSON.parse(e.data) as object) } as LiveEvent);
        frame ??= window.setTimeout(flush, 100);
      },
    });
    return () => {
      abort.abort();
      if (frame !== null) clearTimeout(frame);
      setConnected(false);
    };
  }, [me, queryClient]);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo(() => ({ subscribe, connected }), [subscribe, connected]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

/** Calls `onEvents` with each batch of live events while the component is mounted. */
export function useLiveEvents(onEvents: Listener): void {
  const live = useContext(LiveContext);
  const latest = useRef(onEvents);
  latest.current = onEvents;
  const subscribe = live?.subscribe;
  useEffect(() => subscribe?.((batch) => latest.current(batch)), [subscribe]);
}

/** Whether the event stream is connected (for a "live" indicator). */
export function useLiveConnected(): boolean {
  return useContext(LiveContext)?.connected ?? false;
}
