// Where a `module` task's file may live: under the tasks directory, after every symlink is
// followed. Used twice: by the API to refuse a bad file when the task is created, and by the pool
// before each run (the file may have been moved or re-linked since).

import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { SundialError } from '../../core/errors.js';

/** Why a module file is refused; also the run's error code. */
export type ModuleFileProblem = 'module_not_found' | 'module_outside_tasks_dir';

export type ModuleFileCheck =
  | { ok: true; path: string }
  | { ok: false; code: ModuleFileProblem; message: string };

/** True when `child` is `dir` itself or below it (both absolute, normalised). */
function isInside(dir: string, child: string): boolean {
  const rel = relative(dir, child);
  return rel === '' ? false : !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
}

/** Checks `file` (relative to `tasksDir`) and returns its real absolute path, as a value. */
export function checkModuleFile(tasksDir: string, file: unknown): ModuleFileCheck {
  if (typeof file !== 'string' || file.trim() === '') {
    return { ok: false, code: 'module_not_found', message: 'file must be a non-empty path relative to the tasks directory' };
  }
  if (file.includes('\0')) return { ok: false, code: 'module_not_found', message: 'file contains a NUL byte' };
  if (isAbsolute(file)) {
    return { ok: false, code: 'module_outside_tasks_dir', message: 'file must be relative to the tasks directory, not absolute' };
  }
  const root = resolve(tasksDir);
  const lexical = resolve(root, file);
  // The lexical check refuses `../x` even when it does not exist, so the answer never depends on
  // what happens to be on disk outside the tasks directory.
  if (!isInside(root, lexical)) {
    return { ok: false, code: 'module_outside_tasks_dir', message: `${file} is outside the tasks directory` };
  }
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return { ok: false, code: 'module_not_found', message: `the tasks directory ${root} does not exist` };
  }
  try {
    real = realpathSync(lexical);
  } catch {
    return { ok: false, code: 'module_not_found', message: `${file} does not exist in the tasks directory` };
  }
  // A symlink inside the directory may point anywhere; only where it lands counts.
  if (!isInside(realRoot, real)) {
    return { ok: false, code: 'module_outside_tasks_dir', message: `${file} resolves outside the tasks directory` };
  }
  try {
    if (!statSync(real).isFile()) return { ok: false, code: 'module_not_found', message: `${file} is not a file` };
  } catch {
    return { ok: false, code: 'module_not_found', message: `${file} does not exist in the tasks directory` };
  }
  return { ok: true, path: real };
}

/**
 * checkModuleFile with a short cache: realpath and stat on every run or every task creation would
 * be several syscalls each, and files under the tasks directory change rarely.
 */
export function createModuleFileChecker(tasksDir: string, ttlMs = 1000): (file: unknown) => ModuleFileCheck {
  const cache = new Map<string, { at: number; check: ModuleFileCheck }>();
  return (file) => {
    if (typeof file !== 'string') return checkModuleFile(tasksDir, file);
    const now = performance.now();
    const hit = cache.get(file);
    if (hit !== undefined && now - hit.at < ttlMs) return hit.check;
    const check = checkModuleFile(tasksDir, file);
    if (cache.size > 10_000) cache.clear();
    cache.set(file, { at: now, check });
    return check;
  };
}

/** Throws the API's field error for a failed check. */
export function throwIfBadModuleFile(check: ModuleFileCheck): string {
  if (check.ok) return check.path;
  throw new SundialError('validation_failed', `/spec/file: ${check.message}`, {
    errors: [{ path: '/spec/file', message: check.message }],
    extra: { reason: check.code },
  });
}

/**
 * Resolves a module task's file to its real absolute path under `tasksDir`; throws a
 * `validation_failed` SundialError with a field error at `/spec/file` (and `extra.reason`).
 */
export function resolveModuleFile(tasksDir: string, file: string): string {
  return throwIfBadModuleFile(checkModuleFile(tasksDir, file));
}
