// The envelope both pools' IPC protocols share (module-protocol.ts, script/script-protocol.ts):
// a child says `ready` once, then both sides send per-turn `batch` messages. Each protocol owns
// its payload types and narrows with its own type predicate; the checks of the envelope live here
// so that a child of either pool is held to the same rules.

/** A child's `ready` with its pid, or a batch that carries a `done` list. */
export function isReadyOrBatch(msg: unknown): boolean {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { t?: unknown; pid?: unknown; done?: unknown };
  if (m.t === 'ready') return typeof m.pid === 'number';
  if (m.t === 'batch') return Array.isArray(m.done);
  return false;
}

/** A parent's batch: runs to start and runs to abort. */
export function isRunBatch(msg: unknown): boolean {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { t?: unknown; runs?: unknown; aborts?: unknown };
  return m.t === 'batch' && Array.isArray(m.runs) && Array.isArray(m.aborts);
}
