// The sink's dropped-points counter sampled at each evaluation, so sink_dropping can ask "how
// many in the last window" of a counter that only ever grows (a Prometheus `increase()`, here).
import type { Millis } from '../core/types.js';

/** Samples older than this are forgotten (the longest window a rule may ask for is 24 h). */
const KEEP_MS = 86_400_000 + 60_000;

export class DropHistory {
  readonly #samples: { at: Millis; total: number }[] = [];

  constructor(private readonly read: () => number | Promise<number>) {}

  /** Records the counter now; call once per evaluation, before `increase`. */
  async sample(now: Millis): Promise<void> {
    this.#samples.push({ at: now, total: await this.read() });
    while (this.#samples.length > 1 && this.#samples[0]!.at < now - KEEP_MS) this.#samples.shift();
  }

  /**
   * Points dropped in (now − window, now]: the newest total minus the last sample at or before the
   * window's start (or the first sample, while the history is shorter than the window).
   */
  increase(now: Millis, windowMs: number): number {
    const last = this.#samples[this.#samples.length - 1];
    if (last === undefined) return 0;
    let base = this.#samples[0]!;
    for (const s of this.#samples) {
      if (s.at <= now - windowMs) base = s;
      else break;
    }
    return Math.max(0, last.total - base.total);
  }
}
