// Validation of `http` task specs, shared by the API (refuse at create time, 400 with field
// errors) and the runner (a spec that slipped through fails `invalid_spec` instead of throwing).

import type { FieldError } from '../core/errors.js';
import type { HttpSpec } from '../core/types.js';

/** Methods an http task may use. CONNECT and TRACE are proxy and debugging tools, not task work. */
export const HTTP_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Headers the HTTP client owns (framing, routing); a task may not set them. */
const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
]);

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const KNOWN_FIELDS: ReadonlySet<string> = new Set(['url', 'method', 'headers', 'body', 'expectStatus']);

function isStatus(x: unknown): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= 100 && x <= 599;
}

/** Field errors (paths under `/spec`) for an http spec; empty when the spec is usable. */
export function validateHttpSpec(spec: unknown): FieldError[] {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return [{ path: '/spec', message: 'must be an object' }];
  const s = spec as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(s)) {
    if (!KNOWN_FIELDS.has(key)) errors.push({ path: `/spec/${key}`, message: 'unknown field (url, method, headers, body, expectStatus)' });
  }

  if (typeof s.url !== 'string' || s.url === '') {
    errors.push({ path: '/spec/url', message: 'must be an absolute http:// or https:// URL' });
  } else {
    let url: URL | null = null;
    try {
      url = new URL(s.url);
    } catch {
      errors.push({ path: '/spec/url', message: 'is not a valid URL' });
    }
    if (url !== null) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') errors.push({ path: '/spec/url', message: 'scheme must be http or https' });
      else if (url.hostname === '') errors.push({ path: '/spec/url', message: 'has no host' });
      if (url.username !== '' || url.password !== '') {
        errors.push({ path: '/spec/url', message: 'must not carry credentials; send them in headers' });
      }
    }
  }

  let method = 'GET';
  if (s.method !== undefined) {
    if (typeof s.method !== 'string' || !HTTP_METHODS.includes(s.method.toUpperCase())) {
      errors.push({ path: '/spec/method', message: `must be one of ${HTTP_METHODS.join(', ')}` });
    } else {
      method = s.method.toUpperCase();
    }
  }

  if (s.headers !== undefined) {
    if (s.headers === null || typeof s.headers !== 'object' || Array.isArray(s.headers)) {
      errors.push({ path: '/spec/headers', message: 'must be an object of header names to string values' });
    } else {
      for (const [name, value] of Object.entries(s.headers as Record<string, unknown>)) {
        const path = `/spec/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (!TOKEN_RE.test(name)) errors.push({ path, message: 'is not a valid header name' });
        else if (FORBIDDEN_HEADERS.has(name.toLowerCase())) errors.push({ path, message: 'is set by the HTTP client and cannot be overridden' });
        if (typeof value !== 'string') errors.push({ path, message: 'value must be a string' });
        else if (/[\r\n\0]/.test(value)) errors.push({ path, message: 'value must not contain CR, LF or NUL' });
      }
    }
  }

  if (s.body !== undefined) {
    if (method === 'GET' || method === 'HEAD') {
      errors.push({ path: '/spec/body', message: `a ${method} request cannot have a body` });
    } else if (typeof s.body !== 'string') {
      try {
        if (JSON.stringify(s.body) === undefined) errors.push({ path: '/spec/body', message: 'must be a string or JSON' });
      } catch {
        errors.push({ path: '/spec/body', message: 'must be a string or JSON' });
      }
    }
  }

  if (s.expectStatus !== undefined) {
    const ok = Array.isArray(s.expectStatus) ? s.expectStatus.length > 0 && s.expectStatus.every(isStatus) : isStatus(s.expectStatus);
    if (!ok) errors.push({ path: '/spec/expectStatus', message: 'must be a status code (100-599) or a non-empty list of them' });
  }
  return errors;
}

/** True when `status` counts as success for `spec` (its expectStatus, or any 2xx). */
export function statusExpected(spec: HttpSpec, status: number): boolean {
  const e = spec.expectStatus;
  if (e === undefined) return status >= 200 && status <= 299;
  return Array.isArray(e) ? e.includes(status) : e === status;
}
