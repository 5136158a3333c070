// The queue of runs waiting for a node slot (src/scheduler/fair-queue.ts): namespaces in turn,
// each in due, then priority, then arrival order.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FairQueue, type FairEntry } from '../../src/scheduler/fair-queue.js';

let seq = 0;
const entry = (namespace: string, dueAt: number, priority = 0): FairEntry & { id: string } => ({
  id: `${namespace}@${dueAt}${priority ? `p${priority}` : ''}`,
  dueAt,
  priority,
  seq: seq++,
  claimed: { run: { namespace } },
});

const popAll = (q: FairQueue<FairEntry & { id: string }>): string[] => {
  const out: string[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.id);
  return out;
};

it('one namespace: due, then priority (higher first), then arrival order', () => {
  const q = new FairQueue<FairEntry & { id: string }>();
  for (const e of [entry('a', 30), entry('a', 10), entry('a', 20), entry('a', 10, 5)]) q.push(e);
  assert.equal(q.size, 4);
  assert.deepEqual(popAll(q), ['a@10p5', 'a@10', 'a@20', 'a@30']);
  assert.equal(q.size, 0);
  assert.equal(q.pop(), undefined);
});

it('several namespaces take turns, one entry each, whatever their due times', () => {
  const q = new FairQueue<FairEntry & { id: string }>();
  for (let i = 0; i < 4; i++) q.push(entry('flood', i));
  q.push(entry('b', 100));
  q.push(entry('c', 200));
  q.push(entry('b', 101));
  assert.deepEqual(popAll(q), ['flood@0', 'b@100', 'c@200', 'flood@1', 'b@101', 'flood@2', 'flood@3']);
});

it('a namespace that runs dry leaves the rotation and joins at the end when it has entries again', () => {
  const q = new FairQueue<FairEntry & { id: string }>();
  q.push(entry('a', 1));
  q.push(entry('a', 2));
  q.push(entry('b', 1));
  assert.equal(q.pop()!.id, 'a@1');
  assert.equal(q.pop()!.id, 'b@1');
  q.push(entry('b', 5));
  q.push(entry('c', 0));
  assert.deepEqual(popAll(q), ['a@2', 'b@5', 'c@0']);
});

it('drain empties it, and it works as new afterwards', () => {
  const q = new FairQueue<FairEntry & { id: string }>();
  q.push(entry('a', 1));
  q.push(entry('b', 1));
  assert.equal(q.drain().length, 2);
  assert.equal(q.size, 0);
  q.push(entry('c', 3));
  assert.deepEqual(popAll(q), ['c@3']);
});
