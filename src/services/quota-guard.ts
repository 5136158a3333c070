// The API's side of the namespace quotas (core/quotas.ts): tasks held, runs the API creates per
// minute, and the memory a script spec may ask for. Admission enforces concurrentRuns and the
// script pool clamps memory at run time; these checks turn away what would exceed a quota
// before anything is written, with a code that says which quota.

import { SundialError, type FieldError } from '../core/errors.js';
import { quotaOf, type NamespaceQuota, type Quotas } from '../core/quotas.js';
import type { Millis, TaskKind } from '../core/types.js';
import type { Store } from '../store/store.js';

/** A token bucket of one namespace: full at `runsPerMinute`, refilled continuously. */
interface Bucket {
  tokens: number;
  at: Millis;
}

/** Buckets of namespaces not seen for this long are forgotten (they would be full again anyway). */
const BUCKET_IDLE_MS = 120_000;

export class QuotaGuard {
  readonly #quotas: Quotas;
  readonly #store: Store;
  readonly #buckets = new Map<string, Bucket>();

  constructor(quotas: Quotas, store: Store) {
    this.#quotas = quotas;
    this.#store = store;
  }

  /** The namespace's quota (its own fields over the default's). */
  of(namespace: string): NamespaceQuota {
    return quotaOf(this.#quotas, namespace);
  }

  /**
   * Refuses a new task in a namespace that holds its quota of tasks. Counted before the create,
   * so creates racing each other can pass it together (by at most the number in flight).
   */
  async checkNewTask(namespace: string): Promise<void> {
    const max = this.of(namespace).tasks;
    if (max === undefined) return;
    const counts = await this.#store.countTasks([namespace]);
    let held = 0;
    for (const n of Object.values(counts)) held += n ?? 0;
    if (held >= max) {
      throw new SundialError('quota_exceeded', `namespace "${namespace}" holds ${held} task${held === 1 ? '' : 's'}, its quota (SUNDIAL_QUOTAS tasks) is ${max}`, {
        extra: { quota: 'tasks', limit: max },
      });
    }
  }

  /** Takes one run from the namespace's runsPerMinute bucket, or refuses with when to try again. */
  takeRun(namespace: string, now: Millis): void {
    const perMinute = this.of(namespace).runsPerMinute;
    if (perMinute === undefined) return;
    this.#forgetIdle(now);
    const b = this.#buckets.get(namespace) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) * perMinute) / 60_000);
    b.at = now;
    this.#buckets.set(namespace, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(((1 - b.tokens) * 60_000) / perMinute / 1000));
    throw new SundialError('rate_limited', `namespace "${namespace}" may create ${perMinute} runs a minute (SUNDIAL_QUOTAS runsPerMinute); try again in ${retryAfter} s`, {
      extra: { quota: 'runsPerMinute', limit: perMinute, retryAfter },
    });
  }

  /** A field error when a script spec asks for more memory than its namespace's quota. */
  scriptMemoryProblem(namespace: string, kind: TaskKind, spec: unknown): FieldError | null {
    const max = this.of(namespace).scriptMemoryBytes;
    if (max === undefined || kind !== 'script') return null;
    const asked = (spec as { limits?: { memoryBytes?: unknown } } | null)?.limits?.memoryBytes;
    if (typeof asked !== 'number' || asked <= max) return null;
    return { path: '/spec/limits/memoryBytes', message: `must be at most ${max}, the quota of namespace "${namespace}" (SUNDIAL_QUOTAS scriptMemoryBytes)` };
  }

  #forgetIdle(now: Millis): void {
    if (this.#buckets.size < 1000) return;
    for (const [ns, b] of this.#buckets) if (now - b.at > BUCKET_IDLE_MS) this.#buckets.delete(ns);
  }
}
