// Integers in query strings and path parameters must be written as integers. They arrive as
// text, and the TypeBox validator compiler converts text to the schema's types before it checks
// (Value.Convert), leniently: "1.5" becomes 1, "0x10" 16, "1e2" 100, "true" 1 and "" 0. So
// `?limit=1.5` was answered as if it said 1 and `?minutes=true` as 1, where every other bad
// input gets a 400 (found by test/api/fuzz.test.ts). This refuses such text before converting.

import type { FastifySchema, FastifySchemaCompiler } from 'fastify';

/** Decimal digits with an optional minus: what `?limit=` may say (the schema bounds the value). */
const INTEGER_TEXT = /^-?\d{1,15}$/;

/** The top-level fields of an object schema that are integers. */
function integerFields(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
  return Object.entries(props)
    .filter(([, s]) => s.type === 'integer')
    .map(([name]) => name);
}

/** Wraps a validator compiler so that query and path integers written otherwise are refused. */
export function strictIntegers<S = FastifySchema>(compile: FastifySchemaCompiler<S>): FastifySchemaCompiler<S> {
  return (route) => {
    const validate = compile(route);
    if (route.httpPart !== 'querystring' && route.httpPart !== 'params') return validate;
    const integers = integerFields(route.schema);
    if (integers.length === 0) return validate;
    return (value) => {
      const input = value as Record<string, unknown> | null | undefined;
      const bad = integers.filter((name) => {
        const v = input?.[name];
        return typeof v === 'string' && !INTEGER_TEXT.test(v);
      });
      if (bad.length === 0) return validate(value);
      return {
        error: bad.map((name) => ({
          keyword: 'type',
          instancePath: `/${name}`,
          schemaPath: `#/properties/${name}/type`,
          params: { type: 'integer' },
          message: 'must be an integer, written in decimal digits',
        })),
      };
    };
  };
}
