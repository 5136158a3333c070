import { pino, type Logger } from 'pino';
import type { EventBus } from '../core/events.js';

/** The server's structured logger (JSON lines on stdout). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { svc: 'sundial' } });
}

/** Logs what background loops report on the bus, so nothing fails silently. */
export function logBusEvents(bus: EventBus, log: Logger): void {
  bus.on('scheduler:error', (e) => log.error({ err: e.error, where: e.where }, 'scheduler error'));
  bus.on('scheduler:tick:overdue', (e) => log.warn({ lateMs: e.firedAt - e.expectedAt }, 'dispatcher timer fired late'));
  bus.on('pool:child:exit', (e) => {
    if (!e.expected) log.warn(e, 'worker process exited unexpectedly');
  });
  // What worker processes print outside any run, and what the pools handled but the operator
  // should know: structured lines instead of raw text on the server's stderr.
  bus.on('pool:child:output', (e) => log.info({ pool: e.pool, pid: e.pid, output: e.text }, 'worker process output'));
  bus.on('pool:warning', (e) => log.warn({ pool: e.pool, pid: e.pid, ...(e.error && { err: e.error }) }, e.message));
  bus.on('bus:listener:error', (e) => log.error({ err: e.error, event: e.event }, 'event listener failed'));
}
