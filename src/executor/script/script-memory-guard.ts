// The memory limit of one script run, enforced while its code runs. QuickJS's own setMemoryLimit
// only stops single allocations under emscripten (it cannot see allocation sizes), so the guard
// samples the runtime's real usage (its own dump: no object is created in the sandbox) from the
// run's interrupt handler and between slices, and the cap on the instance's memory growth
// (wasm-instances.ts) does the rest.
//
// Sampling a heap of millions of values costs milliseconds, so samples are spaced to cost at most
// 1/SAMPLE_COST_RATIO of the run's time. While the heap grows, when the peak happens, they come
// more often (up to 1/HOT_SAMPLE_COST_RATIO), and QuickJS is asked to call the interrupt handler
// about every HOT_INTERRUPT_MS instead of every 10,000 ticks, which a loop of 100 big allocations
// never reaches.

import type { QuickJSRuntime } from 'quickjs-emscripten';
import {
  HOT_INTERRUPT_MS,
  HOT_MS,
  HOT_SAMPLE_COST_RATIO,
  HOT_SAMPLE_MS,
  QUICKJS_INTERRUPT_TICKS,
  SAMPLE_COST_RATIO,
  SAMPLE_MIN_MS,
} from './script-limits.js';
import type { Instance } from './wasm-instances.js';

export class MemoryGuard {
  /** Interpreter bytes in use at the last sample. */
  usedBytes = 0;
  /** The most seen in use. */
  peakBytes = 0;
  readonly #inst: Instance;
  #rt: QuickJSRuntime | null;
  readonly #limit: number;
  #nextSampleAt = 0;
  #seenGrew: number;
  #hotUntil = 0;
  #nextHotSampleAt = 0;
  #lastInterruptAt: number;
  #hotTicks = 0;
  #hotTime = 0;
  #lastCounter = QUICKJS_INTERRUPT_TICKS;

  /** For the run's runtime `rt` in `inst`, once its context exists. */
  constructor(inst: Instance, rt: QuickJSRuntime, limitBytes: number) {
    this.#inst = inst;
    this.#rt = rt;
    this.#limit = limitBytes;
    this.#seenGrew = inst.grew;
    this.#lastInterruptAt = performance.now();
    // The first sample is due like any later one. Sampling at once cost a no-op run ~60 µs (its
    // first interrupt comes early, while evaluating the prelude) to learn that a fresh context
    // uses ~100 KB; a heap that grows past the limit's size is sampled at once anyway.
    this.#nextSampleAt = this.#lastInterruptAt + SAMPLE_MIN_MS;
  }

  /**
   * From the interrupt handler, which must be cheap and must not touch the context: samples when
   * due and tunes how often QuickJS calls back. True when the run is over its limit.
   */
  interrupt(now: number): boolean {
    const inst = this.#inst;
    // Ticks QuickJS counted down since the last call: what we set then, or 1 after a growth poke.
    let ticks = this.#lastCounter;
    // The heap grew past the limit's size: the run may be over it, whatever sampling costs (the
    // linear memory bounds what is in use, so below the limit no sample is needed to be safe).
    const mustSample = inst.grew !== this.#seenGrew && inst.memory.buffer.byteLength > this.#limit;
    if (inst.grew !== this.#seenGrew) {
      if (now >= this.#hotUntil) this.#hotTicks = this.#hotTime = 0;
      this.#hotUntil = now + HOT_MS;
      ticks = 1;
    }
    const elapsed = now - this.#lastInterruptAt;
    this.#lastInterruptAt = now;
    const hot = now < this.#hotUntil;
    if (hot) {
      this.#hotTicks += ticks;
      this.#hotTime += elapsed;
    }
    if (mustSample || now >= this.#nextSampleAt || (hot && now >= this.#nextHotSampleAt)) {
      this.measure(now);
      if (this.usedBytes > this.#limit) return true;
    }
    // While the heap grows, ask QuickJS to call back about every HOT_INTERRUPT_MS: the counter is
    // set from the tick rate just observed, so a tight loop is not slowed down by the handler.
    if (hot && inst.counterAddr !== 0) {
      // Ticks per ms over the whole hot period: single intervals are too noisy (a growth poke
      // fires after one tick, an allocation may take milliseconds).
      const rate = this.#hotTicks / Math.max(this.#hotTime, 0.05);
      this.#lastCounter = Math.max(1, Math.min(QUICKJS_INTERRUPT_TICKS, Math.round(rate * HOT_INTERRUPT_MS)));
      new Int32Array(inst.memory.buffer)[inst.counterAddr >> 2] = this.#lastCounter;
    } else {
      this.#lastCounter = QUICKJS_INTERRUPT_TICKS;
    }
    return false;
  }

  /** Between slices: samples if due. True when the run is over its limit. */
  checkIfDue(now: number): boolean {
    if (now >= this.#nextSampleAt) this.measure(now);
    return this.usedBytes > this.#limit;
  }

  /** Reads the runtime's real memory use. */
  measure(now: number): void {
    const rt = this.#rt;
    if (rt === null || this.#inst.poisoned) return;
    let used = -1;
    try {
      const m = /^memory used\s+\d+\s+(\d+)/m.exec(rt.dumpMemoryUsage());
      if (m !== null) used = Number(m[1]);
    } catch {
      // The dump itself may fail when the heap is exhausted; the growth cap still holds.
    }
    const after = performance.now();
    const cost = after - now;
    this.#nextSampleAt = after + Math.max(SAMPLE_MIN_MS, cost * SAMPLE_COST_RATIO);
    this.#nextHotSampleAt = after + Math.max(HOT_SAMPLE_MS, cost * HOT_SAMPLE_COST_RATIO);
    this.#seenGrew = this.#inst.grew;
    if (used < 0) return;
    this.usedBytes = used;
    if (used > this.peakBytes) this.peakBytes = used;
  }

  /** The runtime is being freed: no more samples. */
  detach(): void {
    this.#rt = null;
  }
}
