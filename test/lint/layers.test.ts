// The layer rule in eslint.config.js (docs/architecture.md, "Layers") fires on an upward import
// and lets a legal one pass. Snippets are linted as if they lived at the given path; no file is
// written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** Errors of no-restricted-imports for importing (or re-exporting) `spec` in a file at `filePath`. */
async function layerErrors(filePath: string, spec: string, form: 'value' | 'type' | 'export' = 'value'): Promise<string[]> {
  const code =
    form === 'value'
      ? `import { a } from '${spec}';\nexport const b = a;\n`
      : form === 'type'
        ? `import type { A } from '${spec}';\nexport type B = A;\n`
        : `export { a } from '${spec}';\n`;
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  assert.ok(result);
  assert.deepEqual(result.messages.filter((m) => m.fatal), [], 'the snippet parses');
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports' && m.severity === 2).map((m) => m.message);
}

const refused: [file: string, spec: string][] = [
  ['src/core/x.ts', '../store/store.js'],
  ['src/core/schedule/x.ts', '../../store/store.js'],
  ['src/core/x.ts', '../../package.json'],
  ['src/config/x.ts', '../executor/outbound-guard.js'],
  ['src/observability/x.ts', '../store/store.js'],
  ['src/executor/x.ts', '../store/store.js'],
  ['src/executor/x.ts', '../scheduler/dispatcher.js'],
  ['src/executor/pool/x.ts', '../../scheduler/dispatcher.js'],
  ['src/store/x.ts', '../executor/executor.js'],
  ['src/store/x.ts', './sqlite/sqlite-store.js'],
  ['src/store/sqlite/x.ts', '../postgres/pg-store.js'],
  ['src/store/sqlite/x.ts', '../../store/postgres/pg-store.js'],
  ['src/store/postgres/x.ts', '../sqlite/sqlite-store.js'],
  ['src/scheduler/x.ts', '../cluster/node-registry.js'],
  ['src/cluster/x.ts', '../scheduler/dispatcher.js'],
  ['src/auth/x.ts', '../services/index.js'],
  ['src/notify/x.ts', '../scheduler/dispatcher.js'],
  ['src/notify/x.ts', '../services/index.js'],
  ['src/store/x.ts', '../notify/deliverer.js'],
  ['src/alerts/x.ts', '../services/index.js'],
  ['src/alerts/x.ts', '../notify/deliverer.js'],
  ['src/notify/x.ts', '../alerts/evaluator.js'],
  ['src/scheduler/x.ts', '../notify/deliverer.js'],
  ['src/services/x.ts', '../api/build-app.js'],
  ['src/api/routes/x.ts', '../../cli/main.js'],
  ['src/api/x.ts', '../server.js'],
  ['src/cli/x.ts', '../api/build-app.js'],
  ['src/version.ts', './store/store.js'],
];

const allowed: [file: string, spec: string][] = [
  ['src/core/x.ts', './types.js'],
  ['src/core/x.ts', '../version.js'],
  ['src/core/schedule/x.ts', '../types.js'],
  ['src/config/x.ts', '../core/outbound-allow.js'],
  ['src/executor/pool/x.ts', '../module/x.js'],
  ['src/executor/pool/x.ts', '../../core/errors.js'],
  ['src/store/sqlite/x.ts', '../store.js'],
  ['src/store/copy/x.ts', '../postgres/pg-store.js'],
  ['src/scheduler/x.ts', '../store/store.js'],
  ['src/cluster/x.ts', '../scheduler/scheduler-control.js'],
  ['src/auth/x.ts', '../store/store.js'],
  ['src/notify/x.ts', '../store/store.js'],
  ['src/alerts/x.ts', '../store/store.js'],
  ['src/alerts/x.ts', '../observability/metrics.js'],
  ['src/notify/x.ts', '../executor/outbound-guard.js'],
  ['src/services/x.ts', '../notify/signature.js'],
  ['src/services/x.ts', '../scheduler/scheduler-control.js'],
  ['src/api/routes/x.ts', '../../services/index.js'],
  ['src/cli/commands/x.ts', '../../store/copy/copy.js'],
  ['src/server.ts', './api/build-app.js'],
  ['test/core/x.test.ts', '../../src/store/store.js'],
];

describe('layers (no-restricted-imports)', () => {
  for (const [file, spec] of refused) {
    it(`refuses ${spec} from ${file}`, async () => {
      for (const form of ['value', 'type', 'export'] as const) {
        const errors = await layerErrors(file, spec, form);
        assert.equal(errors.length, 1, `${form} import: ${JSON.stringify(errors)}`);
        assert.match(errors[0]!, /"Layers"/);
      }
    });
  }
  for (const [file, spec] of allowed) {
    it(`allows ${spec} from ${file}`, async () => {
      assert.deepEqual(await layerErrors(file, spec), []);
    });
  }
  it('names what the folder may import', async () => {
    const [message] = await layerErrors('src/core/x.ts', '../store/store.js');
    assert.match(message!, /src\/core may import only src\/version\.ts and its own files/);
  });
});
