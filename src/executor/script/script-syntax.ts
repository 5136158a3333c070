// Syntax checking of `script` code, cheap enough for the API process: QuickJS compiles the code
// as a module and never runs it (no import is resolved, no top-level code executes).
//
// It runs on the caller's thread, whose native stack is Node's default (~1 MB), so QuickJS's
// stack limit here is small: deep nesting must fail QuickJS's own check ("stack overflow", a
// normal SyntaxError) before V8's stack runs out inside wasm. 24 KiB still allows ~300 levels of
// nesting, far beyond real code. Should a host exception still come out of QuickJS, the wasm
// instance is dropped (its C state may be half-updated) and a fresh one is loaded.

import { newQuickJSWASMModule, RELEASE_SYNC, type QuickJSWASMModule } from 'quickjs-emscripten';

export interface ScriptSyntaxError {
  message: string;
  line: number;
  column: number;
}

const STACK_BYTES = 24 * 1024;
const MEMORY_BYTES = 64 * 1024 * 1024;
/** The parser does not poll the interrupt handler, but regex compilation may; a guard anyway. */
const DEADLINE_MS = 2000;
/** An instance that grew past this (a huge script) is replaced rather than kept. */
const KEEP_BYTES = 64 * 1024 * 1024;
const POSITION = /script\.js:(\d+):(\d+)/;

let instance: QuickJSWASMModule | null = null;
let loading: Promise<void> | null = null;

/** Loads QuickJS for checkScriptSyntax (once; ~40 ms and ~16 MiB the first time). */
export function loadScriptSyntaxChecker(): Promise<void> {
  if (instance !== null) return Promise.resolve();
  loading ??= newQuickJSWASMModule(RELEASE_SYNC).then(
    (m) => {
      instance = m;
      loading = null;
    },
    (err: unknown) => {
      loading = null;
      throw err;
    },
  );
  return loading;
}

/** Drops the instance and loads a fresh one in the background. */
function replaceInstance(): void {
  instance = null;
  loadScriptSyntaxChecker().catch(() => undefined);
}

/**
 * The first syntax error of `code` as an ES module, or null when it parses. Synchronous: call
 * (and await) loadScriptSyntaxChecker() once before; checkScriptSyntaxAsync does both.
 */
export function checkScriptSyntax(code: string): ScriptSyntaxError | null {
  const m = instance;
  if (m === null) throw new Error('the script syntax checker is not loaded: await loadScriptSyntaxChecker() first');
  try {
    const rt = m.newRuntime();
    rt.setMemoryLimit(MEMORY_BYTES);
    rt.setMaxStackSize(STACK_BYTES);
    const deadline = performance.now() + DEADLINE_MS;
    rt.setInterruptHandler(() => performance.now() > deadline);
    // Compiling needs only the base objects, eval and the regex compiler; all built-ins would cost ~0.3 ms more.
    const vm = rt.newContext({ intrinsics: { BaseObjects: true, Eval: true, RegExpCompiler: true } });
    try {
      const r = vm.evalCode(code, 'script.js', { type: 'module', compileOnly: true });
      if (r.error === undefined) {
        r.value.dispose();
        return null;
      }
      const err = r.error;
      // The error is QuickJS's own SyntaxError (nothing ran), so reading it runs no user code.
      const read = (key: string): string => {
        const h = vm.getProp(err, key);
        try {
          return vm.typeof(h) === 'string' ? vm.getString(h) : '';
        } finally {
          h.dispose();
        }
      };
      try {
        const pos = POSITION.exec(read('stack'));
        return { message: read('message') || 'syntax error', line: pos ? Number(pos[1]) : 1, column: pos ? Number(pos[2]) : 1 };
      } finally {
        err.dispose();
      }
    } finally {
      vm.dispose();
      rt.dispose();
      if ((m.getWasmMemory() as { buffer: ArrayBuffer }).buffer.byteLength > KEEP_BYTES) replaceInstance();
    }
  } catch (err) {
    // A host exception through wasm (V8's stack exhausted by very deep nesting, a trap).
    replaceInstance();
    const why = err instanceof RangeError ? 'the script nests too deeply to be parsed' : `the script could not be parsed (${(err as Error).message})`;
    return { message: why, line: 1, column: 1 };
  }
}

/** Loads the checker if needed, then checks. */
export async function checkScriptSyntaxAsync(code: string): Promise<ScriptSyntaxError | null> {
  await loadScriptSyntaxChecker();
  return checkScriptSyntax(code);
}
