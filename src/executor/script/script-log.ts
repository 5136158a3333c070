// The log of one script run, as the interpreter thread streams it to the pool: a script can
// write lines far faster than anyone should store them, so the cap counts every line's cost.

import { TRUNCATED_MARKER, utf8Prefix } from '../log-capture.js';
import { LINE_MAX_BYTES, LINE_OVERHEAD_BYTES } from './script-limits.js';
import type { WireLogLine } from './script-protocol.js';

/**
 * A run's log, capped in bytes. RunLog (log-capture.ts) counts only message bytes, so a flood of
 * empty lines would be unbounded; here each line also costs LINE_OVERHEAD_BYTES, and single
 * lines are cut at LINE_MAX_BYTES. The marker line and the streaming (`take`) are the same.
 */
export class ScriptLog {
  truncated = false;
  #lines: WireLogLine[] | undefined;
  #bytes = 0;
  #sealed = false;

  constructor(readonly maxBytes: number) {}

  /** Appends a line; returns true when it is the first one waiting to be taken. */
  push(level: WireLogLine[1], message: string): boolean {
    if (this.#sealed || this.truncated) return false;
    let text = message;
    if (text.length > LINE_MAX_BYTES / 3 && Buffer.byteLength(text, 'utf8') > LINE_MAX_BYTES) {
      text = `${utf8Prefix(text, LINE_MAX_BYTES - 17)} [line truncated]`;
    }
    const first = this.#lines === undefined;
    const lines = (this.#lines ??= []);
    const at = Date.now();
    const size = Buffer.byteLength(text, 'utf8') + LINE_OVERHEAD_BYTES;
    const room = this.maxBytes - this.#bytes;
    if (size <= room) {
      this.#bytes += size;
      lines.push([at, level, text]);
      return first;
    }
    const part = utf8Prefix(text, room - LINE_OVERHEAD_BYTES);
    if (part !== '') lines.push([at, level, part]);
    lines.push([at, 'warn', TRUNCATED_MARKER]);
    this.#bytes = this.maxBytes;
    this.truncated = true;
    return first;
  }

  /** The lines written since the last take. */
  take(): WireLogLine[] | undefined {
    const lines = this.#lines;
    this.#lines = undefined;
    return lines;
  }

  seal(): void {
    this.#sealed = true;
  }
}
