// The dashboard's API types are generated from the server's OpenAPI document; this fails when a
// route changed and `npm run ui:types` was not run, so the UI never compiles against stale types.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { generateApiTypes, SCHEMA_FILE } from '../../scripts/ui-api-types.js';

test('ui/src/api/schema.d.ts matches the server’s /openapi.json', async () => {
  const fresh = await generateApiTypes();
  assert.ok(fresh.includes('"/v1/tasks"'), 'the generated types describe the task routes');
  assert.ok(readFileSync(SCHEMA_FILE, 'utf8') === fresh, 'ui/src/api/schema.d.ts is out of date: run `npm run ui:types`');
});
