// Issue 12, hole 4 across nodes: a revocation travels between two signal bridges with the key's
// id, so the receiving node can end that key's open streams (not only empty its auth cache).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import { SignalBridge } from '../../src/cluster/signal-bridge.js';
import type { StoreSignals } from '../../src/store/store.js';

/** Two nodes' signals on one in-memory channel: a message reaches the other node only. */
function pair(): [StoreSignals, StoreSignals] {
  const handlers: ((topic: string, payload: string) => void)[][] = [[], []];
  const side = (me: number): StoreSignals => ({
    publish: async (topic, payload) => {
      for (const h of handlers[1 - me]!) h(topic, payload);
    },
    subscribe: (h) => {
      handlers[me]!.push(h);
      return () => handlers[me]!.splice(handlers[me]!.indexOf(h), 1);
    },
  });
  return [side(0), side(1)];
}

test("a key revoked on one node reaches the other with its id", async () => {
  const [a, b] = pair();
  const busA = new EventBus();
  const revokedOnB: string[] = [];
  const bridgeA = new SignalBridge({ signals: a, bus: busA, clock: systemClock, onCancel: () => {}, onWake: () => {}, onKeyRevoked: () => {} });
  const bridgeB = new SignalBridge({ signals: b, bus: new EventBus(), clock: systemClock, onCancel: () => {}, onWake: () => {}, onKeyRevoked: (id) => revokedOnB.push(id) });
  bridgeA.start();
  bridgeB.start();
  try {
    busA.emit('api-key:revoked', { id: '0190aaaa-0000-7000-8000-000000000001', at: Date.now() });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(revokedOnB, ['0190aaaa-0000-7000-8000-000000000001']);
  } finally {
    bridgeA.stop();
    bridgeB.stop();
  }
});
