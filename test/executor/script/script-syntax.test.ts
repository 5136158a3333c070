import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkScriptSyntax, checkScriptSyntaxAsync, loadScriptSyntaxChecker } from '../../../src/executor/script/script-syntax.js';

describe('checkScriptSyntax', () => {
  before(() => loadScriptSyntaxChecker());

  it('accepts a valid module, including top-level await and modern syntax', () => {
    assert.equal(checkScriptSyntax('export default async function (ctx) { return /a+b/.test("aab") && class A { #x = 1; static {} } }'), null);
    assert.equal(checkScriptSyntax('await 1;\nexport default () => 1;'), null);
  });

  it('reports the first error with its line and column', () => {
    assert.deepEqual(checkScriptSyntax('export default async function () {}\nconst x = ;'), {
      message: "unexpected token in expression: ';'",
      line: 2,
      column: 11,
    });
    assert.deepEqual(checkScriptSyntax('\n\n  let let = 1'), { message: 'variable name expected', line: 3, column: 7 });
    assert.deepEqual(checkScriptSyntax('export default 1; export default 2'), {
      message: 'invalid redefinition of global identifier',
      line: 1,
      column: 35,
    });
  });

  it('never runs the code: an endless loop or a throw at top level only compiles', () => {
    const started = performance.now();
    assert.equal(checkScriptSyntax('for (;;) {}\nexport default 1'), null);
    assert.equal(checkScriptSyntax('throw new Error("top level");\nexport default 1'), null);
    assert.ok(performance.now() - started < 500);
  });

  it('refuses any import (scripts have no module loader)', () => {
    const e = checkScriptSyntax('import fs from "fs";\nexport default () => fs;');
    assert.ok(e !== null);
    assert.match(e.message, /could not load module 'fs'/);
  });

  it('deep nesting is a clean "stack overflow" error, not a crash of the caller', () => {
    const e = checkScriptSyntax('('.repeat(100_000));
    assert.ok(e !== null);
    assert.equal(e.message, 'stack overflow');
    assert.equal(e.line, 1);
    // The checker still works afterwards.
    assert.equal(checkScriptSyntax('export default () => [[[[1]]]]'), null);
  });

  it('checkScriptSyntaxAsync loads on demand', async () => {
    assert.deepEqual(await checkScriptSyntaxAsync('export default ('), { message: "unexpected token in expression: ''", line: 1, column: 17 });
  });
});
