// Writes line protocol to InfluxDB: 1.x `/write?db=…` or 2.x/3.x `/api/v2/write?org=…&bucket=…`
// (token auth), nanosecond precision, gzip bodies. Items wait in a bounded buffer (points and
// bytes); a full buffer drops its oldest and counts them. A batch goes out when `batchSize` items
// wait or `flushIntervalMs` after the first one, one request at a time with a timeout. 5xx, 429
// and network errors are retried with exponential backoff and jitter (at least what Retry-After
// asks); other 4xx answers mean the batch can never be written: it is dropped and logged.
//
// Nothing here ever blocks the caller: `push` appends and returns, the rest happens on timers and
// promises, so a slow or dead InfluxDB costs the scheduler only the memory of the buffer.

import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Client } from 'undici';
import type { SinkCounters } from './sink-metrics.js';

const gzip = promisify(gzipCb);

/** Where and how to write: 1.x names a database, 2.x/3.x a bucket (and org, token). */
export interface InfluxTarget {
  /** Base URL, e.g. `http://127.0.0.1:8086`; a path prefix and query parameters (`rp`) are kept. */
  url: string;
  database: string;
  bucket: string;
  org: string;
  token: string;
}

export interface WriteEndpoint {
  origin: string;
  /** Path and query of the write request. */
  path: string;
  headers: Record<string, string>;
  api: 'v1' | 'v2';
}

/** The write request for a target: `/api/v2/write` when a bucket is named, else 1.x `/write`. */
export function writeEndpoint(t: InfluxTarget): WriteEndpoint {
  const u = new URL(t.url);
  const base = u.pathname.replace(/\/+$/, '');
  const params = new URLSearchParams(u.searchParams);
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'content-encoding': 'gzip' };
  if (u.username !== '' || u.password !== '') {
    const user = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
  }
  if (t.token !== '') headers.authorization = `Token ${t.token}`;
  let api: WriteEndpoint['api'];
  let path: string;
  if (t.bucket !== '') {
    api = 'v2';
    if (t.org !== '') params.set('org', t.org);
    params.set('bucket', t.bucket);
    params.set('precision', 'ns');
    path = `${base}/api/v2/write?${params.toString()}`;
  } else {
    api = 'v1';
    params.set('db', t.database);
    params.set('precision', 'ns');
    path = `${base}/write?${params.toString()}`;
  }
  return { origin: u.origin, path, headers, api };
}

/** What the writer logs (pino's Logger fits). */
export interface SinkLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface InfluxWriterOptions<T> {
  target: InfluxTarget;
  /** Items per request at most; a full batch goes out at once. */
  batchSize: number;
  /** Longest an item waits for company before a request goes out. */
  flushIntervalMs: number;
  /** Items held at most; beyond it the oldest are dropped (counted). */
  maxBuffered: number;
  /** Estimated bytes held at most (default 64 MiB); beyond it the oldest are dropped (counted). */
  maxBufferedBytes?: number;
  /** One request's time limit (connect, answer and body). */
  timeoutMs: number;
  /** Items → lines of line protocol (an item that makes no line is counted as dropped). */
  encode: (items: T[]) => Promise<string[]>;
  /** An item's estimated size in memory, for the byte bound. */
  sizeOf: (item: T) => number;
  counters: SinkCounters;
  log: SinkLog;
  /** Retry delays: `initialMs` doubling up to `maxMs`, with jitter (defaults 1 s, 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  random?: () => number;
}

type Attempt =
  | { kind: 'ok' }
  | { kind: 'retry'; reason: string; detail: string; retryAfterMs: number }
  | { kind: 'reject'; reason: string; status: number; detail: string };

/** Longest Retry-After honoured; a server asking for more is asked again after this. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Reads Retry-After (seconds or an HTTP date) as milliseconds from now; 0 when absent or odd. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return 0;
  const ms = /^\s*\d+\s*$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : 0;
}

/** A bounded buffer in front of one InfluxDB write endpoint. */
export class InfluxWriter<T> {
  readonly #o: InfluxWriterOptions<T>;
  readonly #endpoint: WriteEndpoint;
  readonly #maxBytes: number;
  readonly #random: () => number;
  #items: (T | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #pushes = 0;
  #timer: NodeJS.Timeout | null = null;
  #kickPending = false;
  #due = false;
  #pumping: Promise<void> | null = null;
  #client: Promise<Client> | null = null;
  #inflight: AbortController | null = null;
  #wake: (() => void) | null = null;
  #closing = false;
  #expired = false;
  #failuresInARow = 0;

  constructor(opts: InfluxWriterOptions<T>) {
    this.#o = opts;
    this.#endpoint = writeEndpoint(opts.target);
    this.#maxBytes = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.#random = opts.random ?? Math.random;
  }

  /** Items waiting (not counting a batch in flight). */
  get buffered(): number {
    return this.#items.length - this.#head;
  }

  /** The write endpoint (for logs and tests). */
  get endpoint(): WriteEndpoint {
    return this.#endpoint;
  }

  /** Appends an item; drops the oldest when the buffer is full. Never blocks, never throws. */
  push(item: T): void {
    if (this.#closing) {
      this.#o.counters.dropped('shutdown', 1);
      return;
    }
    this.#items.push(item);
    this.#bytes += this.#o.sizeOf(item);
    let dropped = 0;
    while (this.buffered > this.#o.maxBuffered || (this.#bytes > this.#maxBytes && this.buffered > 1)) {
      this.#bytes -= this.#o.sizeOf(this.#items[this.#head] as T);
      this.#items[this.#head++] = undefined;
      dropped++;
    }
    if (dropped > 0) this.#o.counters.dropped('overflow', dropped);
    if ((++this.#pushes & 255) === 0) this.#o.counters.buffered(this.buffered);
    if (this.buffered >= this.#o.batchSize) this.#kick();
    else this.#arm();
  }

  /** Sends everything buffered now; resolves when done (written, dropped, or failing and waiting to retry). */
  async flush(): Promise<void> {
    this.#due = true;
    this.#kick(true);
    while (this.#pumping !== null) await this.#pumping;
  }

  /**
   * Stops: sends what is buffered within `boundMs` (retrying while time is left), then drops the
   * rest (counted as `shutdown`) and closes the connection.
   */
  async close(boundMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const deadline = setTimeout(() => {
      this.#expired = true;
      this.#inflight?.abort();
      this.#wake?.();
    }, boundMs);
    this.#wake?.();
    try {
      this.#due = true;
      this.#kick(true);
      while (this.#pumping !== null) await this.#pumping;
    } finally {
      clearTimeout(deadline);
    }
    const left = this.buffered;
    if (left > 0) this.#o.counters.dropped('shutdown', left);
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#o.counters.buffered(0);
    if (this.#client !== null) {
      const client = await this.#client.catch(() => null);
      await client?.destroy().catch(() => undefined);
    }
  }

  #arm(): void {
    if (this.#timer !== null || this.#closing || this.#pumping !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#due = true;
      this.#kick();
    }, this.#o.flushIntervalMs);
    this.#timer.unref();
  }

  /** Starts the send loop (on a later turn, so a bus listener never does the work itself). */
  #kick(now = false): void {
    if (this.#pumping !== null) return;
    if (now) {
      this.#kickPending = false;
      this.#startPump();
      return;
    }
    if (this.#kickPending) return;
    this.#kickPending = true;
    setImmediate(() => {
      if (!this.#kickPending) return;
      this.#kickPending = false;
      if (this.#pumping === null) this.#startPump();
    });
  }

  #startPump(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = null;
      this.#o.counters.buffered(this.buffered);
      if (this.buffered === 0 || this.#closing) return;
      if (this.buffered >= this.#o.batchSize || this.#due) this.#kick();
      else this.#arm();
    });
  }

  async #pump(): Promise<void> {
    while (!this.#expired && (this.buffered >= this.#o.batchSize || (this.#due && this.buffered > 0))) {
      const batch = this.#take(Math.min(this.buffered, this.#o.batchSize));
      if (this.buffered === 0) this.#due = false;
      this.#o.counters.buffered(this.buffered);
      await this.#sendBatch(batch);
    }
    if (this.buffered === 0) this.#due = false;
  }

  #take(n: number): T[] {
    const batch = this.#items.slice(this.#head, this.#head + n) as T[];
    for (let i = 0; i < n; i++) this.#items[this.#head + i] = undefined;
    this.#head += n;
    for (const item of batch) this.#bytes -= this.#o.sizeOf(item);
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  async #sendBatch(batch: T[]): Promise<void> {
    let lines: string[];
    try {
      lines = await this.#o.encode(batch);
    } catch (err) {
      this.#o.counters.dropped('unwritable', batch.length);
      this.#o.log.error({ err, points: batch.length }, 'influxdb sink: could not encode a batch; dropped it');
      return;
    }
    if (lines.length < batch.length) this.#o.counters.dropped('unwritable', batch.length - lines.length);
    if (lines.length === 0) return;
    const body = await gzip(Buffer.from(lines.join('\n') + '\n', 'utf8'), { level: 1 });
    for (let attempt = 0; ; attempt++) {
      const r = await this.#post(body);
      if (r.kind === 'ok') {
        this.#o.counters.written(lines.length);
        if (this.#failuresInARow > 0) {
          this.#o.log.info({ failedAttempts: this.#failuresInARow }, 'influxdb sink: writes go through again');
        }
        this.#failuresInARow = 0;
        return;
      }
      this.#o.counters.failed(r.reason);
      if (r.kind === 'reject') {
        this.#o.counters.dropped('rejected', lines.length);
        this.#o.log.error(
          { status: r.status, detail: r.detail, points: lines.length, endpoint: this.#endpoint.path },
          'influxdb sink: the server refused a batch; dropped it',
        );
        return;
      }
      if (this.#failuresInARow++ === 0) {
        this.#o.log.warn({ reason: r.reason, detail: r.detail, origin: this.#endpoint.origin }, 'influxdb sink: write failed; retrying with backoff (points wait in a bounded buffer)');
      }
      if (this.#expired) {
        this.#o.counters.dropped('shutdown', lines.length);
        return;
      }
      const b = this.#o.backoff ?? { initialMs: 1000, maxMs: 30_000 };
      const exp = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 30));
      const delay = Math.max(r.retryAfterMs, exp / 2 + (this.#random() * exp) / 2);
      await this.#sleep(delay);
      if (this.#expired) {
        this.#o.counters.dropped('shutdown', lines.length);
        return;
      }
    }
  }

  /** Waits `ms`, or less when closing wakes it. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  #loadClient(): Promise<Client> {
    // Loaded on the first write: undici is many modules, not worth loading at every start-up.
    this.#client ??= import('undici').then(
      ({ Client }) =>
        new Client(this.#endpoint.origin, {
          connect: { timeout: this.#o.timeoutMs },
          headersTimeout: this.#o.timeoutMs,
          bodyTimeout: this.#o.timeoutMs,
          keepAliveTimeout: 4000,
        }),
    );
    return this.#client;
  }

  async #post(body: Buffer): Promise<Attempt> {
    const client = await this.#loadClient();
    const ac = new AbortController();
    this.#inflight = ac;
    const timer = setTimeout(() => ac.abort(), this.#o.timeoutMs);
    try {
      const res = await client.request({ path: this.#endpoint.path, method: 'POST', headers: this.#endpoint.headers, body, signal: ac.signal });
      const text = await res.body.text();
      const detail = text.slice(0, 500);
      if (res.statusCode >= 200 && res.statusCode < 300) return { kind: 'ok' };
      if (res.statusCode === 429 || res.statusCode >= 500) {
        return { kind: 'retry', reason: res.statusCode === 429 ? 'http_429' : 'http_5xx', detail: `${res.statusCode} ${detail}`, retryAfterMs: retryAfterMs(res.headers['retry-after']) };
      }
      return { kind: 'reject', reason: 'http_4xx', status: res.statusCode, detail };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const timedOut = ac.signal.aborted || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT';
      return { kind: 'retry', reason: timedOut ? 'timeout' : 'network', detail: `${e.code ?? e.name}: ${e.message}`, retryAfterMs: 0 };
    } finally {
      clearTimeout(timer);
      this.#inflight = null;
    }
  }
}
