// A run's stdout and stderr as log lines. A command may print anything, as fast as it likes, so
// lines are split at a fixed size (one line cannot hold a whole log or a huge buffer), the log is
// capped at logMaxBytes, and lines reach the sink in batches rather than one call per chunk.

import type { LogLevel, LogLine } from '../../core/types.js';
import type { LogSink, RunJob } from '../executor.js';
import { TRUNCATED_MARKER, utf8Prefix } from '../log-capture.js';

/** Splits long lines so one line cannot hold a run's whole log or a huge buffer. */
export const LINE_MAX_BYTES = 64 * 1024;

/** Splits a byte stream into lines of at most LINE_MAX_BYTES (longer ones are split). */
export class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;

  push(chunk: Buffer, onLine: (line: string) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.#add(chunk.subarray(start, nl), onLine);
      onLine(this.#take(this.#size));
      start = nl + 1;
    }
    this.#add(chunk.subarray(start), onLine);
  }

  /** The last line, if it had no newline. */
  end(onLine: (line: string) => void): void {
    if (this.#size > 0) onLine(this.#take(this.#size));
  }

  #add(bytes: Buffer, onLine: (line: string) => void): void {
    if (bytes.length === 0) return;
    this.#parts.push(bytes);
    this.#size += bytes.length;
    while (this.#size > LINE_MAX_BYTES) {
      const all = Buffer.concat(this.#parts, this.#size);
      let cut = LINE_MAX_BYTES;
      // Not inside a UTF-8 sequence: step back over continuation bytes (10xxxxxx).
      while (cut > LINE_MAX_BYTES - 4 && (all[cut]! & 0xc0) === 0x80) cut--;
      onLine(all.toString('utf8', 0, cut));
      this.#parts = [all.subarray(cut)];
      this.#size = all.length - cut;
    }
  }

  #take(size: number): string {
    const all = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, size);
    this.#parts = [];
    this.#size = 0;
    const end = all.length > 0 && all[all.length - 1] === 13 ? all.length - 1 : all.length;
    return all.toString('utf8', 0, end);
  }
}

/** A run's log: capped, streamed to the sink at most once per event-loop turn. */
export class ShellLog {
  truncated = false;
  stdoutLines = 0;
  stderrLines = 0;
  firstStderr: string | null = null;
  #bytes = 0;
  #pending: LogLine[] = [];
  #scheduled = false;

  constructor(
    readonly job: RunJob,
    readonly sink: LogSink,
    readonly maxBytes: number,
  ) {}

  line(level: LogLevel, message: string, at: number): void {
    if (this.truncated) return;
    if (level === 'error') {
      if (this.stderrLines++ === 0) this.firstStderr = message;
    } else this.stdoutLines++;
    const size = Buffer.byteLength(message, 'utf8') + 1;
    if (this.#bytes + size <= this.maxBytes) {
      this.#bytes += size;
      this.#pending.push({ at, level, message });
    } else {
      const part = utf8Prefix(message, this.maxBytes - this.#bytes - 1);
      if (part !== '') this.#pending.push({ at, level, message: part });
      this.#pending.push({ at, level: 'warn', message: TRUNCATED_MARKER });
      this.#bytes = this.maxBytes;
      this.truncated = true;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    this.sink(this.job, lines);
  }
}
