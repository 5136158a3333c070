// The CLI's only way to the server: fetch with the key, the namespace and a timeout, and every
// failure turned into one of two errors the entry point knows how to print (ApiError for an
// answer that is not 2xx, ConnectionError for no answer at all).

/** One field error of a problem (`errors` in problem+json). */
export interface FieldProblem {
  path: string;
  message: string;
}

/** An RFC 9457 problem as the server sends it (every field may be missing from a proxy's answer). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldProblem[];
}

/** The server answered with a status outside 2xx. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly statusText: string,
    /** The problem document, when the body was one. */
    readonly problem: Problem | null,
    /** The body as received, for answers that are not problems (e.g. a proxy's HTML page). */
    readonly bodyText: string,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status} ${statusText}`.trim());
  }
}

/** No answer: refused, unresolvable host, reset, or timed out. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly url: string,
    /** Short machine reason, e.g. ECONNREFUSED, ENOTFOUND, timeout. */
    readonly reason: string,
  ) {
    super(
      reason === 'timeout'
        ? `no answer from Sundial at ${url} in time`
        : `cannot connect to Sundial at ${url} (${reason})`,
    );
  }
}

/** Query parameters; undefined and null values are left out. */
export type Query = Record<string, string | number | boolean | undefined | null>;

/** Options of one request. */
export interface RequestOptions {
  query?: Query;
  /** Sent as JSON when defined. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A 2xx answer with its body parsed (JSON when it is JSON, text otherwise, undefined when empty). */
export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** How to reach the server. */
export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  /** Sent as the `namespace` query parameter of every request. */
  namespace?: string;
  /** Per request; streams (`openStream`) have none. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A small JSON client for the Sundial API. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly namespace: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ApiClientOptions) {
    // Joined by hand rather than with new URL(path, base) so a base behind a path prefix
    // (https://host/sundial) keeps its prefix.
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token === '' ? undefined : opts.token;
    this.namespace = opts.namespace === '' ? undefined : opts.namespace;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = opts.fetchImpl ?? fetch;
  }

  /** The full URL of a path with its query (and the namespace). */
  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null) params.append(k, String(v));
    }
    if (this.namespace !== undefined && !params.has('namespace')) params.append('namespace', this.namespace);
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs === '' ? '' : `?${qs}`}`;
  }

  /** Sends a request; resolves on 2xx, throws ApiError or ConnectionError otherwise. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const res = await this.send(method, path, opts, AbortSignal.timeout(this.timeoutMs));
    const text = await res.text();
    const body = parseBody(text, res.headers.get('content-type'));
    if (!res.ok) throw toApiError(res, body, text);
    return { status: res.status, headers: res.headers, body };
  }

  /** GET and return the body. */
  async get(path: string, query?: Query): Promise<unknown> {
    return (await this.request('GET', path, { query })).body;
  }

  /** POST a JSON body and return the answer's body. */
  async post(path: string, body?: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<unknown> {
    return (await this.request('POST', path, { ...opts, body })).body;
  }

  /** Opens a long-lived response (server-sent events); no timeout, the caller reads the body. */
  async openStream(path: string, query?: Query, signal?: AbortSignal): Promise<Response> {
    const res = await this.send('GET', path, { query, headers: { accept: 'text/event-stream' } }, signal);
    if (!res.ok) {
      const text = await res.text();
      throw toApiError(res, parseBody(text, res.headers.get('content-type')), text);
    }
    return res;
  }

  private async send(method: string, path: string, opts: RequestOptions, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.body);
    }
    try {
      return await this.fetchImpl(this.url(path, opts.query), { method, headers, body: payload, signal });
    } catch (err) {
      throw new ConnectionError(this.baseUrl, failureReason(err));
    }
  }
}

/** Lists in the API are `{ items, nextCursor }`; a bare array is accepted too. */
export function itemsOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (isRecord(body) && Array.isArray(body.items)) return body.items;
  return [];
}

/** The `nextCursor` of a page, or null. */
export function nextCursorOf(body: unknown): string | null {
  return isRecord(body) && typeof body.nextCursor === 'string' && body.nextCursor !== '' ? body.nextCursor : null;
}

/** True for plain JSON objects. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Encodes one path segment (task names may hold spaces or slashes). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return undefined;
  if (contentType !== null && /[/+]json\b/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function toApiError(res: Response, body: unknown, text: string): ApiError {
  let problem: Problem | null = null;
  if (isRecord(body) && (typeof body.title === 'string' || typeof body.detail === 'string')) {
    problem = {
      type: typeof body.type === 'string' ? body.type : undefined,
      title: typeof body.title === 'string' ? body.title : undefined,
      status: typeof body.status === 'number' ? body.status : undefined,
      detail: typeof body.detail === 'string' ? body.detail : undefined,
      errors: Array.isArray(body.errors)
        ? body.errors.filter(isRecord).map((e) => ({ path: String(e.path ?? ''), message: String(e.message ?? '') }))
        : undefined,
    };
  }
  return new ApiError(res.status, res.statusText, problem, text);
}

// fetch reports every network failure as TypeError('fetch failed') with the system error as
// its cause; the cause's code is what tells a person what to fix.
function failureReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timeout';
  let cur: unknown = err;
  let innermost = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 4 && cur instanceof Error; depth++) {
    const code = (cur as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code === 'UND_ERR_CONNECT_TIMEOUT' ? 'timeout' : code;
    innermost = cur.message;
    cur = cur.cause;
  }
  // No system code (e.g. fetch refusing a port it blocks): the deepest message says the most.
  return innermost;
}
