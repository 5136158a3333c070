// What a worker pool tells the operator, as events on the bus the executor is given: output its
// children print outside any run ('pool:child:output') and things it handles rather than throws
// ('pool:warning': a sink that threw, a child killed for its memory). The server's logger
// subscribes there. Where nobody listens (a pool used on its own, a benchmark) the line goes to
// stderr, so a crash report is never lost.

import { coerceError } from '../../core/errors.js';
import type { EventBus } from '../../core/events.js';

/** Which pool speaks: `module` or `script`. */
export type PoolName = 'module' | 'script';

export class PoolReport {
  readonly #bus: EventBus;
  readonly #pool: PoolName;

  constructor(bus: EventBus, pool: PoolName) {
    this.#bus = bus;
    this.#pool = pool;
  }

  /** A child printed `text` outside any run. */
  childOutput(pid: number, text: string): void {
    if (this.#bus.has('pool:child:output')) {
      this.#bus.emit('pool:child:output', { pool: this.#pool, pid, text });
      return;
    }
    process.stderr.write(text.replace(/^(?=.)/gm, `[sundial ${this.#pool} worker ${pid}] `));
  }

  /** Something the pool handled but the operator should know; `error` when something threw. */
  warning(pid: number | null, message: string, error?: unknown): void {
    const err = error === undefined ? null : coerceError(error);
    if (this.#bus.has('pool:warning')) {
      this.#bus.emit('pool:warning', { pool: this.#pool, pid, message, error: err });
      return;
    }
    const who = pid === null ? `${this.#pool} pool` : `${this.#pool} worker ${pid}`;
    process.stderr.write(`[sundial ${who}] ${message}${err === null ? '' : `: ${err.message}`}\n`);
  }
}
