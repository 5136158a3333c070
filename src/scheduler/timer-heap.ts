// A binary min-heap of claimed runs ordered by due time, then priority (higher first), then
// arrival. Claimed runs wait here for the second or so until they are due; one timer is armed for
// the top. Removal is lazy (see Dispatcher.forget): cancelled entries are skipped when popped,
// which keeps removal O(1) on a path that must stay cheap while 20,000 runs wait.

export interface HeapEntry {
  dueAt: number;
  priority: number;
  seq: number;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  if (a.dueAt !== b.dueAt) return a.dueAt < b.dueAt;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.seq < b.seq;
}

/** Min-heap by (dueAt, -priority, seq). */
export class TimerHeap<T extends HeapEntry> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The entry due first, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  /** Removes and returns the entry due first. */
  pop(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  /** Removes every entry (returned in no particular order). */
  drain(): T[] {
    return this.#items.splice(0);
  }
}
