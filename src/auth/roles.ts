// What a key may do: roles are ordered (viewer < operator < admin) and a key's namespaces bound
// what it may read or change. Admin keys cover every namespace.

import { SundialError } from '../core/errors.js';
import type { Actor, NamespaceScope, Role } from '../core/types.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Roles, weakest first. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** True when `actor`'s role is `min` or stronger. */
export function hasRole(actor: Actor, min: Role): boolean {
  return RANK[actor.role] >= RANK[min];
}

/** Throws `forbidden` unless `actor`'s role is `min` or stronger. */
export function requireRole(actor: Actor, min: Role): void {
  if (!hasRole(actor, min)) {
    throw new SundialError('forbidden', `this needs the ${min} role; your key has the ${actor.role} role`);
  }
}

/** True when the key may read and change things in `namespace`. */
export function coversNamespace(actor: Actor, namespace: string): boolean {
  return actor.role === 'admin' || actor.namespaces.includes('*') || actor.namespaces.includes(namespace);
}

/** Throws `forbidden` unless the key covers `namespace` (for creating things there). */
export function requireNamespace(actor: Actor, namespace: string): void {
  if (!coversNamespace(actor, namespace)) {
    throw new SundialError('forbidden', `your key does not cover namespace "${namespace}"`);
  }
}

/** The namespaces a read may see: the requested one when covered (else none), or all the key covers. */
export function readScope(actor: Actor, requested?: string): NamespaceScope {
  if (requested !== undefined) return coversNamespace(actor, requested) ? [requested] : [];
  if (actor.role === 'admin' || actor.namespaces.includes('*')) return '*';
  return actor.namespaces;
}

/** Where names resolve and new tasks go when the request names no namespace: the key's only namespace, else `default`. */
export function homeNamespace(actor: Actor): string {
  const [only, ...rest] = actor.namespaces;
  return only !== undefined && rest.length === 0 && only !== '*' ? only : 'default';
}
