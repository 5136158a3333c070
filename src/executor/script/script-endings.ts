// How a script run ends, as its child reports it (script-protocol.ts): what a returned value, a
// thrown value or a failed module evaluation becomes, and the endings of the memory limit and of
// aborts. The values come out of the sandbox, so nothing here trusts them: sizes are checked
// before anything is copied out, and a description that does not parse is replaced.

import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import { jsonTextDepth, MAX_JSON_DEPTH, tooDeepMessage } from '../../core/json-depth.js';
import type { AbortReason, WireScriptDone } from './script-protocol.js';

/** An ending before the pool-facing fields are added (distributes over the union). */
export type Ending = WireScriptDone extends infer T ? (T extends WireScriptDone ? Omit<T, 'id' | 'u'> : never) : never;

/** What a thrown value says about itself (asked inside the sandbox, by the prelude's describe). */
export interface Thrown {
  name: string;
  message: string;
  stack: string;
}

/** A thrown value that could not be described (it threw, or the run was being stopped). */
export const UNDESCRIBED: Thrown = { name: 'Error', message: 'the script threw a value that could not be described', stack: '' };

const STACK_LINES = 12;
const STACK_CHARS = 4000;
/** A parse error's stack is one frame at the script itself; a runtime SyntaxError has callers. */
const COMPILE_ERROR_STACK = /^\s*at script\.js:(\d+):(\d+)\s*$/;
/** QuickJS running out of the run's memory, whatever the script was doing. */
const MEMORY_ERRORS: ReadonlySet<string> = new Set([
  'InternalError: out of memory',
  'InternalError: string too long',
  'RangeError: invalid array buffer length',
  'RangeError: invalid string length',
]);

/** The first lines of a stack, without the prelude's own frames. */
function stackExcerpt(stack: string): string {
  const lines = stack.split('\n').filter((l) => !l.includes('sundial:prelude') && !l.includes('<input>'));
  return lines.slice(0, STACK_LINES).join('\n').slice(0, STACK_CHARS);
}

/** The prelude's description of a thrown value (JSON), read defensively. */
export function parseThrown(json: string): Thrown {
  try {
    const d = JSON.parse(json) as Record<string, unknown>;
    const str = (v: unknown): string => (typeof v === 'string' ? v : '');
    return { name: str(d.name), message: str(d.message), stack: str(d.stack) };
  } catch {
    return UNDESCRIBED;
  }
}

/**
 * The ending of a thrown value or a rejection: `script_threw`, or the memory limit when QuickJS
 * ran out of memory. `evaluating`: the throw came out of evaluating the module, where a
 * SyntaxError at the script itself is a parse error (`script_syntax` with its line and column).
 */
export function thrownEnding(d: Thrown, limitBytes: number, evaluating: boolean): Ending {
  const pos = evaluating && d.name === 'SyntaxError' ? COMPILE_ERROR_STACK.exec(d.stack) : null;
  if (pos !== null) {
    return { ok: false, code: 'script_syntax', message: d.message, detail: { line: Number(pos[1]), column: Number(pos[2]) } };
  }
  if (MEMORY_ERRORS.has(`${d.name}: ${d.message}`)) return memoryEnding(limitBytes, d.message);
  return { ok: false, code: 'script_threw', message: d.message === '' ? d.name : d.message, detail: { name: d.name, stack: stackExcerpt(d.stack) } };
}

/** The native stack ran out under QuickJS: reported as QuickJS's own stack overflow. */
export const STACK_OVERFLOW: Ending = { ok: false, code: 'script_threw', message: 'stack overflow', detail: { name: 'InternalError', stack: '' } };

export function memoryEnding(limitBytes: number, cause?: string): Ending {
  const message = `the script used more than its interpreter memory limit of ${limitBytes} bytes${cause ? ` (${cause})` : ''}`;
  return { ok: false, code: 'script_memory_limit', message, detail: { limitBytes } };
}

/** A run stopped by the pool (`aborted`: the pool decides timed out or cancelled) or by its own copy of the deadline. */
export function abortedEnding(kind: AbortReason, byPool: boolean, timeoutMs: number): Ending {
  if (byPool) return { ok: false, code: 'aborted', message: `the run was aborted (${kind})` };
  return { ok: false, code: 'timeout', message: `the run did not finish within ${timeoutMs} ms` };
}

/**
 * The ending of a returned value, from the prelude's serialisation of it: a string tagged `U`
 * (undefined), `E` (not JSON-serialisable, with the reason) or `J` (the JSON).
 */
export function resultEnding(vm: QuickJSContext, serialised: QuickJSHandle, maxBytes: number): Ending {
  // Check the length before copying the string out: a result can be hundreds of megabytes.
  const len = vm.typeof(serialised) === 'string' ? vm.getNumber(vm.getProp(serialised, 'length')) : -1;
  if (len < 1) return { ok: false, code: 'internal', message: 'the result could not be read' };
  if (len - 1 > maxBytes) {
    const message = `the result is at least ${len - 1} bytes of JSON; the limit is ${maxBytes}`;
    return { ok: false, code: 'result_too_large', message, detail: { bytes: len - 1, limit: maxBytes } };
  }
  const text = vm.getString(serialised);
  const tag = text[0];
  if (tag === 'U') return { ok: true };
  if (tag === 'E') return { ok: false, code: 'result_not_json', message: `the returned value is not JSON-serialisable: ${text.slice(1)}` };
  const json = text.slice(1);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    return { ok: false, code: 'result_too_large', message: `the result is ${bytes} bytes of JSON; the limit is ${maxBytes}`, detail: { bytes, limit: maxBytes } };
  }
  // Checked on the text, before anything parses or walks it (see core/json-depth.ts).
  if (jsonTextDepth(json) > MAX_JSON_DEPTH) return { ok: false, code: 'result_too_deep', message: tooDeepMessage('the result'), detail: { limit: MAX_JSON_DEPTH } };
  return { ok: true, result: JSON.parse(json) as unknown };
}
