// Server-sent events over fetch. EventSource cannot send an Authorization header, and the key
// must never travel in a URL, so streams are read with fetch and parsed by eventsource-parser.
// Reconnects after the server's `retry:` delay, resuming from the last event id.

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { apiKey } from './client';

export interface StreamOptions {
  /** Called for every event (`event.event` is the name, `event.data` the text). */
  onEvent: (event: EventSourceMessage) => void;
  /** Connection state changes: true once a response arrived, false when it dropped. */
  onOpen?: (open: boolean) => void;
  /** Stop after an `end` event (a finished run's log) instead of reconnecting. */
  endEvent?: string;
  signal: AbortSignal;
}

/** Reads the event stream at `path` until `signal` aborts (or `endEvent` arrives). */
export async function readEventStream(path: string, opts: StreamOptions): Promise<void> {
  let lastId: string | undefined;
  let retryMs = 3000;
  let ended = false;
  while (!opts.signal.aborted && !ended) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      const key = apiKey();
      if (key !== null) headers.authorization = `Bearer ${key}`;
      if (lastId !== undefined) headers['last-event-id'] = lastId;
      const res = await fetch(path, { headers, signal: opts.signal, cache: 'no-store' });
      // A refused key or a missing run will not get better by retrying.
      if (res.status >= 400 && res.status < 500) {
        opts.onOpen?.(false);
        return;
      }
      if (!res.ok || res.body === null) throw new Error(`stream answered ${res.status}`);
      opts.onOpen?.(true);
      const parser = createParser({
        onEvent(event) {
          if (event.id !== undefined) lastId = event.id;
          opts.onEvent(event);
          if (opts.endEvent !== undefined && event.event === opts.endEvent) ended = true;
        },
        onRetry(ms) {
          retryMs = ms;
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done || ended) break;
          parser.feed(value);
        }
      } finally {
        // Ended, or a handler threw: this connection is done either way; a new one follows.
        await reader.cancel().catch(() => {});
      }
    } catch {
      if (opts.signal.aborted) return;
    }
    opts.onOpen?.(false);
    if (!ended) await delay(retryMs, opts.signal);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
