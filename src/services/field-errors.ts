// Turns schema-validation errors (TypeBox's, which Fastify hands over unchanged and which use
// ajv's shape) into the API's per-field errors. The raw list is written for machines: one entry
// per failed union branch, a `required` entry naming several fields at once, a duplicate for
// each unknown field. People get one clear message per field instead.

import type { FieldError } from '../core/errors.js';
import { PATTERN_RULES } from './names.js';

/** The part of an ajv/TypeBox validation error this module reads. */
export interface SchemaErrorLike {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
}

const FORMAT_RULES: Record<string, string> = {
  'date-time': 'must be an ISO-8601 date-time with a zone, e.g. 2026-12-01T09:00:00Z',
  uuid: 'must be a UUID',
  uri: 'must be an absolute URL',
};

/** One message per field, paths prefixed with `prefix` (e.g. `/spec`, `/query`). */
export function fieldErrorsFrom(errors: readonly SchemaErrorLike[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const add = (path: string, message: string): void => {
    const full = prefix + path;
    if (seen.has(full)) return;
    seen.add(full);
    out.push({ path: full, message });
  };
  // Union branches fail one by one; gather them per path so "string or null" reads as one rule.
  const branchTypes = new Map<string, string[]>();
  const branchConsts = new Map<string, unknown[]>();
  for (const e of errors) {
    const inUnion = /\/anyOf\/\d+$/.test(e.schemaPath);
    if (inUnion && e.keyword === 'type') {
      push(branchTypes, e.instancePath, String(e.params.type));
    } else if (inUnion && e.keyword === 'const') {
      push(branchConsts, e.instancePath, e.params.allowedValue);
    }
  }
  for (const e of errors) {
    const path = e.instancePath;
    const inUnion = /\/anyOf\/\d+$/.test(e.schemaPath);
    switch (e.keyword) {
      case 'boolean':
        // TypeBox reports each unknown field twice; the `additionalProperties` entry names it.
        if (e.schemaPath.endsWith('/additionalProperties')) continue;
        add(path, 'is not allowed');
        continue;
      case 'additionalProperties': {
        const names = e.params.additionalProperties;
        for (const name of Array.isArray(names) ? names : [names]) add(`${path}/${String(name)}`, 'is not a known field');
        continue;
      }
      case 'required': {
        const names = e.params.requiredProperties ?? e.params.missingProperty;
        for (const name of Array.isArray(names) ? names : [names]) add(`${path}/${String(name)}`, 'is required');
        continue;
      }
      case 'type':
      case 'const':
        if (inUnion) {
          const types = branchTypes.get(path) ?? [];
          const consts = branchConsts.get(path) ?? [];
          const choices = [...consts.map((c) => JSON.stringify(c)), ...types];
          add(path, consts.length > 0 && types.length === 0 ? `must be one of ${choices.join(', ')}` : `must be ${choices.join(' or ')}`);
          continue;
        }
        add(path, e.keyword === 'type' ? `must be ${String(e.params.type)}` : `must be ${JSON.stringify(e.params.allowedValue)}`);
        continue;
      case 'anyOf':
        // Covered by the branch messages above; alone (branches of other kinds) it still says something.
        add(path, 'does not match any of the allowed forms');
        continue;
      case 'enum': {
        const allowed = e.params.allowedValues;
        add(path, Array.isArray(allowed) ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : 'is not an allowed value');
        continue;
      }
      case 'pattern':
        add(path, PATTERN_RULES.get(String(e.params.pattern)) ?? `must match ${String(e.params.pattern)}`);
        continue;
      case 'format':
        add(path, FORMAT_RULES[String(e.params.format)] ?? `must be a valid ${String(e.params.format)}`);
        continue;
      default:
        add(path, e.message ?? `fails ${e.keyword}`);
    }
  }
  return out;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
