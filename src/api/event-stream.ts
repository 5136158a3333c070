// Server-sent events of run transitions and task changes, fanned out to every connected client
// whose key covers the event's namespace. The bus is subscribed only while someone listens, and
// each event is serialized once however many clients get it, because transitions are emitted
// on the scheduler's hot path. A client that stops reading is dropped once its unsent buffer
// passes a bound, so a slow browser cannot grow the server's memory (it reconnects and re-reads).

import type { ServerResponse } from 'node:http';
import type { EventBus, RunTransition, SundialEvents } from '../core/events.js';
import type { Role } from '../core/types.js';
import { iso, isoOrNull, taskView } from './views.js';

/** Response headers of every server-sent event stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx buffers responses unless told not to; events would arrive in bursts.
  'x-accel-buffering': 'no',
} as const;

/** One connected client. */
interface Client {
  res: ServerResponse;
  covers: (namespace: string) => boolean;
  /** Task events show specs as this role may see them (api/redact.ts). */
  role: Role;
}

export interface EventStreamOptions {
  /** Comment line sent this often so proxies keep the connection open. */
  heartbeatMs?: number;
  /** Unsent bytes a client may pile up before it is dropped. */
  maxBufferedBytes?: number;
}

/** The SSE fan-out behind GET /v1/events. */
export class EventStreamHub {
  readonly #bus: EventBus;
  readonly #heartbeatMs: number;
  readonly #maxBuffered: number;
  readonly #clients = new Set<Client>();
  #unsubscribe: (() => void)[] = [];
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(bus: EventBus, opts: EventStreamOptions = {}) {
    this.#bus = bus;
    this.#heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.#maxBuffered = opts.maxBufferedBytes ?? 1_048_576;
  }

  /** Streams events to `res` (headers already sent) until it closes; returns the detach function. */
  attach(res: ServerResponse, covers: (namespace: string) => boolean, role: Role): () => void {
    const client: Client = { res, covers, role };
    this.#clients.add(client);
    if (this.#clients.size === 1) this.#start();
    const detach = (): void => {
      if (!this.#clients.delete(client)) return;
      if (this.#clients.size === 0) this.#stop();
    };
    res.once('close', detach);
    return detach;
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const c of [...this.#clients]) c.res.end();
    this.#clients.clear();
    this.#stop();
  }

  #start(): void {
    this.#unsubscribe = [
      this.#bus.on('run:transition', (t) => this.#publish(t.namespace, 'run:transition', () => transitionView(t), false)),
      this.#bus.on('task:changed', (e) => this.#publish(e.task.namespace, 'task:changed', (role) => taskChangeView(e, role), true)),
      // Other nodes' events, relayed while this node listens (cluster/signal-bridge.ts).
      this.#bus.on('cluster:run:transition', (t) => this.#publish(t.namespace, 'run:transition', () => transitionView(t), false)),
      this.#bus.on('cluster:task:changed', (e) => this.#publish(e.task.namespace, 'task:changed', (role) => taskChangeView(e, role), true)),
    ];
    this.#heartbeat = setInterval(() => this.#broadcast(': heartbeat\n\n'), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  #stop(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  /** Sends one event to the clients that cover its namespace, serialized once (per role when `byRole`). */
  #publish(namespace: string, event: string, data: (role: Role) => unknown, byRole: boolean): void {
    const frames = new Map<Role | '*', string>();
    for (const c of this.#clients) {
      if (!c.covers(namespace)) continue;
      const key = byRole ? c.role : '*';
      let frame = frames.get(key);
      if (frame === undefined) {
        frame = `event: ${event}\ndata: ${JSON.stringify(data(c.role))}\n\n`;
        frames.set(key, frame);
      }
      this.#write(c, frame);
    }
  }

  #broadcast(frame: string): void {
    for (const c of this.#clients) this.#write(c, frame);
  }

  #write(c: Client, frame: string): void {
    if (c.res.writableLength > this.#maxBuffered) {
      c.res.destroy();
      return;
    }
    c.res.write(frame);
  }
}

function transitionView(t: RunTransition): unknown {
  return { ...t, at: iso(t.at), scheduledFor: iso(t.scheduledFor), startedAt: isoOrNull(t.startedAt), finishedAt: isoOrNull(t.finishedAt) };
}

function taskChangeView(e: SundialEvents['task:changed'], role: Role): unknown {
  return { action: e.action, at: iso(e.at), task: taskView(e.task, role) };
}
