// STUB: owned by the core-domain helper; signatures are fixed, bodies to be written.
import type { Policies } from './types.js';

/** Policies applied where a task sets none (DESIGN.md "Policies"). */
export const DEFAULT_POLICIES: Policies = {
  retry: { maxAttempts: 1, backoff: { type: 'exponential', initialMs: 1000, maxMs: 300_000, jitter: true } },
  timeoutMs: 300_000,
  overlap: 'skip',
  misfire: { policy: 'run_once', catchupWindowMs: 3_600_000 },
  priority: 0,
  concurrency: null,
  concurrencyKey: null,
};

/**
 * Turns the API's policy input (durations as strings, any field optional) into Policies with
 * every default filled in; `base` supplies values for fields the input leaves out (for PATCH).
 * Throws SundialError `validation_failed` with field errors under `path`.
 */
export function normalizePolicies(input: unknown, base: Policies = DEFAULT_POLICIES, path = '/policies'): Policies {
  throw new Error(`not implemented: normalizePolicies(${String(input)}, ${String(base)}, ${path})`);
}

/** Policies as the API shows them: durations as shorthand strings (`timeout: "5m"`). */
export function policiesToView(p: Policies): Record<string, unknown> {
  throw new Error(`not implemented: policiesToView(${String(p)})`);
}
