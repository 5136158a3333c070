// Wake-up messages between the nodes of one database over PostgreSQL's LISTEN/NOTIFY. One
// dedicated connection (not from the pool: a pooled connection is handed to others, and LISTEN
// belongs to a session) listens on one channel and comes back with backoff when it drops.
// Messages are hints, never the truth: one sent while a listener reconnects is lost, so receivers
// also poll for anything that matters (see StoreSignals).
import pg from 'pg';
import type { StoreSignals } from '../store.js';
import { clientConfig, type PgConnectOptions } from './pool.js';
import type { PgDb } from './db.js';
import { Statement } from './statements.js';

/** PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more. */
export const MAX_NOTIFY_BYTES = 8000;

// An idle listening connection learns of a network partition only from TCP keepalive, many
// minutes later; a small query every so often notices within one interval plus its timeout.
const PING_EVERY_MS = 30_000;
const PING_TIMEOUT_MS = 10_000;

const notify = new Statement('sundial_notify', 'SELECT pg_notify($1, $2)');

/** What travels on the channel: the sender's instance, the topic and the payload. */
interface Envelope {
  s: string;
  t: string;
  p: string;
}

/** Settings of the signals of one store. */
export interface PgSignalsOptions {
  /** Where the listening connection goes (the store's database). */
  connect: PgConnectOptions;
  /** The store's pool, which publishes. */
  db: PgDb;
  /** This store instance: its own messages come back from PostgreSQL and are dropped. */
  instanceId: string;
  /** The channel (default `sundial`). */
  channel?: string;
  /** Reports a lost listening connection (it reconnects by itself). */
  onError?: (err: Error) => void;
}

type Handler = (topic: string, payload: string) => void;

/** StoreSignals on LISTEN/NOTIFY; listens from the first subscribe until close(). */
export class PgSignals implements StoreSignals {
  readonly #opts: PgSignalsOptions;
  readonly #channel: string;
  readonly #handlers = new Set<Handler>();
  #client: pg.Client | null = null;
  #started = false;
  #closed = false;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #ready = deferred();

  constructor(opts: PgSignalsOptions) {
    this.#opts = opts;
    this.#channel = opts.channel ?? 'sundial';
  }

  /** Sends `payload` on `topic` to the other listening stores (committed at once: NOTIFY outside a transaction). */
  async publish(topic: string, payload: string): Promise<void> {
    if (this.#closed) throw new Error('the PostgreSQL store is closed');
    const message = JSON.stringify({ s: this.#opts.instanceId, t: topic, p: payload } satisfies Envelope);
    const bytes = Buffer.byteLength(message);
    if (bytes >= MAX_NOTIFY_BYTES) {
      throw new RangeError(`a signal must stay below ${MAX_NOTIFY_BYTES} bytes with its envelope; this one has ${bytes} (topic ${topic})`);
    }
    await this.#opts.db.one(notify, [this.#channel, message]);
  }

  /** Receives other stores' messages (listening starts with the first subscriber). */
  subscribe(handler: Handler): () => void {
    this.#handlers.add(handler);
    if (!this.#started && !this.#closed) {
      this.#started = true;
      void this.#listen();
    }
    return () => {
      this.#handlers.delete(handler);
    };
  }

  /** Resolves once the listening connection is up (again); for tests and start-up ordering. */
  whenListening(): Promise<void> {
    return this.#ready.promise;
  }

  /** The backend pid of the listening connection (null while down); tests use it to cut it. */
  get listenerPid(): number | null {
    return (this.#client as unknown as { processID?: number | null } | null)?.processID ?? null;
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#stopPing();
    const client = this.#client;
    this.#client = null;
    if (client !== null) await client.end().catch(() => undefined);
  }

  async #listen(): Promise<void> {
    const client = new pg.Client(clientConfig(this.#opts.connect));
    let dead = false;
    const lost = (err: Error): void => {
      if (dead) return;
      dead = true;
      if (this.#client === client) {
        this.#client = null;
        this.#ready = deferred();
        this.#stopPing();
      }
      void client.end().catch(() => undefined);
      if (this.#closed) return;
      this.#opts.onError?.(err);
      this.#retryLater();
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the listening connection ended')));
    client.on('notification', (msg) => this.#deliver(msg));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.#channel)}`);
    } catch (err) {
      lost(err as Error);
      return;
    }
    if (this.#closed) {
      dead = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#failures = 0;
    this.#ready.resolve();
    this.#pingTimer = setInterval(() => {
      client.query({ text: 'SELECT 1', query_timeout: PING_TIMEOUT_MS } as pg.QueryConfig).catch((err: Error) => lost(err));
    }, PING_EVERY_MS);
    this.#pingTimer.unref();
  }

  #stopPing(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #retryLater(): void {
    if (this.#retryTimer !== null) return;
    // 100 ms doubling to 5 s, jittered: a restarted database is not met by every node at once.
    const bound = Math.min(5000, 100 * 2 ** this.#failures++);
    const delay = bound / 2 + Math.random() * (bound / 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#closed) void this.#listen();
    }, delay);
    this.#retryTimer.unref();
  }

  #deliver(msg: pg.Notification): void {
    if (msg.channel !== this.#channel || msg.payload === undefined) return;
    let env: Envelope;
    try {
      env = JSON.parse(msg.payload) as Envelope;
    } catch {
      return; // not ours (someone else NOTIFYs on the channel)
    }
    if (typeof env.t !== 'string' || typeof env.p !== 'string' || env.s === this.#opts.instanceId) return;
    for (const handler of this.#handlers) {
      try {
        handler(env.t, env.p);
      } catch {
        // One failing subscriber must not starve the others; it owns its errors.
      }
    }
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
