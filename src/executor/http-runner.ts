// Runs `http` tasks with undici: one request (plus up to 5 redirects, followed by hand so every
// hop passes the outbound guard), a deadline of the task's timeout over the whole exchange, and
// an excerpt of the response body as the run's result.

import type { Agent, Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import type { HttpSpec } from '../core/types.js';
import { VERSION } from '../version.js';
import type { RunJob, RunOutcome } from './executor.js';
import { statusExpected, validateHttpSpec } from './http-spec.js';
import { createOutboundGuard, findOutboundBlocked, type BaseLookup, type OutboundGuard, type Refusal } from './outbound-guard.js';
import { crossOriginHeaders } from './redirect-headers.js';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../core/json-depth.js';
import { failedOutcome, makeOutcome } from './outcome.js';

export interface HttpRunnerOptions {
  /** Most bytes of a response body kept in the run's result. */
  bodyExcerptBytes: number;
  /** Hosts, addresses and CIDR ranges reachable although private or loopback. */
  outboundAllow: readonly string[];
  clock: Clock;
  /** DNS underneath the guard; tests substitute one to prove the connect-time check. */
  baseLookup?: BaseLookup;
}

/** What an http run's result holds. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Text, or the parsed value when the response is JSON and was read whole. */
  body: unknown;
  bodyTruncated: boolean;
}

const MAX_REDIRECTS = 5;
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Response headers worth keeping with a run; the rest would bloat every stored result. */
const KEPT_HEADERS = ['content-type', 'content-length', 'location', 'retry-after', 'etag', 'last-modified', 'x-request-id'];
const JSON_TYPE_RE = /[/+]json\b/i;

type Headers = Record<string, string>;

/** Reads at most `max` bytes of a body; stops (and drops the connection) as soon as it has them. */
async function readExcerpt(body: Dispatcher.ResponseData['body'], max: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > max) {
      if (max > size) chunks.push(chunk.subarray(0, max - size));
      size = max;
      truncated = true;
      break; // ends the iteration, which destroys the stream
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { bytes: Buffer.concat(chunks, size), truncated };
}

function pickHeaders(raw: Dispatcher.ResponseData['headers']): Headers {
  const out: Headers = {};
  for (const name of KEPT_HEADERS) {
    const v = raw[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function decodeBody(bytes: Buffer, truncated: boolean, contentType: string | undefined): unknown {
  // With stream: true a character cut by the excerpt limit is dropped instead of becoming U+FFFD.
  const text = new TextDecoder('utf-8').decode(bytes, { stream: truncated });
  // JSON nested deeper than the API accepts stays text: parsed, it would overflow the stack of
  // whoever serialises the run next (the store, the API), see core/json-depth.ts.
  if (!truncated && text !== '' && contentType !== undefined && JSON_TYPE_RE.test(contentType) && jsonTextDepth(text) <= MAX_JSON_DEPTH) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Not JSON after all: keep the text.
    }
  }
  return text;
}

/** The request headers: the task's, then Sundial's own (which win). */
function requestHeaders(spec: HttpSpec, job: RunJob, body: string | undefined): Headers {
  const h: Headers = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) h[k.toLowerCase()] = v;
  if (body !== undefined && typeof spec.body !== 'string' && h['content-type'] === undefined) h['content-type'] = 'application/json';
  h['user-agent'] = `sundial/${VERSION}`;
  h['idempotency-key'] = job.idempotencyKey;
  h['x-sundial-run-id'] = job.runId;
  h['x-sundial-attempt'] = String(job.attempt);
  return h;
}

/** A request in flight, and how to stop it. */
interface InFlight {
  done: Promise<unknown>;
  abortForClose: () => void;
  cancel: () => void;
}

/** Runs http jobs through one undici Agent whose connections are guarded. */
export class HttpRunner {
  readonly #o: HttpRunnerOptions;
  readonly #guard: OutboundGuard;
  /** The client, loaded on first use (undici is ~110 modules: not worth loading at every start-up). */
  #client: Promise<{ agent: Agent; request: typeof import('undici').request }> | null = null;
  readonly #inflight = new Set<InFlight>();
  readonly #byRun = new Map<string, InFlight>();

  constructor(opts: HttpRunnerOptions) {
    this.#o = opts;
    this.#guard = createOutboundGuard(opts.outboundAllow, opts.baseLookup ? { baseLookup: opts.baseLookup } : {});
  }

  /** Loads the client now, ahead of the first run that needs it (the executor's prepare). */
  warm(): void {
    void this.#loadClient();
  }

  #loadClient(): Promise<{ agent: Agent; request: typeof import('undici').request }> {
    this.#client ??= import('undici').then(({ Agent, request }) => ({
      agent: new Agent({
        // Every new connection resolves through the guard: the address checked is the one used.
        connect: { lookup: this.#guard.lookup },
        // The run's own deadline governs; undici's 300 s defaults would only hide it.
        headersTimeout: 0,
        bodyTimeout: 0,
      }),
      request,
    }));
    return this.#client;
  }

  /** Runs one http job; never rejects. */
  async run(job: RunJob): Promise<RunOutcome> {
    try {
      return await this.#run(job);
    } catch (err) {
      return failedOutcome(this.#o.clock, 'internal', `http runner bug: ${(err as Error).message}`);
    }
  }

  /** Waits up to `graceMs` for runs in flight, aborts the rest (`shutting_down`), closes connections. */
  async close(graceMs: number): Promise<void> {
    if (this.#inflight.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inflight].map((r) => r.done)),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    for (const r of this.#inflight) r.abortForClose();
    await Promise.allSettled([...this.#inflight].map((r) => r.done));
    if (this.#client !== null) await (await this.#client).agent.destroy().catch(() => undefined);
  }

  /** Cancels the run with this id if it is in flight here. */
  cancel(runId: string): boolean {
    const entry = this.#byRun.get(runId);
    if (entry === undefined) return false;
    entry.cancel();
    return true;
  }

  async #run(job: RunJob): Promise<RunOutcome> {
    const clock = this.#o.clock;
    const problems = validateHttpSpec(job.spec);
    if (problems.length > 0) {
      return failedOutcome(clock, 'invalid_spec', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { errors: problems });
    }
    const spec = job.spec as HttpSpec;

    const ac = new AbortController();
    let why: 'timeout' | 'cancel' | 'close' | null = null;
    const stop = (reason: 'timeout' | 'cancel' | 'close'): void => {
      why ??= reason;
      ac.abort();
    };
    // setTimeout treats delays past 2^31-1 ms as 1 ms.
    const timer = setTimeout(() => stop('timeout'), Math.min(job.timeoutMs, 2 ** 31 - 1));
    const exchange = this.#exchange(job, spec, ac.signal);
    const entry = { done: exchange, abortForClose: () => stop('close'), cancel: () => stop('cancel') };
    this.#inflight.add(entry);
    this.#byRun.set(job.runId, entry);
    try {
      return await exchange;
    } catch (err) {
      if (why === 'timeout') {
        return makeOutcome(clock, 'timed_out', { error: { code: 'timeout', message: `no complete response within ${job.timeoutMs} ms` } });
      }
      if (why === 'cancel') return makeOutcome(clock, 'cancelled', { error: { code: 'cancelled', message: 'the run was cancelled' } });
      if (why === 'close') return failedOutcome(clock, 'shutting_down', 'the executor closed before the response arrived');
      const blocked = findOutboundBlocked(err);
      if (blocked) return this.#blocked(blocked.refusal);
      const e = err as NodeJS.ErrnoException & { cause?: { code?: string } };
      const code = e.code ?? e.cause?.code ?? e.name;
      return failedOutcome(clock, 'http_error', `request failed: ${e.message}${code ? ` (${code})` : ''}`, { code });
    } finally {
      this.#inflight.delete(entry);
      this.#byRun.delete(job.runId);
      clearTimeout(timer);
    }
  }

  #blocked(r: Refusal): RunOutcome {
    return failedOutcome(this.#o.clock, 'outbound_blocked', r.message, { host: r.host, address: r.address, category: r.category });
  }

  /** Sends the request and follows redirects; throws only network errors and aborts. */
  async #exchange(job: RunJob, spec: HttpSpec, signal: AbortSignal): Promise<RunOutcome> {
    const clock = this.#o.clock;
    let url = new URL(spec.url);
    let method = (spec.method ?? 'GET').toUpperCase();
    let body = spec.body === undefined ? undefined : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
    let headers = requestHeaders(spec, job, body);
    const { agent, request } = await this.#loadClient();
    for (let hop = 0; ; hop++) {
      // IP literals never go through DNS, so the connect-time lookup would not see them.
      const refused = this.#guard.checkHost(url.hostname);
      if (refused !== null) return this.#blocked(refused);

      const res = await request(url, { method: method as Dispatcher.HttpMethod, headers, body, signal, dispatcher: agent });
      const location = res.headers.location;
      // A redirect the task expects (expectStatus: 302) is the answer, not a hop.
      if (REDIRECTS.has(res.statusCode) && typeof location === 'string' && !(spec.expectStatus !== undefined && statusExpected(spec, res.statusCode))) {
        await res.body.dump();
        if (hop >= MAX_REDIRECTS) {
          return failedOutcome(clock, 'http_too_many_redirects', `more than ${MAX_REDIRECTS} redirects`, { lastUrl: url.href, status: res.statusCode });
        }
        const next = new URL(location, url);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          return this.#blocked({ host: next.host, address: next.href, category: 'invalid', message: `refused to follow a redirect to ${next.protocol} (only http and https)` });
        }
        // Only a safe list goes on to another origin: a task's credentials are for its own host.
        if (next.origin !== url.origin) headers = crossOriginHeaders(headers);
        // As browsers do: 303 always, and 301/302 after a POST, continue as a GET without body.
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          if (method !== 'HEAD') method = 'GET';
          body = undefined;
          headers = { ...headers };
          delete headers['content-type'];
        }
        url = next;
        continue;
      }

      const max = this.#o.bodyExcerptBytes;
      if (method === 'HEAD') await res.body.dump();
      const { bytes, truncated } = method === 'HEAD' ? { bytes: Buffer.alloc(0), truncated: false } : await readExcerpt(res.body, max);
      const kept = pickHeaders(res.headers);
      const result: HttpResult = { status: res.statusCode, headers: kept, body: decodeBody(bytes, truncated, kept['content-type']), bodyTruncated: truncated };
      if (statusExpected(spec, res.statusCode)) return makeOutcome(clock, 'succeeded', { result });
      const expected = spec.expectStatus === undefined ? 'a 2xx status' : `status ${[spec.expectStatus].flat().join(' or ')}`;
      return failedOutcome(clock, 'http_status', `got status ${res.statusCode}, expected ${expected}`, { status: res.statusCode, url: url.href }, { result });
    }
  }
}
