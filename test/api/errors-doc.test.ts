// docs/errors.md documents every code of ERROR_CATALOG, with its status, a cause and a fix.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CATALOG } from '../../src/core/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

test('every error code has a section with its status, cause and fix', () => {
  for (const [code, { status }] of Object.entries(ERROR_CATALOG)) {
    const start = doc.indexOf(`\n## \`${code}\``);
    assert.ok(start >= 0, `docs/errors.md has no "## \`${code}\`" section`);
    const next = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, next < 0 ? undefined : next);
    assert.match(section, new RegExp(`\\b${status}\\b`), `${code}: status ${status} not stated`);
    assert.match(section, /\*\*Cause\*\*/, `${code}: no cause`);
    assert.match(section, /\*\*Solve\*\*|\*\*Fix\*\*/, `${code}: no fix`);
  }
});

test('the doc names no code the catalog lacks', () => {
  const documented = [...doc.matchAll(/\n## `([a-z_]+)`/g)].map((m) => m[1]);
  for (const code of documented) assert.ok(code! in ERROR_CATALOG, `docs/errors.md documents unknown code ${code}`);
});

// Run error codes (the run's `error.code`, not API answers): test/core/run-errors-doc.test.ts.
