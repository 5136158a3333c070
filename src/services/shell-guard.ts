// Who may touch a shell task. A shell task runs commands on the host, and everything that decides
// what it runs or when is part of the command: its spec, its payload (the command's stdin), its
// schedule, whether it runs at all. So every change to a shell task's input or timing needs an
// admin key, not only editing it; an operator could otherwise run `["sh"]` with a payload of
// their choosing. Cancelling a run only stops it and stays open to operators.

import { createHash } from 'node:crypto';
import { SundialError } from '../core/errors.js';
import type { Actor, TaskKind } from '../core/types.js';
import { requireScope } from '../auth/scopes.js';

/** Throws `forbidden` unless `actor` is an admin, when the task is a shell task. */
export function requireShellAdmin(actor: Actor, kind: TaskKind, what: string): void {
  if (kind === 'shell' && actor.role !== 'admin') throw new SundialError('forbidden', `only admin keys may ${what} shell tasks`);
}

/**
 * Everything that decides what a task of `kind` runs or when: the shell rule above, and the key's
 * scopes (a key with `tasks:write:http` only may not touch a script task; auth/scopes.ts).
 */
export function requireTaskWrite(actor: Actor, kind: TaskKind, what: string): void {
  requireShellAdmin(actor, kind, what);
  requireScope(actor, 'tasks', kind);
}

/**
 * What an audit row says about a payload: that one was given and its SHA-256 (of its JSON), never
 * the payload itself, which may hold credentials or be large.
 */
export function payloadDigest(payload: unknown): { payloadSha256: string } {
  return { payloadSha256: createHash('sha256').update(JSON.stringify(payload) ?? 'undefined').digest('hex') };
}
