// The run error codes (core/run-errors.ts) and their documentation stay in step, both ways:
// docs/errors.md has a section with the run status, a cause and a fix for every code and none for
// a code the catalog lacks; docs/api.md's table has every code with the catalog's meaning.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isRunErrorCode, RUN_ERROR_CODES, runError } from '../../src/core/run-errors.js';
import { ERROR_CATALOG } from '../../src/core/errors.js';

const codes = Object.keys(RUN_ERROR_CODES);

/** The text from `heading` to the next heading of the same level or higher (or the end). */
function part(doc: string, heading: string, level: number): string {
  const start = doc.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `no "${heading}" heading`);
  const ends = [...doc.slice(start + heading.length + 2).matchAll(/^(#+) /gm)].filter((m) => m[1]!.length <= level);
  return ends.length === 0 ? doc.slice(start) : doc.slice(start, start + heading.length + 2 + ends[0]!.index);
}

const errorsDoc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const runPart = part(errorsDoc, '## Run error codes', 2);

test('the catalog is not empty and every meaning is one line', () => {
  assert.ok(codes.length >= 30, `only ${codes.length} codes`);
  for (const [code, meaning] of Object.entries(RUN_ERROR_CODES)) {
    assert.match(code, /^[a-z][a-z_]*$/, `code ${code}`);
    assert.ok(meaning.length > 10 && !meaning.includes('\n'), `${code}: meaning must be one line`);
  }
});

test('docs/errors.md has a section for every run error code, with its run status, cause and fix', () => {
  for (const code of codes) {
    const section = part(runPart, `### \`${code}\``, 3);
    assert.match(section, /Run status `(failed|timed_out|cancelled)`/, `${code}: run status not stated`);
    assert.match(section, /\*\*Cause\*\*/, `${code}: no cause`);
    assert.match(section, /\*\*Solve\*\*/, `${code}: no fix`);
  }
});

test('docs/errors.md documents no run error code the catalog lacks', () => {
  const documented = [...runPart.matchAll(/^### `([^`]+)`/gm)].map((m) => m[1]!);
  assert.equal(documented.length, codes.length, 'one section per code');
  for (const code of documented) assert.ok(isRunErrorCode(code), `docs/errors.md documents unknown run error code ${code}`);
  // API codes are headed "## `code`", run codes "### `code`": none of the run sections may sit
  // among the API's (where the API doc test would take it for an API code).
  const apiPart = errorsDoc.slice(0, errorsDoc.indexOf('\n## Run error codes\n'));
  assert.doesNotMatch(apiPart, /^### `/m);
  for (const code of Object.keys(ERROR_CATALOG)) assert.ok(apiPart.includes(`\n## \`${code}\``), `API code ${code} left the API part`);
});

test('docs/api.md lists every run error code with the meaning of the catalog, and no other', () => {
  const api = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const table = part(api, '### Run error codes', 3);
  const rows = new Map([...table.matchAll(/^\| `([^`]+)` \| (.*) \|$/gm)].map((m) => [m[1]!, m[2]!]));
  for (const [code, meaning] of Object.entries(RUN_ERROR_CODES)) {
    assert.equal(rows.get(code), meaning, `docs/api.md: row of run error code ${code}`);
  }
  for (const code of rows.keys()) assert.ok(isRunErrorCode(code), `docs/api.md lists unknown run error code ${code}`);
});

test('isRunErrorCode knows the catalog and nothing else; runError builds the shape runs store', () => {
  assert.ok(isRunErrorCode('lost'));
  assert.ok(isRunErrorCode('plan_failed'));
  assert.ok(!isRunErrorCode('aborted'));
  assert.ok(!isRunErrorCode('toString'));
  assert.deepEqual(runError('timeout', 'too slow'), { code: 'timeout', message: 'too slow' });
  assert.deepEqual(runError('http_status', 'got 500', { status: 500 }), { code: 'http_status', message: 'got 500', detail: { status: 500 } });
  assert.ok(!('detail' in runError('lost', 'gone')));
});
