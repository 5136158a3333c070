// What the bus carries from the background loops and the worker pools reaches the server's log as
// structured lines (nothing is written raw to stderr, nothing fails silently).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { pino } from 'pino';
import { EventBus } from '../../src/core/events.js';
import { logBusEvents } from '../../src/observability/logger.js';

function capture(): { lines: Record<string, unknown>[]; bus: EventBus } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const bus = new EventBus();
  logBusEvents(bus, pino({ level: 'info' }, sink));
  return { lines, bus };
}

it('logs a worker process output and a pool warning as structured lines', async () => {
  const { lines, bus } = capture();
  bus.emit('pool:child:output', { pool: 'module', pid: 42, text: 'hello from a child\n' });
  bus.emit('pool:warning', { pool: 'script', pid: 7, message: 'a log sink threw', error: new Error('boom') });
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 2);
  assert.deepEqual([lines[0]!.level, lines[0]!.pool, lines[0]!.pid, lines[0]!.output, lines[0]!.msg], [30, 'module', 42, 'hello from a child\n', 'worker process output']);
  assert.deepEqual([lines[1]!.level, lines[1]!.pool, lines[1]!.pid, lines[1]!.msg], [40, 'script', 7, 'a log sink threw']);
  assert.equal((lines[1]!.err as { message: string }).message, 'boom');
});

it('logs scheduler errors and unexpected child exits, not expected ones', async () => {
  const { lines, bus } = capture();
  bus.emit('scheduler:error', { where: 'claim', error: new Error('disk full') });
  bus.emit('pool:child:exit', { pid: 1, code: 0, signal: null, expected: true });
  bus.emit('pool:child:exit', { pid: 2, code: null, signal: 'SIGKILL', expected: false });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [
      [50, 'scheduler error'],
      [40, 'worker process exited unexpectedly'],
    ],
  );
});
