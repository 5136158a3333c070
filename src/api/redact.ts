// What of a task's spec a key may see. Specs carry credentials (an http task's Authorization
// header, a shell task's environment) and, until tasks can reference a secrets store, those live
// in the spec itself. Viewers only watch: they never see a credential-like header's value.
// Shell environments are shown to admins only, the only role that may manage shell tasks; values
// there cannot be told apart from secrets by their names. Operators see http headers: they create
// and edit those tasks, and a PATCH replaces the whole spec, so they must be able to read it back.

import type { Role, TaskKind } from '../core/types.js';

/** What a hidden value reads as. */
export const REDACTED = '[redacted]';

/** Header names that carry credentials: the usual ones, and any name that says so. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|key|auth|password|passwd|credential|session|signature/i;

/** True when the header's value is hidden from viewers. */
export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name);
}

/** Only the values that need hiding are replaced; the spec itself is never changed. */
function hideValues(values: unknown, hide: (name: string) => boolean): unknown {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return values;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) out[name] = hide(name) ? REDACTED : value;
  return out;
}

/** The spec as a key with `role` may see it. */
export function specFor(role: Role, kind: TaskKind, spec: unknown): unknown {
  if (role === 'admin' || spec === null || typeof spec !== 'object') return spec;
  const s = spec as Record<string, unknown>;
  if (kind === 'http' && role === 'viewer' && s.headers !== undefined) return { ...s, headers: hideValues(s.headers, isCredentialHeader) };
  if (kind === 'shell' && s.env !== undefined) return { ...s, env: hideValues(s.env, () => true) };
  return spec;
}
