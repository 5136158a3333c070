// A run's log, kept in the worker child: lines from ctx.log and from console.*, capped in bytes.
// Many runs execute at once in one child, so console output is attributed through
// AsyncLocalStorage: the run's log is the store of the async context its code runs in.

import type { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import type { LogLevel, LogLine } from '../core/types.js';
import type { WireLogLine } from './pool/pool-protocol.js';

/** The line appended once a run's log reaches its cap. */
export const TRUNCATED_MARKER = '[truncated]';

const LEVELS: ReadonlySet<string> = new Set(['debug', 'info', 'warn', 'error']);

/** Normalises a user-supplied level; anything unknown is `info`. */
export function toLevel(level: unknown): LogLevel {
  return typeof level === 'string' && LEVELS.has(level) ? (level as LogLevel) : 'info';
}

/** Log lines as they travel from a worker child (tuples) back into objects. */
export function fromWireLines(wire: readonly WireLogLine[] | undefined): LogLine[] {
  if (wire === undefined) return [];
  const out: LogLine[] = new Array(wire.length);
  for (let i = 0; i < wire.length; i++) {
    const [at, level, message] = wire[i]!;
    out[i] = { at, level, message };
  }
  return out;
}

/** The longest prefix of `s` that is at most `maxBytes` of UTF-8, cut on a character boundary. */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}

/**
 * The log lines of one run, capped at `maxBytes` of message text. `lines` holds the lines not yet
 * taken: a runner that streams takes them every turn, one that does not reads them at the end.
 */
export class RunLog {
  lines: WireLogLine[] | undefined;
  truncated = false;
  #bytes = 0;
  #sealed = false;
  readonly #maxBytes: number;
  readonly #onPending: (() => void) | undefined;

  /** `onPending` is called when a line arrives while none is waiting to be taken. */
  constructor(maxBytes: number, onPending?: () => void) {
    this.#maxBytes = maxBytes;
    this.#onPending = onPending;
  }

  /** Appends a line; past the cap, keeps what fits, adds the marker once, then drops the rest. */
  push(level: LogLevel, message: string): void {
    if (this.#sealed || this.truncated) return;
    const room = this.#maxBytes - this.#bytes;
    const size = Buffer.byteLength(message, 'utf8');
    if (this.lines === undefined) {
      this.lines = [];
      this.#onPending?.();
    }
    const lines = this.lines;
    const at = Date.now();
    if (size <= room) {
      this.#bytes += size;
      lines.push([at, level, message]);
      return;
    }
    const part = utf8Prefix(message, room);
    if (part !== '') lines.push([at, level, part]);
    lines.push([at, 'warn', TRUNCATED_MARKER]);
    this.#bytes = this.#maxBytes;
    this.truncated = true;
  }

  /** The lines written since the last take, or undefined when none. */
  take(): WireLogLine[] | undefined {
    const lines = this.lines;
    this.lines = undefined;
    return lines;
  }

  /** Ends the log: what a run's leftover timers print after it finished is dropped. */
  seal(): void {
    this.#sealed = true;
  }
}

const CONSOLE_LEVELS: [keyof Console & ('log' | 'info' | 'warn' | 'error' | 'debug' | 'trace'), LogLevel][] = [
  ['log', 'info'],
  ['info', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['debug', 'debug'],
  ['trace', 'debug'],
];

/**
 * Routes console.log/info/warn/error/debug/trace into the current run's log. Output outside any
 * run (module top-level code, a stray timer) goes to the real console, i.e. the child's stdio.
 */
export function installConsoleCapture(als: AsyncLocalStorage<RunLog>): void {
  for (const [method, level] of CONSOLE_LEVELS) {
    const original = console[method].bind(console) as (...args: unknown[]) => void;
    console[method] = (...args: unknown[]): void => {
      const log = als.getStore();
      if (log === undefined) original(...args);
      else log.push(level, format(...args));
    };
  }
}
