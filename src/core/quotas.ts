// Per-namespace quotas (SUNDIAL_QUOTAS): what one namespace may hold and use, so one tenant
// cannot crowd out the others. Given as JSON by namespace, with `*` as the default of every
// namespace not named (a named namespace's fields override the default's one by one):
//
//   {"*": {"tasks": 10000, "concurrentRuns": 500}, "tenant-a": {"tasks": 100, "runsPerMinute": 600}}
//
// Where each one is enforced: tasks and scriptMemoryBytes by the API (a 4xx, nothing changes),
// runsPerMinute by the API for runs it creates (429 with Retry-After), concurrentRuns by each
// node's admission (runs beyond it wait, as for a concurrency key).

import type { FieldError } from './errors.js';
import { NAMESPACE_PATTERN, NAMESPACE_RULE } from './namespace-name.js';

/** What one namespace may hold and use; a missing field is no limit. */
export interface NamespaceQuota {
  /** Most tasks the namespace may hold. */
  tasks?: number;
  /** Most runs the API creates for the namespace per minute (run now, run at), on each node. */
  runsPerMinute?: number;
  /** Most runs of the namespace running at once on each node; more wait for one to end. */
  concurrentRuns?: number;
  /** Most interpreter memory a `script` run of the namespace gets (bytes), whatever its spec asks. */
  scriptMemoryBytes?: number;
}

/** Quotas by namespace; `*` is the default. */
export type Quotas = ReadonlyMap<string, NamespaceQuota>;

export const NO_QUOTAS: Quotas = new Map();

const FIELDS: Readonly<Record<keyof NamespaceQuota, { min: number }>> = {
  tasks: { min: 0 },
  runsPerMinute: { min: 1 },
  concurrentRuns: { min: 1 },
  scriptMemoryBytes: { min: 1024 * 1024 },
};

const NAMESPACE = new RegExp(NAMESPACE_PATTERN);

/** Parses SUNDIAL_QUOTAS ('' for none); errors name the offending field. */
export function parseQuotas(text: string, where = 'quotas'): { quotas: Quotas; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (text.trim() === '') return { quotas: NO_QUOTAS, errors };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { quotas: NO_QUOTAS, errors: [{ path: where, message: `is not JSON (${(err as Error).message})` }] };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { quotas: NO_QUOTAS, errors: [{ path: where, message: 'must be a JSON object of namespaces ({"*": {…}, "name": {…}})' }] };
  }
  const quotas = new Map<string, NamespaceQuota>();
  for (const [ns, value] of Object.entries(doc as Record<string, unknown>)) {
    const path = `${where}.${ns}`;
    if (ns !== '*' && !NAMESPACE.test(ns)) {
      errors.push({ path, message: `is not a namespace name: it ${NAMESPACE_RULE} (or is * for every other namespace)` });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push({ path, message: `must be an object with any of ${Object.keys(FIELDS).join(', ')}` });
      continue;
    }
    const quota: NamespaceQuota = {};
    for (const [field, n] of Object.entries(value as Record<string, unknown>)) {
      const spec = FIELDS[field as keyof NamespaceQuota] as { min: number } | undefined;
      if (spec === undefined) {
        errors.push({ path: `${path}.${field}`, message: `is not a quota (known: ${Object.keys(FIELDS).join(', ')})` });
      } else if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < spec.min) {
        errors.push({ path: `${path}.${field}`, message: `must be a whole number of at least ${spec.min}` });
      } else {
        quota[field as keyof NamespaceQuota] = n;
      }
    }
    quotas.set(ns, quota);
  }
  return { quotas: errors.length > 0 ? NO_QUOTAS : quotas, errors };
}

/** The quota of `namespace`: its own fields over the default's. */
export function quotaOf(quotas: Quotas, namespace: string): NamespaceQuota {
  const own = quotas.get(namespace);
  const def = quotas.get('*');
  if (own === undefined) return def ?? {};
  return def === undefined ? own : { ...def, ...own };
}

/** The concurrentRuns cap by namespace for admission, or undefined when no namespace has one. */
export function namespaceCap(quotas: Quotas): ((namespace: string) => number | undefined) | undefined {
  if (![...quotas.values()].some((q) => q.concurrentRuns !== undefined)) return undefined;
  return (namespace) => quotaOf(quotas, namespace).concurrentRuns;
}

/** The scriptMemoryBytes cap by namespace for the script pool, or undefined when no namespace has one. */
export function namespaceScriptMemory(quotas: Quotas): ((namespace: string) => number | undefined) | undefined {
  if (![...quotas.values()].some((q) => q.scriptMemoryBytes !== undefined)) return undefined;
  return (namespace) => quotaOf(quotas, namespace).scriptMemoryBytes;
}
