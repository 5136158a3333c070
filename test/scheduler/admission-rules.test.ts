// The admission rules on their own (src/scheduler/admission.ts): no store, no timers, no executor.
// A small stand-in for the dispatcher holds the claimed runs (the `held` map admission reads) and
// acts on each decision the way the dispatcher does: a run that starts or is skipped is no longer
// held, a waiting run dropped by cancel_other is forgotten. Runs end when a test says so.
// The dispatcher-level tests of the same rules, through a real store, are in admission.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_POLICIES } from '../../src/core/policies.js';
import type { Policies, Run, RunTrigger, Task } from '../../src/core/types.js';
import {
  Admission,
  concurrencyKey,
  startableOnClaim,
  startGuard,
  type Admitted,
  type Decision,
  type Entry,
} from '../../src/scheduler/admission.js';
import type { ClaimedRun } from '../../src/store/store.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');

let taskCount = 0;
function makeTask(policies: Partial<Policies> = {}): Task {
  const id = `task-${++taskCount}`;
  return {
    id,
    namespace: 'default',
    name: id,
    description: null,
    kind: 'module',
    spec: { file: 'noop.mjs' },
    schedule: null,
    policies: { ...DEFAULT_POLICIES, ...policies },
    payload: null,
    status: 'active',
    firedCount: 0,
    nextRunAt: null,
    lastRunAt: null,
    lastRunStatus: null,
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    createdBy: 'test',
    updatedBy: 'test',
  };
}

/** Only the fields admission reads (and the dispatcher's heap orders by). */
function makeRun(task: Task, id: string, trigger: RunTrigger, dueAt: number, priority: number): Run {
  return { id, taskId: task.id, namespace: task.namespace, trigger, scheduledFor: dueAt, priority, leaseEpoch: 1, status: 'queued' } as Run;
}

/**
 * The held runs. Admission reads them in every step of its waiting lists, so a list that loops
 * (a waiter put back where it was taken from, forever) fails the test here instead of hanging it.
 */
class HeldMap extends Map<string, Entry> {
  #gets = 0;
  override get(key: string): Entry | undefined {
    if (++this.#gets > 100_000) throw new Error('admission read the held runs 100,000 times: a waiting list loops');
    return super.get(key);
  }
}

/** The dispatcher's part, reduced to what admission sees of it: the held map and acting on decisions. */
class Node {
  readonly held: Map<string, Entry> = new HeldMap();
  readonly admission: Admission;
  #seq = 0;
  #ids = 0;

  constructor(maxConcurrentRuns = 100, held?: Map<string, Entry>, namespaceCap?: (ns: string) => number | undefined) {
    if (held) this.held = held;
    this.admission = new Admission({ maxConcurrentRuns, namespaceCap }, this.held);
  }

  /** A claimed run of `task`, held (not admitted yet). Schedule occurrences unless told otherwise. */
  claim(task: Task, opts: { trigger?: RunTrigger; dueAt?: number; priority?: number; id?: string } = {}): Entry {
    const id = opts.id ?? `r${++this.#ids}`;
    const dueAt = opts.dueAt ?? T0 + this.#ids;
    const priority = opts.priority ?? 0;
    const e: Entry = { dueAt, priority, seq: this.#seq++, claimed: { run: makeRun(task, id, opts.trigger ?? 'schedule', dueAt, priority), task } };
    this.held.set(id, e);
    return e;
  }

  /** Admits a run that fell due and acts on the decision. */
  admit(e: Entry): Decision {
    const d = this.admission.admit(e);
    this.act(e, d);
    return d;
  }

  /** A claimed run that is admitted at once (it falls due now). */
  due(task: Task, opts: Parameters<Node['claim']>[1] = {}): { entry: Entry; decision: Decision } {
    const entry = this.claim(task, opts);
    return { entry, decision: this.admit(entry) };
  }

  /** Ends a running run and acts on what admission gives back; returns it as `id:action`. */
  end(e: Entry): string[] {
    this.admission.ended(e);
    return this.actAll(this.admission.pump(e.claimed.task));
  }

  actAll(out: Admitted[]): string[] {
    for (const a of out) this.act(a.entry, a.decision);
    return out.map((a) => `${a.entry.claimed.run.id}:${label(a.decision)}`);
  }

  act(e: Entry, d: Decision): void {
    if (d.action === 'start' || d.action === 'skip') this.held.delete(e.claimed.run.id);
    if (d.action === 'start' || d.action === 'wait') {
      // cancel_other: running runs are stopped (they stay running until they end); waiting ones are dropped.
      for (const id of d.cancel) this.held.delete(id);
    }
  }
}

function label(d: Decision): string {
  switch (d.action) {
    case 'start':
      return 'start';
    case 'wait':
      return `wait-${d.for}`;
    case 'buffer':
      return 'buffer';
    case 'skip':
      return `skip-${d.reason}`;
  }
}

const START: Decision = { action: 'start', cancel: [] };
const WAIT_KEY: Decision = { action: 'wait', for: 'key', cancel: [] };
const WAIT_SLOT: Decision = { action: 'wait', for: 'slot', cancel: [] };
const BUFFER: Decision = { action: 'buffer' };
const SKIP: Decision = { action: 'skip', reason: 'overlap' };

describe('admission rules: overlap policies', () => {
  it('skip: an occurrence due while another of the task runs is skipped; after it ends the next starts', () => {
    const n = new Node();
    const task = makeTask({ overlap: 'skip' });
    const o1 = n.due(task);
    assert.deepEqual(o1.decision, START);
    assert.deepEqual(n.due(task).decision, SKIP);
    assert.deepEqual(n.due(task).decision, SKIP);
    assert.deepEqual(n.end(o1.entry), []);
    assert.deepEqual(n.due(task).decision, START);
  });

  it('skip: an occurrence admitted and waiting (for a slot) counts as active; one dropped while waiting does not', () => {
    const n = new Node(1);
    const blocker = n.due(makeTask({ overlap: 'allow_all' }), { trigger: 'manual' });
    assert.deepEqual(blocker.decision, START);
    const task = makeTask({ overlap: 'skip' });
    const o1 = n.due(task);
    assert.deepEqual(o1.decision, WAIT_SLOT);
    assert.deepEqual(n.due(task).decision, SKIP, 'o1 waits for a slot: it is active');
    // The dispatcher forgets o1 (cancelled while it waited): it no longer counts, nor comes out.
    n.held.delete(o1.entry.claimed.run.id);
    const o3 = n.due(task);
    assert.deepEqual(o3.decision, WAIT_SLOT);
    assert.deepEqual(n.end(blocker.entry), [`${o3.entry.claimed.run.id}:start`]);
  });

  it('buffer_one: keeps the first occurrence due while one runs, skips the later ones, gives the kept one back when the run ends', () => {
    const n = new Node();
    const task = makeTask({ overlap: 'buffer_one' });
    const o1 = n.due(task);
    assert.deepEqual(o1.decision, START);
    const o2 = n.due(task);
    assert.deepEqual(o2.decision, BUFFER);
    assert.deepEqual(n.due(task).decision, SKIP);
    assert.deepEqual(n.due(task).decision, SKIP);
    assert.deepEqual(n.end(o1.entry), [`${o2.entry.claimed.run.id}:start`]);
    assert.deepEqual(n.end(o2.entry), []);
    assert.deepEqual(n.due(task).decision, START);
  });

  it('buffer_all: keeps every occurrence due while one runs and gives them back one at a time, in order', () => {
    const n = new Node();
    const task = makeTask({ overlap: 'buffer_all' });
    const o1 = n.due(task);
    assert.deepEqual(o1.decision, START);
    const waiting = [n.due(task), n.due(task), n.due(task)];
    for (const w of waiting) assert.deepEqual(w.decision, BUFFER);
    const [o2, o3, o4] = waiting.map((w) => w.entry) as [Entry, Entry, Entry];
    assert.deepEqual(n.end(o1.entry), [`${o2.claimed.run.id}:start`]);
    // While the buffer is not empty a new occurrence queues behind it.
    const o5 = n.due(task);
    assert.deepEqual(o5.decision, BUFFER);
    assert.deepEqual(n.end(o2), [`${o3.claimed.run.id}:start`]);
    assert.deepEqual(n.end(o3), [`${o4.claimed.run.id}:start`]);
    assert.deepEqual(n.end(o4), [`${o5.entry.claimed.run.id}:start`]);
    assert.deepEqual(n.end(o5.entry), []);
  });

  it('cancel_other: the new occurrence is admitted and names the other active runs, running or waiting', () => {
    const n = new Node();
    const task = makeTask({ overlap: 'cancel_other', concurrency: 1 });
    const o1 = n.due(task);
    assert.deepEqual(o1.decision, START);
    const id1 = o1.entry.claimed.run.id;
    // o1 is stopped, but runs (and holds the cap) until it ends: o2 waits for the key.
    const o2 = n.due(task);
    assert.deepEqual(o2.decision, { action: 'wait', for: 'key', cancel: [id1] });
    const o3 = n.due(task);
    assert.deepEqual(o3.decision, { action: 'wait', for: 'key', cancel: [id1, o2.entry.claimed.run.id] });
    // o2 was dropped (the stand-in forgets it, as the dispatcher does): when o1 ends, o3 starts.
    assert.deepEqual(n.end(o1.entry), [`${o3.entry.claimed.run.id}:start`]);
    const o4 = n.due(task);
    assert.deepEqual(o4.decision, { action: 'wait', for: 'key', cancel: [o3.entry.claimed.run.id] });
  });

  it('cancel_other without a cap: the new occurrence starts at once and names the one it replaces', () => {
    const n = new Node();
    const task = makeTask({ overlap: 'cancel_other' });
    const o1 = n.due(task);
    assert.deepEqual(o1.decision, START);
    assert.deepEqual(n.due(task).decision, { action: 'start', cancel: [o1.entry.claimed.run.id] });
  });

  it('allow_all: every occurrence starts while the others run', () => {
    const n = new Node();
    const task = makeTask({ overlap: 'allow_all' });
    for (let i = 0; i < 4; i++) assert.deepEqual(n.due(task).decision, START);
  });

  it('overlap applies to schedule occurrences only; other runs of the task still count as active', () => {
    for (const overlap of ['skip', 'buffer_one', 'buffer_all', 'cancel_other'] as const) {
      const n = new Node();
      const task = makeTask({ overlap });
      const o1 = n.due(task);
      assert.deepEqual(o1.decision, START, overlap);
      for (const trigger of ['manual', 'retry', 'api'] as const) {
        assert.deepEqual(n.due(task, { trigger }).decision, START, `${overlap}: a ${trigger} run starts beside a running occurrence`);
      }
      n.end(o1.entry);
      // Only manual runs are active now: an occurrence meets them.
      const o2 = n.due(task).decision;
      assert.notDeepEqual(o2, START, `${overlap}: an occurrence admitted while manual runs are active`);
    }
  });

  it('finds another active run without walking them all (dead ids pruned, stops at the first live one)', () => {
    // 5,000 occurrences of an allow_all task wait for the one slot: each admission looks at one
    // id, not at every waiting one. Counted through the held map's has().
    let lookups = 0;
    class CountingMap extends HeldMap {
      override has(key: string): boolean {
        lookups++;
        return super.has(key);
      }
    }
    const n = new Node(1, new CountingMap());
    n.due(makeTask(), { trigger: 'manual' });
    const task = makeTask({ overlap: 'allow_all' });
    const N = 5000;
    for (let i = 0; i < N; i++) assert.deepEqual(n.due(task).decision, WAIT_SLOT);
    assert.ok(lookups <= 2 * N, `${lookups} lookups for ${N} admissions`);
  });
});

describe('admission rules: concurrency caps', () => {
  it('a task never runs more than its cap; waiting runs come out one per run that ends, first come first served', () => {
    const n = new Node();
    const task = makeTask({ overlap: 'allow_all', concurrency: 2 });
    const other = makeTask({ overlap: 'allow_all' });
    const [r1, r2] = [n.due(task), n.due(task)];
    assert.deepEqual([r1.decision, r2.decision], [START, START]);
    const [r3, r4] = [n.due(task), n.due(task)];
    assert.deepEqual([r3.decision, r4.decision], [WAIT_KEY, WAIT_KEY]);
    assert.deepEqual(n.due(other).decision, START, 'another task has a cap of its own');
    assert.deepEqual(n.end(r1.entry), [`${r3.entry.claimed.run.id}:start`]);
    assert.deepEqual(n.due(task).decision, WAIT_KEY, 'the cap is full again');
    assert.deepEqual(n.end(r2.entry), [`${r4.entry.claimed.run.id}:start`]);
  });

  it('tasks sharing a concurrencyKey share its count; waiters come out first come first served, each against its own task cap', () => {
    const n = new Node();
    const wide = makeTask({ overlap: 'allow_all', concurrency: 3, concurrencyKey: 'k' });
    const narrow = makeTask({ overlap: 'allow_all', concurrency: 1, concurrencyKey: 'k' });
    const a1 = n.due(wide);
    assert.deepEqual(a1.decision, START);
    const b1 = n.due(narrow);
    assert.deepEqual(b1.decision, WAIT_KEY, 'one run holds k: the narrow task (cap 1) waits');
    const [a2, a3] = [n.due(wide), n.due(wide)];
    assert.deepEqual([a2.decision, a3.decision], [START, START], 'the wide task (cap 3) still has room');
    const a4 = n.due(wide);
    assert.deepEqual(a4.decision, WAIT_KEY);
    // Two of k's runs end: b1 is first in line and its cap (1) is still full; a4 waits behind it.
    assert.deepEqual(n.end(a1.entry), []);
    assert.deepEqual(n.end(a2.entry), []);
    // The last one ends: b1 comes out, then a4 (k holds 1 now, below a4's cap of 3).
    assert.deepEqual(n.end(a3.entry), [`${b1.entry.claimed.run.id}:start`, `${a4.entry.claimed.run.id}:start`]);
    assert.deepEqual(n.due(narrow).decision, WAIT_KEY);
    assert.deepEqual(n.due(wide).decision, START);
  });

  it('an uncapped task holds a shared key too, and the capped waiter starts when its run ends', () => {
    const n = new Node();
    const uncapped = makeTask({ overlap: 'allow_all', concurrency: null, concurrencyKey: 'k' });
    const capped = makeTask({ overlap: 'allow_all', concurrency: 1, concurrencyKey: 'k' });
    const u1 = n.due(uncapped);
    assert.deepEqual(u1.decision, START);
    assert.deepEqual(n.due(uncapped).decision, START, 'no cap of its own');
    const c1 = n.due(capped);
    assert.deepEqual(c1.decision, WAIT_KEY);
    assert.deepEqual(n.end(u1.entry), [], 'the other uncapped run still holds k');
  });

  it('an uncapped run ending lets the capped waiter of its key start', () => {
    const n = new Node();
    const uncapped = makeTask({ overlap: 'allow_all', concurrency: null, concurrencyKey: 'k' });
    const capped = makeTask({ overlap: 'allow_all', concurrency: 1, concurrencyKey: 'k' });
    const u1 = n.due(uncapped);
    const c1 = n.due(capped);
    assert.deepEqual(c1.decision, WAIT_KEY);
    assert.deepEqual(n.end(u1.entry), [`${c1.entry.claimed.run.id}:start`]);
  });

  it('caps without a shared key are per task, and different keys do not share a count', () => {
    const n = new Node();
    const a = makeTask({ overlap: 'allow_all', concurrency: 1 });
    const b = makeTask({ overlap: 'allow_all', concurrency: 1 });
    const c = makeTask({ overlap: 'allow_all', concurrency: 1, concurrencyKey: 'x' });
    const d = makeTask({ overlap: 'allow_all', concurrency: 1, concurrencyKey: 'y' });
    for (const t of [a, b, c, d]) assert.deepEqual(n.due(t).decision, START, t.id);
    for (const t of [a, b, c, d]) assert.deepEqual(n.due(t).decision, WAIT_KEY, t.id);
  });
});

describe('admission rules: node slots', () => {
  it('never more running than maxConcurrentRuns; waiting runs get freed slots in due, then priority, then arrival order', () => {
    const n = new Node(2);
    const task = makeTask({ overlap: 'allow_all' });
    const r1 = n.due(task, { dueAt: T0 });
    const r2 = n.due(task, { dueAt: T0 });
    assert.deepEqual([r1.decision, r2.decision], [START, START]);
    // Admitted in this order, but waiting in due/priority order.
    const late = n.due(task, { dueAt: T0 + 30, id: 'late' });
    const low = n.due(task, { dueAt: T0 + 20, priority: 0, id: 'low' });
    const high = n.due(task, { dueAt: T0 + 20, priority: 5, id: 'high' });
    const low2 = n.due(task, { dueAt: T0 + 20, priority: 0, id: 'low2' });
    for (const w of [late, low, high, low2]) assert.deepEqual(w.decision, WAIT_SLOT);
    assert.deepEqual(n.end(r1.entry), ['high:start']);
    assert.deepEqual(n.end(r2.entry), ['low:start']);
    assert.deepEqual(n.end(high.entry), ['low2:start']);
    assert.deepEqual(n.end(low.entry), ['late:start']);
    assert.deepEqual(n.end(low2.entry), []);
    assert.deepEqual(n.end(late.entry), []);
    assert.deepEqual(n.due(task).decision, START);
  });

  it('namespaces take turns for freed slots: a flood in one does not hold back another namespace’s later run', () => {
    const n = new Node(1);
    const flood = { ...makeTask({ overlap: 'allow_all' }), namespace: 'flood' };
    const steady = { ...makeTask({ overlap: 'allow_all' }), namespace: 'steady' };
    const quiet = { ...makeTask({ overlap: 'allow_all' }), namespace: 'quiet' };
    const first = n.due(flood, { dueAt: T0, id: 'f0' });
    assert.deepEqual(first.decision, START);
    const waiting = Array.from({ length: 5 }, (_, i) => n.due(flood, { dueAt: T0 + i, id: `f${i + 1}` }));
    // Due after every run of the flood, yet next in line once the flood has had its turn.
    const s = n.due(steady, { dueAt: T0 + 100, id: 's1' });
    const s2 = n.due(steady, { dueAt: T0 + 101, id: 's2' });
    const q = n.due(quiet, { dueAt: T0 + 200, id: 'q1' });
    for (const w of [...waiting, s, s2, q]) assert.deepEqual(w.decision, WAIT_SLOT);
    const order: string[] = [];
    let running = first.entry;
    for (;;) {
      const [next] = n.end(running);
      if (next === undefined) break;
      order.push(next);
      running = n.held.get(next.split(':')[0]!) ?? [first, ...waiting, s, s2, q].find((x) => `${x.entry.claimed.run.id}:start` === next)!.entry;
    }
    // In turn, one each, each namespace in its own due order.
    assert.deepEqual(order, ['f1:start', 's1:start', 'q1:start', 'f2:start', 's2:start', 'f3:start', 'f4:start', 'f5:start']);
  });

  it('a run that waited for a slot is checked against its cap again when it gets one', () => {
    const n = new Node(2);
    const free = makeTask({ overlap: 'allow_all' });
    const capped = makeTask({ overlap: 'allow_all', concurrency: 1 });
    const x = n.due(free);
    const y = n.due(free);
    // Both pass the cap (nothing of the task runs) and wait for a slot.
    const t1 = n.due(capped, { dueAt: T0 + 10, id: 't1' });
    const t2 = n.due(capped, { dueAt: T0 + 11, id: 't2' });
    assert.deepEqual([t1.decision, t2.decision], [WAIT_SLOT, WAIT_SLOT]);
    assert.deepEqual(n.end(x.entry), ['t1:start']);
    // A slot frees, but t1 fills the cap: t2 goes on waiting, now for the key.
    assert.deepEqual(n.end(y.entry), ['t2:wait-key']);
    assert.deepEqual(n.end(t1.entry), ['t2:start']);
  });

  it('the waiters of an ended run\'s key get the slot it frees before runs waiting for a slot', () => {
    const n = new Node(1);
    const capped = makeTask({ overlap: 'allow_all', concurrency: 1, concurrencyKey: 'k' });
    const other = makeTask({ overlap: 'allow_all' });
    const c1 = n.due(capped);
    const c2 = n.due(capped);
    assert.deepEqual(c2.decision, WAIT_KEY);
    const o1 = n.due(other);
    assert.deepEqual(o1.decision, WAIT_SLOT);
    // c1 ends: its key has room and the node one slot, which c2 (the key's waiter) takes first.
    assert.deepEqual(n.end(c1.entry), [`${c2.entry.claimed.run.id}:start`]);
    assert.deepEqual(n.end(c2.entry), [`${o1.entry.claimed.run.id}:start`]);
  });
});

describe('admission rules: namespace quotas (concurrentRuns)', () => {
  it('a namespace never runs more than its cap on the node; its waiters start as its runs end, other namespaces are not held back', () => {
    const n = new Node(10, undefined, (ns) => (ns === 'capped' ? 2 : undefined));
    const capped = { ...makeTask({ overlap: 'allow_all' }), namespace: 'capped' };
    const free = { ...makeTask({ overlap: 'allow_all' }), namespace: 'free' };
    const [c1, c2, c3, c4] = [1, 2, 3, 4].map((i) => n.due(capped, { dueAt: T0 + i, id: `c${i}` }));
    const WAIT_NS: Decision = { action: 'wait', for: 'namespace', cancel: [] };
    assert.deepEqual([c1!.decision, c2!.decision, c3!.decision, c4!.decision], [START, START, WAIT_NS, WAIT_NS]);
    // Slots are free: other namespaces start at once.
    for (let i = 0; i < 5; i++) assert.deepEqual(n.due(free).decision, START);
    assert.deepEqual(n.end(c2!.entry), ['c3:start']);
    assert.deepEqual(n.end(c1!.entry), ['c4:start']);
    assert.deepEqual(n.end(c3!.entry), []);
    // Room again: the next one starts at once.
    assert.deepEqual(n.due(capped, { id: 'c5' }).decision, START);
    assert.deepEqual(n.due(capped, { id: 'c6' }).decision, WAIT_NS);
  });

  it('runs of a capped namespace never start in their claim’s own write (admission counts them one by one)', () => {
    const n = new Node(10, undefined, (ns) => (ns === 'capped' ? 1 : undefined));
    const capped = { ...makeTask({ overlap: 'allow_all' }), namespace: 'capped' };
    const free = { ...makeTask({ overlap: 'allow_all' }), namespace: 'free' };
    const a = n.claim(capped, { trigger: 'manual' });
    const b = n.claim(free, { trigger: 'manual' });
    const chosen = n.admission.chooseClaimStarts([a.claimed, b.claimed]);
    assert.deepEqual([...chosen].map((c) => c.run.id), [b.claimed.run.id]);
  });
});

describe('admission rules: runs started by their claim', () => {
  const claimed = (task: Task, id: string, trigger: RunTrigger = 'manual'): ClaimedRun => ({ run: makeRun(task, id, trigger, T0, 0), task });

  it('chooses runs with nothing to check, up to the free slots, and promises those slots until the claim returns', () => {
    const n = new Node(4);
    const plain = makeTask({ overlap: 'skip' });
    const other = makeTask({ overlap: 'skip' });
    const capped = makeTask({ overlap: 'allow_all', concurrency: 5 });
    const allowAll = makeTask({ overlap: 'allow_all' });
    assert.deepEqual(n.due(plain, { trigger: 'manual' }).decision, START);
    const due = [claimed(capped, 'c1'), claimed(plain, 's1', 'schedule'), claimed(other, 'm1'), claimed(allowAll, 'a1', 'schedule'), claimed(plain, 'm2'), claimed(plain, 'm3')];
    const chosen = n.admission.chooseClaimStarts(due);
    // 4 slots, 1 running: 3 free. Not the capped run, nor a schedule occurrence with an overlap rule.
    assert.deepEqual([...chosen].map((c) => c.run.id), ['m1', 'a1', 'm2']);
    // Those slots are promised: a run due meanwhile waits.
    assert.deepEqual(n.due(plain, { trigger: 'manual', id: 'w', dueAt: T0 }).decision, WAIT_SLOT);
    // The claim returns with two of them started (the third was handed back).
    const m1: Entry = { dueAt: T0, priority: 0, seq: 100, claimed: due[2]! };
    const a1: Entry = { dueAt: T0, priority: 0, seq: 101, claimed: due[3]! };
    n.admission.started(m1);
    n.admission.started(a1);
    assert.deepEqual(n.actAll(n.admission.claimDone()), ['w:start'], 'the unused promised slot goes to the waiting run');
    // A run its claim started counts like any other: it holds its slot, and is active for overlap.
    assert.deepEqual(n.due(plain, { trigger: 'manual', id: 'p', dueAt: T0 + 1 }).decision, WAIT_SLOT, 'all 4 slots are taken');
    assert.deepEqual(n.due(other).decision, SKIP, 'm1 runs: an occurrence of its task is skipped');
    assert.deepEqual(n.end(m1), ['p:start']);
  });

  it('runs waiting for a slot are counted before the claim takes any', () => {
    const plain = makeTask({ overlap: 'allow_all' });
    const n = new Node(3);
    n.due(plain);
    const all = [claimed(plain, 'm1'), claimed(plain, 'm2'), claimed(plain, 'm3')];
    assert.equal(n.admission.chooseClaimStarts(all).size, 2, '3 slots, 1 running');
    assert.deepEqual(n.due(plain, { id: 'w' }).decision, WAIT_SLOT, 'the 2 free slots are promised');
    // The store tries again (its first attempt rolled back): the run now waiting for a slot comes first.
    assert.equal(n.admission.chooseClaimStarts(all).size, 1);
    // The claim returns having started none: the waiting run gets a slot.
    assert.deepEqual(n.actAll(n.admission.claimDone()), ['w:start']);
  });

  it('each choice replaces the last promise (the store calls it once per attempt)', () => {
    const plain = makeTask({ overlap: 'allow_all' });
    const n = new Node(3);
    n.due(plain);
    assert.equal(n.admission.chooseClaimStarts([claimed(plain, 'm1'), claimed(plain, 'm2')]).size, 2);
    assert.equal(n.admission.chooseClaimStarts([claimed(plain, 'm1')]).size, 1);
    assert.deepEqual(n.due(plain).decision, START, '1 running + 1 promised: one slot is free');
    assert.deepEqual(n.due(plain).decision, WAIT_SLOT);
    assert.equal(n.admission.chooseClaimStarts([]).size, 0);
    assert.deepEqual(n.due(plain).decision, START, 'nothing promised any more');
  });
});

describe('admission rules: cluster refusals, clear()', () => {
  it('a start a cluster guard refused is skipped (skip, or a second buffer_one) or kept for the next try', () => {
    const n = new Node();
    const skip = makeTask({ overlap: 'skip' });
    const one = makeTask({ overlap: 'buffer_one' });
    const all = makeTask({ overlap: 'buffer_all', concurrency: 1 });
    assert.equal(n.admission.refused(n.claim(skip), 'overlap'), 'skip');
    assert.equal(n.admission.refused(n.claim(skip), 'concurrency'), 'retry', 'a full key is waited for, whatever the overlap policy');
    const kept = n.claim(one);
    assert.equal(n.admission.refused(kept, 'overlap'), 'retry');
    assert.equal(n.admission.refused(n.claim(one), 'overlap'), 'skip', 'buffer_one keeps one');
    const a1 = n.claim(all);
    const a2 = n.claim(all);
    assert.equal(n.admission.refused(a1, 'overlap'), 'retry');
    assert.equal(n.admission.refused(a2, 'concurrency'), 'retry');
    assert.deepEqual(
      n.admission.takeRefused().map((e) => e.claimed.run.id),
      ['r2', kept.claimed.run.id, a1.claimed.run.id, a2.claimed.run.id],
    );
    assert.deepEqual(n.admission.takeRefused(), []);
  });

  it('clear() forgets every waiting run but keeps counting the running ones until they end', () => {
    const n = new Node(2);
    const buffered = makeTask({ overlap: 'buffer_all' });
    const capped = makeTask({ overlap: 'allow_all', concurrency: 1 });
    const plain = makeTask({ overlap: 'allow_all' });
    const b1 = n.due(buffered);
    const c1 = n.due(capped);
    assert.deepEqual([b1.decision, c1.decision], [START, START]);
    assert.deepEqual(n.due(buffered).decision, BUFFER);
    assert.deepEqual(n.due(capped).decision, WAIT_KEY);
    assert.deepEqual(n.due(plain).decision, WAIT_SLOT);
    n.admission.refused(n.claim(plain), 'concurrency');
    n.admission.clear();
    // (The dispatcher drops what it holds too; the stand-in keeps its held map, so only clear() hides them.)
    assert.deepEqual(n.admission.takeRefused(), []);
    assert.deepEqual(n.actAll(n.admission.claimDone()), []);
    assert.deepEqual(n.due(plain, { id: 'after' }).decision, WAIT_SLOT, 'the running runs still hold both slots');
    assert.deepEqual(n.end(b1.entry), ['after:start']);
    assert.deepEqual(n.end(c1.entry), []);
    assert.deepEqual(n.due(buffered).decision, START, 'the cleared buffer is gone');
  });
});

describe('admission rules: pure helpers', () => {
  const runOf = (task: Task, trigger: RunTrigger): Run => makeRun(task, 'x', trigger, T0, 0);

  it('concurrencyKey: the shared key, else the task', () => {
    assert.equal(concurrencyKey(makeTask({ concurrencyKey: 'k' })), 'k');
    const t = makeTask();
    assert.equal(concurrencyKey(t), `task:${t.id}`);
  });

  it('startableOnClaim: no cap, and no overlap rule for a schedule occurrence', () => {
    const skip = makeTask({ overlap: 'skip' });
    assert.equal(startableOnClaim(runOf(skip, 'manual'), skip), true);
    assert.equal(startableOnClaim(runOf(skip, 'schedule'), skip), false);
    const allow = makeTask({ overlap: 'allow_all' });
    assert.equal(startableOnClaim(runOf(allow, 'schedule'), allow), true);
    const capped = makeTask({ overlap: 'allow_all', concurrency: 3 });
    assert.equal(startableOnClaim(runOf(capped, 'manual'), capped), false);
  });

  it('startGuard: overlap for schedule occurrences (not allow_all, not cancel_other), the cap by its key', () => {
    const skip = makeTask({ overlap: 'skip' });
    assert.deepEqual(startGuard(runOf(skip, 'schedule'), skip), { overlapTaskId: skip.id });
    assert.equal(startGuard(runOf(skip, 'manual'), skip), undefined);
    for (const overlap of ['allow_all', 'cancel_other'] as const) {
      const t = makeTask({ overlap });
      assert.equal(startGuard(runOf(t, 'schedule'), t), undefined, overlap);
    }
    const capped = makeTask({ overlap: 'buffer_all', concurrency: 2, concurrencyKey: 'k' });
    assert.deepEqual(startGuard(runOf(capped, 'schedule'), capped), { overlapTaskId: capped.id, concurrency: { key: 'k', cap: 2 } });
    assert.deepEqual(startGuard(runOf(capped, 'api'), capped), { concurrency: { key: 'k', cap: 2 } });
  });
});
