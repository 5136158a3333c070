// The scope model (issue 12, item 5): scopes narrow writes by area and task kind; no scopes, no narrowing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireScope, scopeAllows, scopeErrors, SCOPES } from '../../src/auth/scopes.js';
import type { Actor } from '../../src/core/types.js';

const actor = (scopes?: string[]): Actor => ({ id: 'key:x', role: 'operator', namespaces: ['*'], ...(scopes && { scopes }) });

test('no scopes allow everything', () => {
  for (const area of ['tasks', 'runs', 'channels', 'alerts', 'keys'] as const) assert.ok(scopeAllows(actor(), area));
  assert.ok(scopeAllows(actor(), 'tasks', 'shell'));
});

test('tasks:write covers every kind, tasks:write:<kind> one kind', () => {
  assert.ok(scopeAllows(actor(['tasks:write']), 'tasks', 'script'));
  const http = actor(['tasks:write:http']);
  assert.ok(scopeAllows(http, 'tasks'), 'the route-level check: some kind');
  assert.ok(scopeAllows(http, 'tasks', 'http'));
  assert.ok(!scopeAllows(http, 'tasks', 'module'));
  assert.ok(!scopeAllows(http, 'runs'));
  assert.throws(() => requireScope(http, 'tasks', 'script'), /tasks:write:script/);
});

test('an empty scope list allows no writes; a route without an area is refused to scoped keys', () => {
  assert.ok(!scopeAllows(actor([]), 'tasks'));
  assert.throws(() => requireScope(actor([]), 'runs'), { code: 'forbidden' });
  assert.throws(() => requireScope(actor(['tasks:write']), undefined), { code: 'forbidden' });
  requireScope(actor(), undefined);
});

test('unknown and repeated scopes are field errors', () => {
  assert.deepEqual(scopeErrors(['runs:write']), []);
  assert.equal(scopeErrors(['tasks:write:cobol', 'runs:write', 'runs:write']).length, 2);
  assert.ok(SCOPES.includes('tasks:write:shell'));
});
