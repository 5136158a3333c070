// How deeply JSON nests, measured without recursion. Deep data is an attack on every recursive
// walker that later touches it: V8's JSON.stringify and structuredClone overflow the stack near
// 4,800 levels, QuickJS and the React dashboard much earlier. So the API refuses bodies, and the
// executor results, nested deeper than MAX_JSON_DEPTH, before anything recursive sees them.

/** Deepest nesting of arrays and objects accepted in request bodies and run results. */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of JSON text (`1` for `[]` or `{}`, `0` for a scalar), counting brackets
 * outside strings; stops counting once past `limit` (returns `limit + 1`). The text need not be
 * valid JSON: this runs before parsing, and the parser reports what else is wrong.
 */
export function jsonTextDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return max;
}

/** A sentence for an error about JSON nested too deeply at `where`. */
export function tooDeepMessage(where: string, limit = MAX_JSON_DEPTH): string {
  return `${where} nests arrays and objects more than ${limit} levels deep`;
}
