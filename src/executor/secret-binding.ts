// Secrets on the run path (docs/security.md, "Secrets"): before a run starts, the secrets its spec
// references are read and opened, filled into a copy of the spec (http URL, headers and body;
// shell env) or handed to a script as `ctx.secrets`; while it runs and when it ends, every value
// it was given is masked in what it leaves behind — each log line before it is published or
// stored, and the result and error before the outcome goes back to the dispatcher — with one
// matcher built per run. Runs that reference no secret pay one scan of their spec and nothing else.

import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import { createMasker, type Masker } from '../core/secrets/masker.js';
import { bindSecretValues, secretReferences } from '../core/secrets/references.js';
import type { LogLine, RunError } from '../core/types.js';
import type { RunJob, RunOutcome, RunOutput } from './executor.js';
import { failedOutcome } from './outcome.js';

/** What a lookup of a run's secrets found. */
export type SecretLookup = { values: ReadonlyMap<string, string> } | { missing: string[] } | { unreadable: string[]; reason: string };

/** Reads and opens the named secrets of a namespace (the composition root builds it over the store). */
export type SecretSource = (namespace: string, names: string[]) => Promise<SecretLookup>;

/** A job ready to run: its spec with values filled in, and the masker of its values (null: none). */
export interface BoundJob {
  job: RunJob;
  masker: Masker | null;
}

/**
 * Resolves the job's secrets: the job to run (a copy; the original stays as the dispatcher gave it)
 * or, when a secret is missing or cannot be opened, the failed outcome of the run.
 */
export async function bindSecrets(job: RunJob, source: SecretSource | undefined, clock: Clock): Promise<BoundJob | RunOutcome> {
  const names = secretReferences(job.kind, job.spec);
  if (names.length === 0) return { job, masker: null };
  if (source === undefined) return failedOutcome(clock, 'secret_unreadable', 'this executor has no access to secrets', { names });
  let found: SecretLookup;
  try {
    found = await source(job.namespace, names);
  } catch (err) {
    return failedOutcome(clock, 'internal', `reading the run's secrets failed: ${coerceError(err).message}`);
  }
  if ('missing' in found) {
    const list = found.missing.map((n) => `"${n}"`).join(', ');
    return failedOutcome(clock, 'secret_missing', `the task references secret ${list}, which does not exist in namespace "${job.namespace}"`, { names: found.missing });
  }
  if ('unreadable' in found) {
    return failedOutcome(clock, 'secret_unreadable', `secret ${found.unreadable.map((n) => `"${n}"`).join(', ')} cannot be decrypted: ${found.reason}`, { names: found.unreadable });
  }
  const bound: RunJob = { ...job, spec: bindSecretValues(job.kind, job.spec, found.values) };
  if (job.kind === 'script') bound.secrets = Object.fromEntries(found.values);
  return { job: bound, masker: createMasker(found.values) };
}

function maskLines(m: Masker, lines: LogLine[]): LogLine[] {
  return lines.map((l) => ({ ...l, message: m.text(l.message) }));
}

function maskError(m: Masker, e: RunError): RunError {
  const out: RunError = { ...e, message: m.text(e.message) };
  if (e.detail !== undefined) out.detail = m.json(e.detail);
  return out;
}

/**
 * A RunOutput that masks the lines of runs with a masker in `maskers` (by run id) before passing
 * them on, and masks the outcome's own lines, result and error in `finish`.
 */
export function maskingOutput(inner: RunOutput, maskers: ReadonlyMap<string, Masker>): RunOutput {
  return {
    lines(job, lines) {
      const m = maskers.get(job.runId);
      inner.lines(job, m === undefined ? lines : maskLines(m, lines));
    },
    sample: inner.sample,
    finish(job, outcome) {
      const m = maskers.get(job.runId);
      // Before the inner finish: the lines it adds were masked on their way in.
      if (m !== undefined) maskOutcome(m, outcome);
      inner.finish(job, outcome);
    },
  };
}

/** Masks an outcome in place: its own log lines, result and error. */
export function maskOutcome(m: Masker, outcome: RunOutcome): void {
  if (outcome.logs.length > 0) outcome.logs = maskLines(m, outcome.logs);
  if (outcome.result !== undefined) outcome.result = m.json(outcome.result);
  if (outcome.error !== undefined && outcome.error !== null) outcome.error = maskError(m, outcome.error);
}
