// Scopes narrow what a key's role allows; they never widen it. A key without scopes (the default,
// and every key made before scopes) may do everything its role allows. A key with scopes may
// still read everything its role and namespaces allow, but may change only what a scope names:
//
//   tasks:write          create, change, schedule, run, pause, resume and delete tasks of any kind
//   tasks:write:<kind>   the same, for tasks of one kind (http, module, script, shell)
//   runs:write           cancel and reschedule runs
//   channels:write       create, change, test and delete notification channels
//   alerts:write         create, change and delete alert rules
//   keys:write           create, rotate and revoke API keys (admin keys only)
//
// Running a task counts as writing it (its payload and timing decide what runs, as for shell
// tasks in services/shell-guard.ts). Two checks use this file, and nothing else decides: the auth
// hook, for every non-read route by the area its route declares (`config.scope`; a write route
// that declares none is refused to scoped keys), and the task services, for the kind of the task
// a request touches (`requireTaskWrite` in shell-guard.ts).

import { SundialError } from '../core/errors.js';
import type { FieldError } from '../core/errors.js';
import { TASK_KINDS, type Actor, type TaskKind } from '../core/types.js';

/** What a write route changes. */
export type WriteArea = 'tasks' | 'runs' | 'channels' | 'alerts' | 'keys';

export const WRITE_AREAS: readonly WriteArea[] = ['tasks', 'runs', 'channels', 'alerts', 'keys'];
const KINDS: readonly TaskKind[] = TASK_KINDS;

/** Every scope a key may carry. */
export const SCOPES: readonly string[] = [...WRITE_AREAS.map((a) => `${a}:write`), ...KINDS.map((k) => `tasks:write:${k}`)];

/** Most scopes on one key (there are only so many). */
export const MAX_SCOPES = SCOPES.length;

/** Field errors of a requested scope list (unknown scopes, repeats). */
export function scopeErrors(scopes: readonly string[], path = '/scopes'): FieldError[] {
  const errors: FieldError[] = [];
  scopes.forEach((s, i) => {
    if (!SCOPES.includes(s)) errors.push({ path: `${path}/${i}`, message: `is not a scope; use one of ${SCOPES.join(', ')}` });
    else if (scopes.indexOf(s) !== i) errors.push({ path: `${path}/${i}`, message: `repeats "${s}"` });
  });
  return errors;
}

/**
 * True when the actor's scopes allow writing in `area` (for tasks, of `kind`; without a kind:
 * of some kind). No scopes: true.
 */
export function scopeAllows(actor: Actor, area: WriteArea, kind?: TaskKind): boolean {
  const scopes = actor.scopes;
  if (scopes === undefined) return true;
  if (scopes.includes(`${area}:write`)) return true;
  if (area !== 'tasks') return false;
  return kind === undefined ? scopes.some((s) => s.startsWith('tasks:write:')) : scopes.includes(`tasks:write:${kind}`);
}

/** Throws `forbidden` unless the actor's scopes allow writing in `area` (of `kind`). */
export function requireScope(actor: Actor, area: WriteArea | undefined, kind?: TaskKind): void {
  if (actor.scopes === undefined) return;
  if (area === undefined) throw new SundialError('forbidden', 'keys with scopes may not use this route; use a key without scopes');
  if (!scopeAllows(actor, area, kind)) {
    const needed = kind === undefined ? `${area}:write` : `tasks:write or tasks:write:${kind}`;
    throw new SundialError('forbidden', `this key's scopes (${actor.scopes.join(', ') || 'none'}) do not include ${needed}`);
  }
}
