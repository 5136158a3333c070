// Admission: whether a claimed run that has fallen due may start now on this node, and if not,
// where it waits. The dispatcher brings each due run here and acts on the answer (it writes skips,
// stops runs, starts them, asks other nodes); admission only decides, and keeps what its rules
// count. A run passes, in order:
//
// 1. the overlap policy (schedule occurrences only), against the runs of the same task active on
//    this node: running, or admitted and waiting for a key or a node slot;
// 2. the concurrency cap of its task, counted per concurrency key (`concurrencyKey`, else the task):
//    tasks sharing a key may have different caps, or none (an uncapped run still holds the key);
// 3. its namespace's cap (the concurrentRuns quota, SUNDIAL_QUOTAS), counted on this node;
// 4. the node's slot cap (maxConcurrentRuns), less the slots promised to the runs a claim starts;
//    runs waiting for a slot get them namespace by namespace in turn (fair-queue.ts).
//
// A run that must wait stays in a list here until a run ends (`pump`) or a claim returns
// (`claimDone`) and it may go on. Runs the dispatcher drops while they wait (cancelled,
// rescheduled) are not searched out of these lists: an entry counts only while the dispatcher
// still holds it (the `held` map it shares with admission), and dead ones are skipped on read.

import type { Run, Task } from '../core/types.js';
import type { ClaimedRun, StartGuard } from '../store/store.js';
import { FairQueue } from './fair-queue.js';
import type { HeapEntry } from './timer-heap.js';

/** A claimed run not yet started, as the dispatcher holds it (its timer heap and admission's lists). */
export interface Entry extends HeapEntry {
  claimed: ClaimedRun;
}

/**
 * What to do with a run that fell due:
 * - `start`: start it now; it counts as running here from this answer on (report its end with `ended`);
 * - `wait`: it waits here for its concurrency key, its namespace's quota or a node slot (`pump` / `claimDone` give it back);
 * - `buffer`: it waits in its task's overlap buffer (buffer_one / buffer_all) until no run of the task is active;
 * - `skip`: record it skipped with `reason`; admission keeps nothing of it.
 * `cancel` (cancel_other) names the task's other active runs to stop (running) or drop (waiting).
 */
export type Decision =
  | { readonly action: 'start'; readonly cancel: readonly string[] }
  | { readonly action: 'wait'; readonly for: 'key' | 'namespace' | 'slot'; readonly cancel: readonly string[] }
  | { readonly action: 'buffer' }
  | { readonly action: 'skip'; readonly reason: 'overlap' };

/** A run a waiting list gave back (`pump`, `claimDone`) and admission's decision for it now. */
export interface Admitted {
  entry: Entry;
  decision: Decision;
}

// The common answers are shared (read-only): admission runs for every due run and allocates
// nothing for them.
const NONE: readonly string[] = [];
const START: Decision = { action: 'start', cancel: NONE };
const WAIT_KEY: Decision = { action: 'wait', for: 'key', cancel: NONE };
const WAIT_SLOT: Decision = { action: 'wait', for: 'slot', cancel: NONE };
const WAIT_NAMESPACE: Decision = { action: 'wait', for: 'namespace', cancel: NONE };
const BUFFER: Decision = { action: 'buffer' };
const SKIP_OVERLAP: Decision = { action: 'skip', reason: 'overlap' };

/** The admission rules of one node and the bookkeeping they need; see the top of the file. */
export interface AdmissionOptions {
  maxConcurrentRuns: number;
  /** The most runs of a namespace running at once on this node (its concurrentRuns quota), if any. */
  namespaceCap?: ((namespace: string) => number | undefined) | undefined;
}

export class Admission {
  readonly #maxConcurrentRuns: number;
  readonly #namespaceCap: (namespace: string) => number | undefined;
  /** Runs counted as running, per namespace with a cap. */
  readonly #runningByNamespace = new Map<string, number>();
  /** Runs waiting for their namespace to have room, per namespace. */
  readonly #waitingForNamespace = new Map<string, Entry[]>();
  /** The dispatcher's claimed-but-not-started runs: an entry not in here (as this object) is dead. */
  readonly #held: ReadonlyMap<string, Entry>;
  /** Runs counted as running (started here, or by a claim) until `ended`. */
  readonly #running = new Set<string>();
  readonly #runningByKey = new Map<string, number>();
  /**
   * Runs of each task past the overlap check: running, or admitted and waiting for a key or a
   * node slot. The overlap policy counts both, or two occurrences that both waited would start
   * together. Ids of runs dropped while waiting (cancelled, rescheduled) are pruned on read.
   */
  readonly #activeByTask = new Map<string, Set<string>>();
  /** Overlap buffers (buffer_one / buffer_all), per task. */
  readonly #buffered = new Map<string, Entry[]>();
  /**
   * Node slots promised to the runs the claim in flight starts (ClaimOptions.startDue): counted
   * as taken until the claim returns, so nothing else fills them meanwhile.
   */
  #claimStarting = 0;
  /** Runs waiting for their concurrency key to have room. */
  readonly #waitingForKey = new Map<string, Entry[]>();
  /** Runs waiting for a node slot: namespaces in turn, each in due/priority order. */
  readonly #ready = new FairQueue<Entry>();
  /** Runs whose start a cluster guard refused (another node runs the task or fills the key). */
  #blocked: Entry[] = [];

  constructor(opts: AdmissionOptions, held: ReadonlyMap<string, Entry>) {
    this.#maxConcurrentRuns = opts.maxConcurrentRuns;
    this.#namespaceCap = opts.namespaceCap ?? noCap;
    this.#held = held;
  }

  /**
   * Admits a run that fell due. `overlapChecked`: it passed the overlap policy already (it comes
   * back from a waiting list), so only the caps are checked.
   */
  admit(entry: Entry, overlapChecked = false): Decision {
    const { run, task } = entry.claimed;
    let cancel = NONE;
    if (!overlapChecked && run.trigger === 'schedule') {
      const buffered = this.#buffered.get(task.id);
      if (this.#hasOtherActive(task.id, run.id) || (buffered && buffered.length > 0)) {
        switch (task.policies.overlap) {
          case 'skip':
            return SKIP_OVERLAP;
          case 'buffer_one':
            if (buffered && buffered.length >= 1) return SKIP_OVERLAP;
            push(this.#buffered, task.id, entry);
            return BUFFER;
          case 'buffer_all':
            push(this.#buffered, task.id, entry);
            return BUFFER;
          case 'cancel_other':
            cancel = this.#othersActive(task.id, run.id);
            break;
          case 'allow_all':
            break;
        }
      }
    }
    let ids = this.#activeByTask.get(task.id);
    if (!ids) this.#activeByTask.set(task.id, (ids = new Set()));
    ids.add(run.id);
    const cap = task.policies.concurrency;
    if (cap !== null && (this.#runningByKey.get(concurrencyKey(task)) ?? 0) >= cap) {
      push(this.#waitingForKey, concurrencyKey(task), entry);
      return cancel.length === 0 ? WAIT_KEY : { action: 'wait', for: 'key', cancel };
    }
    const nsCap = this.#namespaceCap(run.namespace);
    if (nsCap !== undefined && (this.#runningByNamespace.get(run.namespace) ?? 0) >= nsCap) {
      push(this.#waitingForNamespace, run.namespace, entry);
      return cancel.length === 0 ? WAIT_NAMESPACE : { action: 'wait', for: 'namespace', cancel };
    }
    if (this.#running.size + this.#claimStarting >= this.#maxConcurrentRuns) {
      this.#ready.push(entry);
      return cancel.length === 0 ? WAIT_SLOT : { action: 'wait', for: 'slot', cancel };
    }
    this.#count(run, task);
    return cancel.length === 0 ? START : { action: 'start', cancel };
  }

  /** A run started without admission (by its claim, ClaimOptions.startDue): it counts as running. */
  started(entry: Entry): void {
    const { run, task } = entry.claimed;
    this.#count(run, task);
    let ids = this.#activeByTask.get(task.id);
    if (!ids) this.#activeByTask.set(task.id, (ids = new Set()));
    ids.add(run.id);
  }

  /**
   * A run that counted as running ended (or its start was refused): its node slot and its key's
   * count are freed. Call `pump` next for what may start now.
   */
  ended(entry: Entry): void {
    const { run, task } = entry.claimed;
    if (!this.#running.delete(run.id)) return;
    const key = concurrencyKey(task);
    const n = (this.#runningByKey.get(key) ?? 1) - 1;
    if (n > 0) this.#runningByKey.set(key, n);
    else this.#runningByKey.delete(key);
    const ids = this.#activeByTask.get(task.id);
    ids?.delete(run.id);
    if (ids && ids.size === 0) this.#activeByTask.delete(task.id);
    const inNamespace = this.#runningByNamespace.get(run.namespace);
    if (inNamespace !== undefined) {
      if (inNamespace > 1) this.#runningByNamespace.set(run.namespace, inNamespace - 1);
      else this.#runningByNamespace.delete(run.namespace);
    }
  }

  /**
   * After a run of `task` ended: the runs that may go on, in order, each with its decision now
   * (`start`, or `wait` again for a key or a slot): the next buffered occurrence of the task once
   * none of its runs is active, then the runs waiting for its key, then those waiting for a slot.
   */
  pump(task: Task): Admitted[] {
    const out: Admitted[] = [];
    // Overlap buffer: the next buffered occurrence goes on once no run of the task is active.
    if (this.#buffered.has(task.id) && !this.#hasOtherActive(task.id, null)) {
      const next = this.#shiftLive(this.#buffered, task.id);
      if (next) out.push({ entry: next, decision: this.admit(next, true) });
    }
    // Runs waiting for the key, first come first served, each against its own task's cap: tasks
    // sharing a key may have different caps, or none (an uncapped task still holds the key).
    const key = concurrencyKey(task);
    while (this.#running.size + this.#claimStarting < this.#maxConcurrentRuns) {
      const next = this.#peekLive(this.#waitingForKey, key);
      if (!next) break;
      const cap = next.claimed.task.policies.concurrency;
      if (cap !== null && (this.#runningByKey.get(key) ?? 0) >= cap) break;
      this.#shiftLive(this.#waitingForKey, key);
      out.push({ entry: next, decision: this.admit(next, true) });
    }
    // Runs waiting for room in the namespace, first come first served.
    const ns = task.namespace;
    const nsCap = this.#namespaceCap(ns);
    while (nsCap !== undefined && this.#running.size + this.#claimStarting < this.#maxConcurrentRuns && (this.#runningByNamespace.get(ns) ?? 0) < nsCap) {
      const next = this.#shiftLive(this.#waitingForNamespace, ns);
      if (!next) break;
      out.push({ entry: next, decision: this.admit(next, true) });
    }
    this.#pumpReady(out);
    return out;
  }

  /** Runs counted as running on this node. */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Node slots neither running, promised to a claim's starts nor owed to runs waiting for one. */
  freeSlots(): number {
    return this.#maxConcurrentRuns - this.#running.size - this.#claimStarting - this.#ready.size;
  }

  /**
   * Chooses the claimed runs that start in the claim's own write (ClaimOptions.startDue): due
   * now, with nothing for admission to check (see startableOnClaim), while this node has free
   * slots, runs already waiting for one first. Their slots stay promised until `claimDone`. The
   * store calls it once per attempt, so each call replaces the last one's promise.
   */
  chooseClaimStarts(due: readonly ClaimedRun[]): Set<ClaimedRun> {
    this.#claimStarting = 0;
    const chosen = new Set<ClaimedRun>();
    let free = this.#maxConcurrentRuns - this.#running.size - this.#ready.size;
    for (const c of due) {
      if (free <= 0) break;
      // A capped namespace's runs are counted by admission, one by one.
      if (!startableOnClaim(c.run, c.task) || this.#namespaceCap(c.run.namespace) !== undefined) continue;
      chosen.add(c);
      free--;
    }
    this.#claimStarting = chosen.size;
    return chosen;
  }

  /**
   * The claim returned (the runs it started are `started` by now, or were handed back): the slots
   * promised to them are released, and the runs that waited for a slot meanwhile may go on.
   */
  claimDone(): Admitted[] {
    this.#claimStarting = 0;
    const out: Admitted[] = [];
    this.#pumpReady(out);
    return out;
  }

  /**
   * A start a cluster guard refused (the run must have `ended` first): `skip` it (overlap `skip`,
   * or `buffer_one` with one of the task's runs already kept), or keep it for `takeRefused`.
   */
  refused(entry: Entry, reason: 'overlap' | 'concurrency'): 'skip' | 'retry' {
    const { task } = entry.claimed;
    if (reason === 'overlap' && task.policies.overlap === 'skip') return 'skip';
    if (reason === 'overlap' && task.policies.overlap === 'buffer_one' && this.#blocked.some((e) => e.claimed.task.id === task.id)) {
      return 'skip';
    }
    this.#blocked.push(entry);
    return 'retry';
  }

  /** The refused runs kept so far, to admit again from the start (the dispatcher does, each poll). */
  takeRefused(): Entry[] {
    const retry = this.#blocked;
    this.#blocked = [];
    return retry;
  }

  /**
   * Forgets every waiting run (fence, stop). Runs counted as running stay counted until they
   * `ended`; the overlap bookkeeping drops the others' ids as it meets them.
   */
  clear(): void {
    this.#ready.drain();
    this.#buffered.clear();
    this.#waitingForKey.clear();
    this.#waitingForNamespace.clear();
    this.#blocked = [];
  }

  #count(run: Run, task: Task): void {
    this.#running.add(run.id);
    const key = concurrencyKey(task);
    this.#runningByKey.set(key, (this.#runningByKey.get(key) ?? 0) + 1);
    if (this.#namespaceCap(run.namespace) !== undefined) this.#runningByNamespace.set(run.namespace, (this.#runningByNamespace.get(run.namespace) ?? 0) + 1);
  }

  /** Gives back runs that wait only for a node slot, while there are free slots. */
  #pumpReady(out: Admitted[]): void {
    while (this.#running.size + this.#claimStarting < this.#maxConcurrentRuns && this.#ready.size > 0) {
      const next = this.#ready.pop()!;
      if (this.#held.get(next.claimed.run.id) !== next) continue;
      out.push({ entry: next, decision: this.admit(next, true) });
    }
  }

  /** Whether the run is running or still held (an id of a run dropped while waiting is dead). */
  #live(runId: string): boolean {
    return this.#running.has(runId) || this.#held.has(runId);
  }

  /**
   * Whether another run of the task is active, pruning dead ids on the way: it stops at the first
   * live one, so a task with 20,000 runs in flight costs one step, not 20,000, per admission.
   */
  #hasOtherActive(taskId: string, except: string | null): boolean {
    const ids = this.#activeByTask.get(taskId);
    if (!ids) return false;
    for (const id of ids) {
      if (!this.#live(id)) ids.delete(id);
      else if (id !== except) return true;
    }
    if (ids.size === 0) this.#activeByTask.delete(taskId);
    return false;
  }

  /** Active runs of the task other than `except` (pruning ids of runs no longer held or running). */
  #othersActive(taskId: string, except: string): string[] {
    const ids = this.#activeByTask.get(taskId);
    if (!ids) return [];
    const out: string[] = [];
    for (const id of ids) {
      if (!this.#live(id)) ids.delete(id);
      else if (id !== except) out.push(id);
    }
    if (ids.size === 0) this.#activeByTask.delete(taskId);
    return out;
  }

  /** The first entry of `map[key]` still held (dead ones are dropped), without taking it. */
  #peekLive(map: Map<string, Entry[]>, key: string): Entry | undefined {
    const list = map.get(key);
    while (list && list.length > 0) {
      const e = list[0]!;
      if (this.#held.get(e.claimed.run.id) === e) return e;
      list.shift();
    }
    map.delete(key);
    return undefined;
  }

  #shiftLive(map: Map<string, Entry[]>, key: string): Entry | undefined {
    const list = map.get(key);
    while (list && list.length > 0) {
      const e = list.shift()!;
      if (list.length === 0) map.delete(key);
      if (this.#held.get(e.claimed.run.id) === e) return e;
    }
    return undefined;
  }
}

const noCap = (): undefined => undefined;

function push(map: Map<string, Entry[]>, key: string, entry: Entry): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}

/**
 * Whether a run may start in its claim's write: admission would start it at once, with nothing to
 * check (no overlap guard, no concurrency cap, no other run to cancel) but a free node slot.
 */
export function startableOnClaim(run: Run, task: Task): boolean {
  if (task.policies.concurrency !== null) return false;
  return run.trigger !== 'schedule' || task.policies.overlap === 'allow_all';
}

/** What a start must not collide with on other nodes (undefined: nothing to check). */
export function startGuard(run: Run, task: Task): StartGuard | undefined {
  const overlap = task.policies.overlap;
  const guardsOverlap = run.trigger === 'schedule' && overlap !== 'allow_all' && overlap !== 'cancel_other';
  const cap = task.policies.concurrency;
  if (!guardsOverlap && cap === null) return undefined;
  const guard: StartGuard = {};
  if (guardsOverlap) guard.overlapTaskId = task.id;
  if (cap !== null) guard.concurrency = { key: concurrencyKey(task), cap };
  return guard;
}

/** The key a task's concurrency cap counts under: its `concurrencyKey`, else the task itself. */
export function concurrencyKey(task: Task): string {
  return task.policies.concurrencyKey ?? `task:${task.id}`;
}
