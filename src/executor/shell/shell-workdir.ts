// Where a run's command starts: its task's own directory, and a cwd that cannot leave it. Checked
// on the host before anything is spawned, so a bad cwd or a missing program fails with a clear
// message instead of an exit status from deep inside the sandbox.

import { chmodSync, chownSync, lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { RunJob } from '../executor.js';
import { SANDBOX_GID, SANDBOX_UID } from './shell-sandbox.js';

/** Why a run cannot start; its message is the run's error as it stands. */
export class SpawnError extends Error {}

/** Creates `<dataDir>/shell/<namespace>/<taskId>/`, owned by the sandbox user, 0700; its real path. */
export function prepareWorkdir(dataDir: string, job: RunJob, asRoot: boolean): string {
  for (const seg of [job.namespace, job.taskId]) {
    if (seg === '' || seg === '.' || seg === '..' || seg.includes('/') || seg.includes('\0')) {
      throw new SpawnError(`cannot make a working directory for namespace ${JSON.stringify(job.namespace)}, task ${JSON.stringify(job.taskId)}`);
    }
  }
  const base = join(resolve(dataDir), 'shell');
  const nsDir = join(base, job.namespace);
  const dir = join(nsDir, job.taskId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Traverse-only for the levels above: without bubblewrap the command reaches its own
  // directory but cannot list the other tasks'.
  chmodSync(base, 0o711);
  chmodSync(nsDir, 0o711);
  if (!lstatSync(dir).isDirectory()) throw new SpawnError(`${dir} is not a directory`);
  if (asRoot) chownSync(dir, SANDBOX_UID, SANDBOX_GID);
  chmodSync(dir, 0o700);
  return realpathSync(dir);
}

/** The absolute working directory for `cwd` (relative to the task directory), or why not. */
export function resolveCwd(workdir: string, cwd: string): string {
  if (cwd === '' || cwd === '.') return workdir;
  if (isAbsolute(cwd)) throw new SpawnError(`cwd ${JSON.stringify(cwd)} must be relative to the task's directory`);
  if (cwd.split(/[\\/]+/).includes('..')) throw new SpawnError(`cwd ${JSON.stringify(cwd)} may not contain '..'`);
  let real: string;
  try {
    real = realpathSync(join(workdir, cwd));
  } catch {
    throw new SpawnError(`cwd ${JSON.stringify(cwd)} does not exist in the task's directory`);
  }
  if (real !== workdir && !real.startsWith(workdir + sep)) {
    throw new SpawnError(`cwd ${JSON.stringify(cwd)} resolves outside the task's directory (through a symlink)`);
  }
  if (!statSync(real).isDirectory()) throw new SpawnError(`cwd ${JSON.stringify(cwd)} is not a directory`);
  return real;
}

/**
 * Whether `program` exists as an executable file, looked up as the sandbox will (PATH, or a path
 * relative to cwd). The sandbox shows the host's /usr and the task directory at the same paths, so
 * the host's view answers; anything else fails inside and is reported from there.
 */
export function programExists(program: string, cwd: string, path: string): boolean {
  const candidates = program.includes('/') ? [resolve(cwd, program)] : path.split(':').map((d) => resolve(cwd, d || '.', program));
  return candidates.some((p) => {
    try {
      const st = statSync(p);
      return st.isFile() && (st.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}
