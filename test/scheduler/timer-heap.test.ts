// The dispatcher's timer heap on its own: due time first, then higher priority, then arrival.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TimerHeap, type HeapEntry } from '../../src/scheduler/timer-heap.js';

interface Item extends HeapEntry {
  name: string;
}

let seq = 0;
const item = (name: string, dueAt: number, priority = 0): Item => ({ name, dueAt, priority, seq: seq++ });

function popAll(h: TimerHeap<Item>): string[] {
  const out: string[] = [];
  for (let e = h.pop(); e !== undefined; e = h.pop()) out.push(e.name);
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure repeats. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('an empty heap has nothing to peek or pop', () => {
  const h = new TimerHeap<Item>();
  assert.equal(h.size, 0);
  assert.equal(h.peek(), undefined);
  assert.equal(h.pop(), undefined);
  assert.equal(h.size, 0);
});

test('earliest due first, whatever the order of pushes', () => {
  const h = new TimerHeap<Item>();
  for (const [n, at] of [['c', 30], ['a', 10], ['e', 50], ['b', 20], ['d', 40]] as const) h.push(item(n, at));
  assert.equal(h.size, 5);
  assert.equal(h.peek()?.name, 'a');
  assert.equal(h.size, 5, 'peek does not remove');
  assert.deepEqual(popAll(h), ['a', 'b', 'c', 'd', 'e']);
});

test('due at the same time: higher priority first, then first pushed first', () => {
  const h = new TimerHeap<Item>();
  h.push(item('low-1', 100, -5));
  h.push(item('mid-1', 100, 0));
  h.push(item('high', 100, 10));
  h.push(item('mid-2', 100, 0));
  h.push(item('earlier-but-low', 99, -100));
  h.push(item('low-2', 100, -5));
  h.push(item('mid-3', 100, 0));
  assert.deepEqual(popAll(h), ['earlier-but-low', 'high', 'mid-1', 'mid-2', 'mid-3', 'low-1', 'low-2']);
});

test('priority never beats an earlier due time', () => {
  const h = new TimerHeap<Item>();
  h.push(item('late-urgent', 2_000, 1_000));
  h.push(item('early', 1_000, 0));
  assert.equal(h.pop()?.name, 'early');
  assert.equal(h.pop()?.name, 'late-urgent');
});

test('interleaved pushes and pops always pop the least entry (against a sorted reference)', () => {
  const random = rng(42);
  const h = new TimerHeap<Item>();
  const reference: Item[] = [];
  const order = (a: Item, b: Item): number => a.dueAt - b.dueAt || b.priority - a.priority || a.seq - b.seq;
  for (let step = 0; step < 5_000; step++) {
    if (random() < 0.6 || reference.length === 0) {
      // Few distinct due times and priorities, so ties are common.
      const e = item(`e${step}`, Math.floor(random() * 50), Math.floor(random() * 5) - 2);
      h.push(e);
      reference.push(e);
    } else {
      reference.sort(order);
      const want = reference.shift()!;
      assert.equal(h.peek(), want, `step ${step}: peek`);
      assert.equal(h.pop(), want, `step ${step}: pop`);
    }
    assert.equal(h.size, reference.length);
  }
  reference.sort(order);
  assert.deepEqual(popAll(h), reference.map((e) => e.name));
});

test('drain empties the heap and returns every entry; the heap works on afterwards', () => {
  const h = new TimerHeap<Item>();
  const names = ['a', 'b', 'c', 'd'];
  names.forEach((n, i) => h.push(item(n, 100 - i)));
  const drained = h.drain();
  assert.deepEqual(drained.map((e) => e.name).sort(), names);
  assert.equal(h.size, 0);
  assert.equal(h.pop(), undefined);
  h.push(item('z', 5));
  h.push(item('y', 1));
  assert.deepEqual(popAll(h), ['y', 'z']);
});
