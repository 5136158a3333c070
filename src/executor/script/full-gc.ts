// A full garbage collection of this thread's V8 heap, on request. A wasm instance's linear
// memory goes back to the operating system only when V8 collects the instance, and V8 does not
// count it as memory pressure: an instance a memory bomb grew to 220 MB stayed resident after it
// was dropped until the next full collection, which a thread with a small JS heap may not need
// for minutes (under S7, each worker that had run a bomb held 200–250 MB). Measured in a worker
// thread: 275 MB resident after dropping such an instance and a second of small garbage, 72 MB
// after one full collection.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/** The engine's `gc()`: V8 only hands it to contexts created after --expose-gc is set. */
function gcFunction(): (() => void) | null {
  if (gc !== undefined) return gc;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    gc = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gc = null;
  }
  return gc;
}

/** Runs a full collection now; false when this runtime does not allow it. */
export function collectGarbage(): boolean {
  const fn = gcFunction();
  if (fn === null) return false;
  fn();
  return true;
}
