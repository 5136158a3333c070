// What a task runs: each kind's spec, checked before anything is stored. The executor owns what
// a valid spec is (it runs them): it hands in `checkHttpSpec` and `checkModuleFile`, and its
// own `validateHttpSpec` is the default, so the API and the runner never disagree.

import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { invalid, SundialError, type FieldError } from '../core/errors.js';
import type { Actor, TaskKind, TaskSpec } from '../core/types.js';
import { validateHttpSpec } from '../executor/http-spec.js';
import type { OutboundGuard } from '../executor/outbound-guard.js';
import { httpTargetErrors } from './http-target.js';
import { SECRET_NAME_PATTERN } from '../core/secrets/references.js';
import { fieldErrorsFrom, type SchemaErrorLike } from './field-errors.js';

/** The `module` spec as the API accepts it. */
export const ModuleSpecSchema = Type.Object(
  {
    file: Type.String({ minLength: 1, maxLength: 1024, description: 'Path under the tasks directory.' }),
    export: Type.Optional(Type.String({ pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,199}$', description: 'Export to call; default `default`.' })),
  },
  { additionalProperties: false },
);

/** Largest inline script, in UTF-16 code units (what a JS string's length counts). */
export const SCRIPT_CODE_MAX_LENGTH = 262_144;

/** The `script` spec as the API accepts it. */
export const ScriptSpecSchema = Type.Object(
  {
    code: Type.String({
      minLength: 1,
      maxLength: SCRIPT_CODE_MAX_LENGTH,
      description: 'An ES module whose default export is `async (ctx) => result`; runs in the QuickJS sandbox.',
    }),
    secrets: Type.Optional(
      Type.Array(Type.String({ pattern: SECRET_NAME_PATTERN }), {
        maxItems: 64,
        uniqueItems: true,
        description: "Secrets of the task's namespace the code gets as `ctx.secrets.NAME` (only these; values masked in logs, result and error).",
      }),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          memoryBytes: Type.Optional(
            Type.Integer({ minimum: 1_048_576, description: 'Interpreter memory; default SUNDIAL_SCRIPT_MEMORY, at most SUNDIAL_SCRIPT_MEMORY_MAX.' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** The `shell` spec as the API accepts it. */
export const ShellSpecSchema = Type.Object(
  {
    command: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
      minItems: 1,
      maxItems: 256,
      description: 'argv: the program, then its arguments. No shell parsing (pass `["sh", "-c", "…"]` for that).',
    }),
    cwd: Type.Optional(Type.String({ maxLength: 1024, description: "Relative to the task's working directory under the data directory." })),
    env: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 32_768 }), {
        maxProperties: 64,
        description: 'Extra environment; the server passes nothing of its own but PATH, HOME, LANG, TMPDIR and SUNDIAL_* run details.',
      }),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          processes: Type.Optional(Type.Integer({ minimum: 1, description: 'Most processes at once (RLIMIT_NPROC).' })),
          openFiles: Type.Optional(Type.Integer({ minimum: 16, description: 'Most open files per process (RLIMIT_NOFILE).' })),
          fileSizeBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Largest file a process may write (RLIMIT_FSIZE).' })),
          cpuSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'CPU time per process (RLIMIT_CPU).' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Where a script fails to parse. */
export interface ScriptSyntaxError {
  message: string;
  line: number;
  column: number;
}

/** Checks the executor and the configuration hand in (see AppDeps). */
export interface SpecChecks {
  /** Throws a SundialError when a module file is not valid. */
  checkModuleFile?: ((file: string) => void) | undefined;
  /** Field errors of an http spec (outbound rules and the like). */
  checkHttpSpec?: ((spec: unknown) => FieldError[]) | undefined;
  /** Parses a script without running it; null when it parses. */
  checkScriptSyntax?: ((code: string) => ScriptSyntaxError | null) | undefined;
  /** Loads what checkScriptSyntax needs (the first time a script task is seen, not at start-up). */
  loadScriptSyntaxChecker?: (() => Promise<void>) | undefined;
  /** Most interpreter memory a script spec may ask for. */
  scriptMemoryMaxBytes?: number | undefined;
  /** Whether the operator enabled shell tasks. */
  shellTasks?: boolean | undefined;
  /** Refuses http targets in private, loopback and metadata ranges unless allow-listed. */
  outboundGuard?: Pick<OutboundGuard, 'checkHost' | 'checkAddress'> | undefined;
}

const moduleShape = Compile(ModuleSpecSchema);
const scriptShape = Compile(ScriptSpecSchema);
const shellShape = Compile(ShellSpecSchema);

/**
 * Validates `spec` for `kind`; throws `unsupported_task_kind`, `forbidden` (shell specs from a
 * non-admin) or `validation_failed` (paths under `/spec`).
 */
export function validateTaskSpec(kind: TaskKind, spec: unknown, checks: SpecChecks, actor?: Pick<Actor, 'role'>): TaskSpec {
  switch (kind) {
    case 'script':
      return validateScriptSpec(spec, checks);
    case 'shell':
      if (checks.shellTasks !== true) {
        const message = 'shell tasks are off on this server; an operator enables them with SUNDIAL_SHELL_TASKS=on';
        throw new SundialError('unsupported_task_kind', message, { errors: [{ path: '/kind', message }] });
      }
      if (actor !== undefined && actor.role !== 'admin') throw new SundialError('forbidden', 'only admin keys may create or change shell tasks');
      if (!shellShape.Check(spec)) throwIfAny(fieldErrorsFrom(shellShape.Errors(spec) as SchemaErrorLike[], '/spec'));
      throwIfAny([...shellCwdErrors((spec as { cwd?: string }).cwd), ...shellEnvErrors((spec as { env?: Record<string, string> }).env)]);
      return spec as TaskSpec;
    case 'http':
      throwIfAny((checks.checkHttpSpec ?? validateHttpSpec)(spec).map(underSpec));
      throwIfAny(urlAuthorityReferenceErrors((spec as { url?: unknown }).url));
      if (checks.outboundGuard !== undefined) throwIfAny(httpTargetErrors(spec, checks.outboundGuard));
      return spec as TaskSpec;
    case 'module': {
      if (!moduleShape.Check(spec)) throwIfAny(fieldErrorsFrom(moduleShape.Errors(spec) as SchemaErrorLike[], '/spec'));
      const file = (spec as { file: string }).file;
      try {
        checks.checkModuleFile?.(file);
      } catch (err) {
        if (err instanceof SundialError) throw err;
        throwIfAny([{ path: '/spec/file', message: err instanceof Error ? err.message : String(err) }]);
      }
      return spec as TaskSpec;
    }
  }
}

function validateScriptSpec(spec: unknown, checks: SpecChecks): TaskSpec {
  if (!scriptShape.Check(spec)) throwIfAny(fieldErrorsFrom(scriptShape.Errors(spec) as SchemaErrorLike[], '/spec'));
  const { code, limits } = spec as { code: string; limits?: { memoryBytes?: number } };
  const max = checks.scriptMemoryMaxBytes;
  if (limits?.memoryBytes !== undefined && max !== undefined && limits.memoryBytes > max) {
    throwIfAny([{ path: '/spec/limits/memoryBytes', message: `must be at most ${max} (SUNDIAL_SCRIPT_MEMORY_MAX)` }]);
  }
  const syntax = checks.checkScriptSyntax?.(code);
  if (syntax) {
    throwIfAny([{ path: '/spec/code', message: `line ${syntax.line}, column ${syntax.column}: ${syntax.message}` }]);
  }
  return spec as TaskSpec;
}

/**
 * Secret references go in a URL's path and query, never its host or port: the host is checked
 * against the outbound rules when the task is written, before any value is known, and a host
 * chosen by a secret's value would pass that check unseen (the guard at connect time still
 * applies). The values are percent-encoded for a path or query, not a host.
 */
function urlAuthorityReferenceErrors(url: unknown): FieldError[] {
  if (typeof url !== 'string') return [];
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1] ?? '';
  return authority.includes('{{') ? [{ path: '/spec/url', message: 'may reference secrets in its path and query, not in its host' }] : [];
}

/** A shell cwd must stay inside the task's working directory: relative, no `..` segment. */
function shellCwdErrors(cwd: string | undefined): FieldError[] {
  if (cwd === undefined) return [];
  if (cwd.startsWith('/') || cwd.split(/[\\/]/).includes('..') || cwd.includes('\0')) {
    return [{ path: '/spec/cwd', message: "must be a relative path inside the task's working directory (no leading / and no ..)" }];
  }
  return [];
}

/** Names a shell environment may set: identifiers, and none of the SUNDIAL_* run details. */
function shellEnvErrors(env: Record<string, string> | undefined): FieldError[] {
  const errors: FieldError[] = [];
  for (const name of Object.keys(env ?? {})) {
    if (!ENV_NAME.test(name)) errors.push({ path: `/spec/env/${name}`, message: 'must be a name of letters, digits and _ (not starting with a digit)' });
    else if (name.startsWith('SUNDIAL_')) errors.push({ path: `/spec/env/${name}`, message: 'SUNDIAL_* names are the run details Sundial sets itself' });
  }
  return errors;
}

/** The executor's checks may report paths relative to the spec; the API reports them from the body. */
function underSpec(e: FieldError): FieldError {
  return e.path === '/spec' || e.path.startsWith('/spec/') ? e : { path: `/spec${e.path.startsWith('/') || e.path === '' ? '' : '/'}${e.path}`, message: e.message };
}

function throwIfAny(errors: FieldError[]): void {
  if (errors.length > 0) throw invalid(errors);
}
