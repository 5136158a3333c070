// Runs waiting for a node slot, served fairly between namespaces: each namespace keeps its own
// due-order heap, and slots go to the namespaces with waiting runs in turn, one run each. A flood
// of 50,000 runs in one namespace then delays another namespace's next run by one run per
// namespace, not by the flood: strict due order would put that run behind every run of the flood
// that fell due before it.

import type { Run } from '../core/types.js';
import { TimerHeap, type HeapEntry } from './timer-heap.js';

/** What the queue needs of an entry: its due order and its run's namespace. */
export interface FairEntry extends HeapEntry {
  claimed: { run: Pick<Run, 'namespace'> };
}

/** Namespaces take turns; within one, due time, then priority, then arrival. */
export class FairQueue<T extends FairEntry> {
  readonly #byNamespace = new Map<string, TimerHeap<T>>();
  /** Namespaces with waiting runs, in turn order: the next turn is the first. */
  #turns: string[] = [];
  #next = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(entry: T): void {
    const ns = entry.claimed.run.namespace;
    let heap = this.#byNamespace.get(ns);
    if (heap === undefined) {
      this.#byNamespace.set(ns, (heap = new TimerHeap<T>()));
      this.#turns.push(ns);
    }
    heap.push(entry);
    this.#size++;
  }

  /** Removes and returns the next entry: the first in due order of the namespace whose turn it is. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const ns = this.#turns[this.#next]!;
    const heap = this.#byNamespace.get(ns)!;
    const entry = heap.pop()!;
    this.#size--;
    if (heap.size === 0) {
      // Its turn is over for good (until it has waiting runs again): the next namespace moves up.
      this.#byNamespace.delete(ns);
      this.#turns.splice(this.#next, 1);
    } else {
      this.#next++;
    }
    // Wrapped now, not at the next pop: a namespace that arrives meanwhile joins the end of the round.
    if (this.#next >= this.#turns.length) this.#next = 0;
    return entry;
  }

  /** Removes every entry (returned in no particular order). */
  drain(): T[] {
    const out: T[] = [];
    for (const heap of this.#byNamespace.values()) out.push(...heap.drain());
    this.#byNamespace.clear();
    this.#turns = [];
    this.#next = 0;
    this.#size = 0;
    return out;
  }
}
