// GET /v1/runs/{id}/logs?follow=1: a run's log as server-sent events, from its first line until
// the run ends. Each line is one event: `id: <index in the run's log>`, `data: <JSON line>`; the
// run's end is `event: end` with its status, after which the server closes the stream. A client
// that reconnects with `Last-Event-ID` gets only the lines after it.
//
// No line is missed or repeated across the hand-over from stored to live lines: the listener is
// attached first, then the uncommitted lines are snapshotted and the stored ones read in the same
// turn (so together they cover every line so far), and every line carries its index, which
// skips what was already sent. When the run ends, the stored log is read once more, so lines that
// only travelled with the completion (or were written on another node) are sent too.
//
// A run on another node of a cluster reaches this node as relayed events (`cluster:run:logs`),
// and its lines not yet stored are not in this node's snapshot: a relayed batch can start past
// the last line sent. Such a gap is filled from the store (the holder stores lines about once a
// second) before the lines after it are sent, so the follower still sees every line, in order.

import type { ServerResponse } from 'node:http';
import type { EventBus } from '../core/events.js';
import { TERMINAL_STATUSES, type LogLine, type RunStatus } from '../core/types.js';
import type { Store } from '../store/store.js';
import { logLineView } from './views.js';

/** Lines of running runs that are not stored yet (the run output recorder). */
export interface LiveLogSource {
  snapshot(runId: string): { fromSeq: number; lines: LogLine[] } | null;
}

export interface FollowOptions {
  res: ServerResponse;
  runId: string;
  bus: EventBus;
  store: Pick<Store, 'getRunLogs' | 'getRun'>;
  live?: LiveLogSource | undefined;
  /** Index of the last line the client has (from Last-Event-ID); -1 for none. */
  lastSeq: number;
  heartbeatMs: number;
  /** How often the run's status is re-read, for runs that end on another node (or went unnoticed). */
  pollMs?: number;
  /** Unsent bytes a slow client may pile up before it is dropped. */
  maxBufferedBytes?: number;
}

/** How long a follower waits before reading the store to fill a gap in relayed lines (ms). */
const GAP_READ_MS = 300;

/** Streams one run's log until the run ends or the client goes away. */
export function followRunLog(o: FollowOptions): void {
  const { res, runId } = o;
  const maxBuffered = o.maxBufferedBytes ?? 4 * 1_048_576;
  let next = o.lastSeq + 1;
  let ended = false;
  const early: { fromSeq: number; lines: LogLine[] }[] = [];
  let caughtUp = false;
  /** Lines that arrived past a gap, waiting for the store to fill it. */
  const afterGap: { fromSeq: number; lines: LogLine[] }[] = [];
  let gapTimer: NodeJS.Timeout | null = null;

  const send = (fromSeq: number, lines: LogLine[]): void => {
    if (ended) return;
    if (res.writableLength > maxBuffered) {
      stop();
      res.destroy();
      return;
    }
    let frame = '';
    for (let i = Math.max(0, next - fromSeq); i < lines.length; i++) {
      frame += `id: ${fromSeq + i}\ndata: ${JSON.stringify(logLineView(lines[i]!))}\n\n`;
    }
    if (frame === '') return;
    next = fromSeq + lines.length;
    res.write(frame);
  };

  const finish = async (status: RunStatus): Promise<void> => {
    if (ended) return;
    // Lines that rode with the completion are stored by now: the transition is emitted after commit.
    send(0, await o.store.getRunLogs(runId));
    if (ended) return;
    ended = true;
    stop();
    res.end(`event: end\ndata: ${JSON.stringify({ status })}\n\n`);
  };

  /**
   * Sends a batch of lines once everything before it was sent: a batch past a gap (relayed lines
   * the store did not have yet, or relayed batches overtaking each other: NOTIFYs leave on pooled
   * connections) waits, in seq order, for the store to fill the gap.
   */
  const accept = (b: { fromSeq: number; lines: LogLine[] }): void => {
    if (!caughtUp) {
      early.push(b);
      return;
    }
    let i = afterGap.length;
    while (i > 0 && afterGap[i - 1]!.fromSeq > b.fromSeq) i--;
    afterGap.splice(i, 0, b);
    sendContiguous();
    if (afterGap.length > 0) waitForGap();
  };
  const sendContiguous = (): void => {
    while (afterGap.length > 0 && afterGap[0]!.fromSeq <= next) {
      const b = afterGap.shift()!;
      send(b.fromSeq, b.lines);
    }
  };
  const onLines = (e: { runId: string; fromSeq: number; lines: LogLine[] }): void => {
    if (e.runId === runId) accept({ fromSeq: e.fromSeq, lines: e.lines });
  };
  const onTransition = (t: { runId: string; to: RunStatus }): void => {
    if (t.runId === runId && TERMINAL_STATUSES.has(t.to)) void finish(t.to).catch(fail);
  };
  const offs = [
    o.bus.on('run:logs', onLines),
    o.bus.on('cluster:run:logs', onLines),
    o.bus.on('run:transition', onTransition),
    o.bus.on('cluster:run:transition', onTransition),
  ];

  /** Reads the store until it covers the gap before the held lines (or the run ends). */
  function waitForGap(): void {
    if (gapTimer !== null || ended) return;
    gapTimer = setTimeout(() => {
      gapTimer = null;
      void o.store.getRunLogs(runId).then((stored) => {
        send(0, stored);
        sendContiguous();
        if (afterGap.length > 0) waitForGap();
      }, fail);
    }, GAP_READ_MS);
    gapTimer.unref();
  }
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), o.heartbeatMs);
  heartbeat.unref();
  // The backstop for a run that ends where this node cannot hear it.
  const poll = setInterval(() => {
    void o.store.getRun(runId).then((run) => {
      if (run !== null && TERMINAL_STATUSES.has(run.status)) return finish(run.status);
    }, fail);
  }, o.pollMs ?? 2000);
  poll.unref();

  function stop(): void {
    for (const off of offs) off();
    if (gapTimer !== null) clearTimeout(gapTimer);
    clearInterval(heartbeat);
    clearInterval(poll);
  }
  function fail(): void {
    if (ended) return;
    ended = true;
    stop();
    res.destroy();
  }
  res.once('close', () => {
    ended = true;
    stop();
  });

  // Snapshot, then stored lines. SQLite reads synchronously on call, so both are of one instant;
  // a database read that completes later returns at least the lines committed at the snapshot
  // (its `fromSeq`), and any line committed since is skipped by its index.
  const snap = o.live?.snapshot(runId) ?? null;
  const stored = o.store.getRunLogs(runId);
  const status = o.store.getRun(runId);
  void Promise.all([stored, status]).then(([lines, run]) => {
    send(0, lines);
    if (snap !== null) send(snap.fromSeq, snap.lines);
    caughtUp = true;
    // Lines that arrived meanwhile, possibly relayed from another node past what the store had
    // (sending them as they come would skip the lines in between for good).
    for (const e of early.splice(0)) accept(e);
    if (run === null) return finish('cancelled');
    if (TERMINAL_STATUSES.has(run.status)) return finish(run.status);
  }, fail);
}
