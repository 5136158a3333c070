// Starting a script child's interpreter thread: a worker_thread with a 32 MiB native stack (see
// script-limits.ts) whose entry is script-interpreter.ts. The thread starts from a small
// CommonJS bootstrap (eval), which imports that entry by URL and runs it; under tsx (tests,
// development) the entry is a .ts file, so the bootstrap registers tsx in the thread first. The
// URLs are absolute because the child's cwd is `/`.

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { THREAD_HEAP_MB, THREAD_STACK_MB } from './script-limits.js';
import type { ScriptChildConfig } from './script-protocol.js';

/** What the interpreter thread gets from the child's main thread. */
export interface InterpreterData {
  cfg: ScriptChildConfig;
  /** The shared abort flags, one Int32 per run slot. */
  flags: SharedArrayBuffer;
  /**
   * [0]: ms since `base` at which the interpreter thread's event loop last turned; [1]: the run
   * executing (0: none); [2]: ms the thread's event loop has been busy in all (modulo 2^31).
   */
  tick: SharedArrayBuffer;
  base: number;
}

/** What the bootstrap reads from workerData. */
interface BootstrapData {
  /** tsx's ESM API to register before importing a .ts entry; null in dist/. */
  tsx: string | null;
  entry: string;
  data: InterpreterData;
}

const BOOTSTRAP = `
  const { workerData } = require('node:worker_threads');
  const fail = (what, err) => {
    process.stderr.write(what + (err && err.stack || err) + '\\n');
    process.exit(70);
  };
  (async () => {
    if (workerData.tsx) (await import(workerData.tsx)).register();
    return import(workerData.entry);
  })().then(
    (m) => m.runInterpreter(workerData.data).catch((err) => fail('script interpreter: ', err)),
    (err) => fail('script interpreter failed to start: ', err),
  );`;

/** Starts the interpreter thread of this child. */
export function startInterpreterThread(data: InterpreterData): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const bootstrap: BootstrapData = {
    tsx: ext === '.ts' ? import.meta.resolve('tsx/esm/api') : null,
    entry: new URL(`./script-interpreter${ext}`, import.meta.url).href,
    data,
  };
  return new Worker(BOOTSTRAP, {
    eval: true,
    workerData: bootstrap,
    execArgv: [],
    resourceLimits: { stackSizeMb: THREAD_STACK_MB, maxOldGenerationSizeMb: THREAD_HEAP_MB },
  });
}
