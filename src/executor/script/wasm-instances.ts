// The QuickJS wasm instances of an interpreter thread, pooled and reused. An instance runs one
// script at a time: its linear memory is then attributable to that run, which is what lets the
// pool cap its growth, and a run that breaks its instance (a trap, an exhausted native stack)
// only costs that instance. QuickJS's own setMemoryLimit only stops single allocations under
// emscripten (it cannot see allocation sizes), so the growth cap enforced here is what bounds
// a run's memory between its samples.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { newQuickJSWASMModule, newVariant, RELEASE_SYNC, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten';
import { collectGarbage } from './full-gc.js';
import { KEEP_INSTANCE_BYTES } from './script-limits.js';

/** What is used of a WebAssembly.Memory (the project compiles without the DOM/wasm lib types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = NonNullable<Parameters<typeof newVariant>[1]['wasmModule']>;
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } }).WebAssembly;

/** A QuickJS wasm instance; runs one script at a time. */
export interface Instance {
  module: QuickJSWASMModule;
  memory: WasmMemory;
  /** The most linear memory the current run may grow it to. */
  cap: number;
  /** Address of the current run's interrupt counter in linear memory (0: unknown or no run). */
  counterAddr: number;
  /** Bumped on every growth: the run samples its memory at the next interrupt. */
  grew: number;
  /** A host exception went through it (its C state may be inconsistent): never reuse it. */
  poisoned: boolean;
}

/** Compiles the QuickJS wasm once per thread; each instance then costs ~8 ms instead of ~15. */
async function compiledVariant(): Promise<QuickJSSyncVariant> {
  try {
    const beside = createRequire(createRequire(import.meta.url).resolve('quickjs-emscripten'));
    const bytes = await readFile(beside.resolve('@jitl/quickjs-wasmfile-release-sync/wasm'));
    return newVariant(RELEASE_SYNC, { wasmModule: await wasm.compile(bytes) });
  } catch {
    return RELEASE_SYNC;
  }
}

/** The parts of quickjs-emscripten's objects the sandbox reads: the C pointers behind them. */
export function pointerOf(o: object, key: 'rt' | 'ctx'): number {
  const v = (o as Record<string, { value?: unknown } | undefined>)[key]?.value;
  return typeof v === 'number' ? v : 0;
}

/**
 * Finds where QuickJS keeps the context's interrupt counter (decremented at every call and loop
 * iteration; the interrupt handler runs when it reaches 0), by watching a context run a known
 * loop and then checking that setting the candidate to 1 triggers the handler. Null when the
 * layout is not what was expected: the sandbox then only samples at regular interrupts.
 */
function findCounterOffset(inst: Instance): number | null {
  const WORDS = 1024;
  const rt = inst.module.newRuntime();
  try {
    let calls = 0;
    rt.setInterruptHandler(() => {
      calls++;
      return false;
    });
    const vm = rt.newContext();
    try {
      const ctx = pointerOf(vm, 'ctx');
      if (ctx === 0 || ctx % 4 !== 0) return null;
      const run = (code: string): void => {
        const r = vm.evalCode(code);
        (r.error ?? r.value).dispose();
      };
      const snap = (): Int32Array => new Int32Array(inst.memory.buffer).slice(ctx >> 2, (ctx >> 2) + WORDS);
      run('1');
      // Also warms up the memory dump: its first call costs milliseconds, later ones ~50 µs.
      rt.dumpMemoryUsage();
      const before = snap();
      run('for (let i = 0; i < 1000; i++);');
      const after = snap();
      for (let i = 0; i < WORDS; i++) {
        const drop = before[i]! - after[i]!;
        if (before[i]! <= 0 || before[i]! > 100_000 || after[i]! <= 0 || drop < 1000 || drop > 4000) continue;
        new Int32Array(inst.memory.buffer)[(ctx >> 2) + i] = 1;
        calls = 0;
        run('for (let i = 0; i < 3; i++);');
        if (calls > 0) return i * 4;
      }
      return null;
    } finally {
      vm.dispose();
    }
  } catch {
    return null;
  } finally {
    rt.dispose();
  }
}

export class InstancePool {
  readonly #free: Instance[] = [];
  readonly #keepIdle: number;
  #variant: Promise<QuickJSSyncVariant> | null = null;
  #collectQueued = false;

  constructor(keepIdle: number) {
    this.#keepIdle = keepIdle;
  }

  async acquire(): Promise<Instance> {
    return this.#free.pop() ?? this.#create();
  }

  /** Keeps a healthy, small instance for the next run; lets the rest be collected. */
  release(inst: Instance): void {
    inst.cap = Infinity;
    const big = inst.memory.buffer.byteLength > KEEP_INSTANCE_BYTES;
    if (big) this.#collectSoon();
    if (inst.poisoned || big || this.#free.length >= this.#keepIdle) return;
    this.#free.push(inst);
  }

  /**
   * A big instance was dropped: its memory is returned only once V8 collects it (full-gc.ts).
   * A turn later, when the run that used it has let go of it too; one collection for a burst.
   */
  #collectSoon(): void {
    if (this.#collectQueued) return;
    this.#collectQueued = true;
    setTimeout(() => {
      this.#collectQueued = false;
      collectGarbage();
    }, 0);
  }

  async #create(): Promise<Instance> {
    this.#variant ??= compiledVariant();
    const module = await newQuickJSWASMModule(await this.#variant);
    const memory = module.getWasmMemory() as WasmMemory;
    const inst: Instance = { module, memory, cap: Infinity, counterAddr: 0, grew: 0, poisoned: false };
    // Emscripten's sbrk grows the heap through memory.grow(); refusing makes malloc return NULL,
    // which QuickJS turns into a catchable `out of memory` in the run that asked.
    const grow = memory.grow.bind(memory);
    Object.defineProperty(memory, 'grow', {
      value: (pages: number): number => {
        if (memory.buffer.byteLength + pages * 65536 > inst.cap) throw new RangeError('over the run memory cap');
        // We are inside malloc: nothing may call into QuickJS here. Setting the context's
        // interrupt counter to 1 makes QuickJS call the interrupt handler at its next safe point,
        // which samples the memory while the allocation is still alive: a burst of large
        // allocations between two regular interrupt checks is measured (and limited) too.
        if (inst.counterAddr !== 0) new Int32Array(memory.buffer)[inst.counterAddr >> 2] = 1;
        inst.grew++;
        return grow(pages);
      },
    });
    this.#counterOffset ??= findCounterOffset(inst);
    return inst;
  }

  /** Offset of `interrupt_counter` in QuickJS's JSContext, or null if it could not be found. */
  #counterOffset: number | null | undefined;

  get counterOffset(): number | null {
    return this.#counterOffset ?? null;
  }
}
