// What a task runs: each kind's spec, checked before anything is stored. The executor owns what
// a valid spec is (it runs them): it hands in `checkHttpSpec` and `checkModuleFile`, and its
// own `validateHttpSpec` is the default, so the API and the runner never disagree.

import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { invalid, SundialError, type FieldError } from '../core/errors.js';
import type { TaskKind, TaskSpec } from '../core/types.js';
import { validateHttpSpec } from '../executor/http-spec.js';
import { fieldErrorsFrom, type SchemaErrorLike } from './field-errors.js';

/** The `module` spec as the API accepts it. */
export const ModuleSpecSchema = Type.Object(
  {
    file: Type.String({ minLength: 1, maxLength: 1024, description: 'Path under the tasks directory.' }),
    export: Type.Optional(Type.String({ pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,199}$', description: 'Export to call; default `default`.' })),
  },
  { additionalProperties: false },
);

/** Checks the executor hands in (see AppDeps). */
export interface SpecChecks {
  /** Throws a SundialError when a module file is not valid. */
  checkModuleFile?: ((file: string) => void) | undefined;
  /** Field errors of an http spec (outbound rules and the like). */
  checkHttpSpec?: ((spec: unknown) => FieldError[]) | undefined;
}

const moduleShape = Compile(ModuleSpecSchema);

/** Validates `spec` for `kind`; throws `unsupported_task_kind` or `validation_failed` (paths under `/spec`). */
export function validateTaskSpec(kind: TaskKind, spec: unknown, checks: SpecChecks): TaskSpec {
  switch (kind) {
    case 'script':
    case 'shell':
      throw new SundialError('unsupported_task_kind', `task kind "${kind}" arrives in a later release; use "http" or "module"`, {
        errors: [{ path: '/kind', message: `"${kind}" arrives in a later release; use "http" or "module"` }],
      });
    case 'http':
      throwIfAny((checks.checkHttpSpec ?? validateHttpSpec)(spec).map(underSpec));
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

/** The executor's checks may report paths relative to the spec; the API reports them from the body. */
function underSpec(e: FieldError): FieldError {
  return e.path === '/spec' || e.path.startsWith('/spec/') ? e : { path: `/spec${e.path.startsWith('/') || e.path === '' ? '' : '/'}${e.path}`, message: e.message };
}

function throwIfAny(errors: FieldError[]): void {
  if (errors.length > 0) throw invalid(errors);
}
