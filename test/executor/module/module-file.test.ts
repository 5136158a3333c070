import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SundialError } from '../../../src/core/errors.js';
import { checkModuleFile, resolveModuleFile } from '../../../src/executor/module/module-file.js';

describe('module files must live under the tasks directory', () => {
  let root: string;
  let tasks: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sundial-modfile-'));
    tasks = join(root, 'tasks');
    mkdirSync(join(tasks, 'sub'), { recursive: true });
    writeFileSync(join(tasks, 'a.js'), 'export default () => 1;');
    writeFileSync(join(tasks, 'sub', 'b.js'), 'export default () => 2;');
    writeFileSync(join(root, 'secret.js'), 'export default () => "secret";');
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'c.js'), 'export default () => 3;');
    symlinkSync(join(root, 'secret.js'), join(tasks, 'escape.js'));
    symlinkSync(join(root, 'elsewhere'), join(tasks, 'linked-dir'));
    symlinkSync(join(tasks, 'sub', 'b.js'), join(tasks, 'inside-link.js'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('resolves plain and nested files to their real path', () => {
    assert.equal(resolveModuleFile(tasks, 'a.js'), join(tasks, 'a.js'));
    assert.equal(resolveModuleFile(tasks, 'sub/b.js'), join(tasks, 'sub', 'b.js'));
    assert.equal(resolveModuleFile(tasks, './sub/../a.js'), join(tasks, 'a.js'));
  });

  it('follows a symlink that stays inside', () => {
    assert.equal(resolveModuleFile(tasks, 'inside-link.js'), join(tasks, 'sub', 'b.js'));
  });

  const refused: [string, string, string][] = [
    ['../secret.js', 'module_outside_tasks_dir', 'parent directory'],
    ['sub/../../secret.js', 'module_outside_tasks_dir', 'climbing out through a subfolder'],
    ['escape.js', 'module_outside_tasks_dir', 'a symlink to a file outside'],
    ['linked-dir/c.js', 'module_outside_tasks_dir', 'a symlinked directory outside'],
    ['missing.js', 'module_not_found', 'a missing file'],
    ['sub', 'module_not_found', 'a directory'],
    ['', 'module_not_found', 'an empty path'],
    ['a.js\0', 'module_not_found', 'a NUL byte'],
  ];
  for (const [file, code, what] of refused) {
    it(`refuses ${what} (${JSON.stringify(file)}) as ${code}`, () => {
      const r = checkModuleFile(tasks, file);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, code);
    });
  }

  it('refuses absolute paths, even ones inside the directory', () => {
    const r = checkModuleFile(tasks, join(tasks, 'a.js'));
    assert.equal(!r.ok && r.code, 'module_outside_tasks_dir');
  });

  it('throws validation_failed with a field error at /spec/file for the API', () => {
    assert.throws(
      () => resolveModuleFile(tasks, '../secret.js'),
      (err: unknown) =>
        err instanceof SundialError &&
        err.code === 'validation_failed' &&
        err.errors?.[0]?.path === '/spec/file' &&
        err.extra?.reason === 'module_outside_tasks_dir',
    );
  });

  it('a tasks directory that does not exist refuses every file', () => {
    const r = checkModuleFile(join(root, 'nope'), 'a.js');
    assert.equal(!r.ok && r.code, 'module_not_found');
  });
});
