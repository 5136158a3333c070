// ctx.fetch, host side: the one way a script reaches the network, so it must hold the same line
// as `http` tasks (the outbound guard) against a caller that is hostile by assumption. Requests
// come out of the sandbox as JSON and are checked field by field before anything is sent.

import { STATUS_CODES } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import { findOutboundBlocked, type OutboundGuard, type Refusal } from '../outbound-guard.js';
import { crossOriginHeaders } from '../redirect-headers.js';
import { FETCH_MAX_REDIRECTS } from './script-limits.js';

/** An error to recreate inside the sandbox: its name, message and optional code. */
class SandboxError extends Error {
  constructor(
    name: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = name;
  }
}

interface FetchRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  redirect: 'follow' | 'manual' | 'error';
}

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const NORMALISED_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

function blocked(r: Refusal): SandboxError {
  return new SandboxError('OutboundBlockedError', `outbound_blocked: ${r.message}`, 'outbound_blocked');
}

/** The request the prelude serialised, checked field by field (it came out of the sandbox). */
function parseRequest(json: string, maxBytes: number): FetchRequest {
  const raw = JSON.parse(json) as Record<string, unknown>;
  let url: URL;
  try {
    url = new URL(String(raw.url));
  } catch {
    throw new SandboxError('TypeError', `fetch: invalid URL ${JSON.stringify(String(raw.url).slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SandboxError('TypeError', `fetch: ${url.protocol} URLs are not supported (only http and https)`);
  let method = String(raw.method);
  if (!TOKEN_RE.test(method)) throw new SandboxError('TypeError', `fetch: invalid method ${JSON.stringify(method.slice(0, 50))}`);
  if (NORMALISED_METHODS.has(method.toUpperCase())) method = method.toUpperCase();
  const headers: Record<string, string> = {};
  for (const pair of Array.isArray(raw.headers) ? (raw.headers as unknown[]) : []) {
    const [name, value] = Array.isArray(pair) ? (pair as unknown[]).map(String) : ['', ''];
    if (!TOKEN_RE.test(name ?? '') || /[\r\n\0]/.test(value ?? '')) throw new SandboxError('TypeError', `fetch: invalid header ${JSON.stringify((name ?? '').slice(0, 100))}`);
    const key = name!.toLowerCase();
    headers[key] = headers[key] === undefined ? value! : `${headers[key]}, ${value}`;
  }
  const body = typeof raw.body === 'string' ? raw.body : undefined;
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw new SandboxError('TypeError', `fetch: a ${method} request cannot have a body`);
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > maxBytes) throw new SandboxError('TypeError', `fetch: the request body is larger than ${maxBytes} bytes`);
  const redirect = raw.redirect === 'manual' || raw.redirect === 'error' ? raw.redirect : 'follow';
  return { url, method, headers, body, redirect };
}

/** Reads a whole body, failing as soon as it passes `max` bytes (the rest is never read). */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new SandboxError('Error', `fetch: the response body is larger than ${max} bytes (the fetch limit)`, 'body_too_large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * ctx.fetch for every run of a thread: one undici Agent whose connections resolve through the
 * same outbound guard as `http` tasks (the address checked is the address connected, DNS
 * rebinding included), IP literals checked before connecting, and every redirect hop checked again.
 */
export class ScriptFetcher {
  readonly #guard: OutboundGuard;
  readonly #agent: Agent;
  readonly #maxBytes: number;

  constructor(guard: OutboundGuard, maxBytes: number) {
    this.#guard = guard;
    this.#maxBytes = maxBytes;
    // The run's own deadline governs; undici's 300 s defaults would only hide it.
    this.#agent = new Agent({ connect: { lookup: guard.lookup }, headersTimeout: 0, bodyTimeout: 0 });
  }

  /** Never rejects: the answer is a response or an error, each as JSON for the prelude. */
  async fetch(reqJson: string, signal: AbortSignal): Promise<{ error: string | null; response: string | null }> {
    try {
      const response = await this.#exchange(parseRequest(reqJson, this.#maxBytes), signal);
      return { error: null, response: JSON.stringify(response) };
    } catch (err) {
      return { error: JSON.stringify(this.#describe(err)), response: null };
    }
  }

  #describe(err: unknown): { name: string; message: string; code?: string } {
    if (err instanceof SandboxError) return err.code === undefined ? { name: err.name, message: err.message } : { name: err.name, message: err.message, code: err.code };
    const refused = findOutboundBlocked(err);
    if (refused !== null) return { name: 'OutboundBlockedError', message: `outbound_blocked: ${refused.refusal.message}`, code: 'outbound_blocked' };
    const e = err as NodeJS.ErrnoException & { cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code;
    return { name: 'TypeError', message: `fetch failed: ${e.cause?.message ?? e.message}${code ? ` (${code})` : ''}`, ...(code ? { code } : {}) };
  }

  async #exchange(req: FetchRequest, signal: AbortSignal): Promise<Record<string, unknown>> {
    let { url, method, headers, body } = req;
    let redirected = false;
    for (let hop = 0; ; hop++) {
      // IP literals never go through DNS, so the connect-time lookup would not see them.
      const refused = this.#guard.checkHost(url.hostname);
      if (refused !== null) throw blocked(refused);
      const res = await request(url, { method: method as Dispatcher.HttpMethod, headers, body, signal, dispatcher: this.#agent });
      const status = res.statusCode;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && typeof location === 'string' && req.redirect !== 'manual') {
        await res.body.dump();
        if (req.redirect === 'error') throw new SandboxError('TypeError', `fetch: got a ${status} redirect and redirect is "error"`);
        if (hop >= FETCH_MAX_REDIRECTS) throw new SandboxError('TypeError', `fetch: more than ${FETCH_MAX_REDIRECTS} redirects`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new SandboxError('TypeError', 'fetch: the redirect location is not a URL');
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new SandboxError('TypeError', `fetch: refused to follow a redirect to ${next.protocol}`);
        // Only a safe list goes on to another origin, as for http tasks (../redirect-headers.ts).
        if (next.origin !== url.origin) headers = crossOriginHeaders(headers);
        // As browsers do: 303 always, and 301/302 after a POST, continue as a GET without body.
        if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
          if (method !== 'HEAD') method = 'GET';
          body = undefined;
          headers = { ...headers };
          delete headers['content-type'];
          delete headers['content-length'];
        }
        url = next;
        redirected = true;
        continue;
      }
      const declared = Number(res.headers['content-length']);
      if (declared > this.#maxBytes) {
        res.body.destroy();
        throw new SandboxError('Error', `fetch: the response body is larger than ${this.#maxBytes} bytes (the fetch limit)`, 'body_too_large');
      }
      const bytes = method === 'HEAD' ? (await res.body.dump(), Buffer.alloc(0)) : await readCapped(res.body, this.#maxBytes);
      const pairs: [string, string][] = [];
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) pairs.push([k, Array.isArray(v) ? v.join(', ') : v]);
      return { status, statusText: STATUS_CODES[status] ?? '', url: url.href, redirected, headers: pairs, body: new TextDecoder('utf-8').decode(bytes) };
    }
  }
}
