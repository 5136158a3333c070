// References to secrets in task specs (docs/security.md, "Secrets"). A spec names a secret, never
// holds its value: `{{secrets.NAME}}` in an http task's URL, header values and body and in a shell
// task's `env` values; a script task lists the secrets its code may read in `spec.secrets` and
// gets them as `ctx.secrets.NAME`. Values are filled in at run time, in the executor, on a copy of
// the spec; the stored spec keeps the reference.

import type { TaskKind, TaskSpec } from '../types.js';

/** What a secret's name may be: an identifier, so `ctx.secrets.NAME` and `{{secrets.NAME}}` read plainly. */
export const SECRET_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';
const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);

/** `{{secrets.NAME}}`, spaces allowed inside the braces. */
const REFERENCE = /\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]{0,127})\s*\}\}/g;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Names referenced in one string. */
function namesIn(s: string, into: Set<string>): void {
  for (const m of s.matchAll(REFERENCE)) into.add(m[1]!);
}

/** Every string inside a JSON value (keys included), for bodies given as JSON. */
function eachString(v: unknown, fn: (s: string) => void): void {
  if (typeof v === 'string') fn(v);
  else if (Array.isArray(v)) for (const x of v) eachString(x, fn);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      fn(k);
      eachString(x, fn);
    }
  }
}

/** The secrets a spec of `kind` uses, sorted, without repeats. Specs of other kinds use none. */
export function secretReferences(kind: TaskKind, spec: unknown): string[] {
  const names = new Set<string>();
  if (spec === null || typeof spec !== 'object') return [];
  const s = spec as Record<string, unknown>;
  if (kind === 'http') {
    if (typeof s.url === 'string') namesIn(s.url, names);
    if (s.headers !== null && typeof s.headers === 'object') for (const v of Object.values(s.headers)) if (typeof v === 'string') namesIn(v, names);
    eachString(s.body, (x) => namesIn(x, names));
  } else if (kind === 'shell') {
    if (s.env !== null && typeof s.env === 'object') for (const v of Object.values(s.env)) if (typeof v === 'string') namesIn(v, names);
  } else if (kind === 'script') {
    if (Array.isArray(s.secrets)) for (const n of s.secrets) if (typeof n === 'string') names.add(n);
  }
  return [...names].sort();
}

/** Fills the references in `s`; `encode` shapes a value for where it goes (URLs: percent-encoding). */
function fill(s: string, values: ReadonlyMap<string, string>, encode: (v: string) => string = (v) => v): string {
  return s.replace(REFERENCE, (whole, name: string) => {
    const v = values.get(name);
    return v === undefined ? whole : encode(v);
  });
}

function fillJson(v: unknown, values: ReadonlyMap<string, string>): unknown {
  if (typeof v === 'string') return fill(v, values);
  if (Array.isArray(v)) return v.map((x) => fillJson(x, values));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[fill(k, values)] = fillJson(x, values);
    return out;
  }
  return v;
}

/**
 * A copy of `spec` with its references replaced by `values` (every name `secretReferences`
 * returned must be in it). In a URL a value is percent-encoded (it is one path segment or query
 * value, never the host); in headers, bodies and environment values it goes in as it is.
 */
export function bindSecretValues(kind: TaskKind, spec: TaskSpec, values: ReadonlyMap<string, string>): TaskSpec {
  const s = spec as unknown as Record<string, unknown>;
  if (kind === 'http') {
    const out: Record<string, unknown> = { ...s };
    if (typeof s.url === 'string') out.url = fill(s.url, values, encodeURIComponent);
    if (s.headers !== null && typeof s.headers === 'object') {
      out.headers = Object.fromEntries(Object.entries(s.headers as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? fill(v, values) : v]));
    }
    if (s.body !== undefined) out.body = fillJson(s.body, values);
    return out as unknown as TaskSpec;
  }
  if (kind === 'shell' && s.env !== null && typeof s.env === 'object') {
    const env = Object.fromEntries(Object.entries(s.env as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? fill(v, values) : v]));
    return { ...s, env } as unknown as TaskSpec;
  }
  return spec;
}
