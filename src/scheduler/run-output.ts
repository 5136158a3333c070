// What runs write and use while they run: log lines and resource samples arrive here from the
// runners (through the executor's RunOutput), are published on the bus at once for live
// followers, and are stored in batches about once a second, so a long run's log survives a crash
// of the server and can be read while the run goes on.
//
// Every line gets its index in the run's whole log (its `seq`). A follower that read the stored
// lines and then listens to the bus uses it to skip what it already has; `snapshot` fills the gap
// between the two with the lines handed out but not yet committed.
//
// Lines still unstored when a run ends ride with its completion (one write), so the common short
// run that logs a few lines costs no extra transaction.

import type { EventBus } from '../core/events.js';
import type { LogLine, ResourceSample } from '../core/types.js';
import type { RunJob, RunOutcome, RunOutput } from '../executor/executor.js';
import type { RunSample, Store } from '../store/store.js';

export interface RunOutputOptions {
  store: Pick<Store, 'appendRunLogs' | 'appendRunSamples'>;
  bus: EventBus;
  /** How often unstored lines and samples of running runs are written (ms). */
  flushIntervalMs?: number;
  /** Reports a failed background write (the lines stay in memory and ride with the completion). */
  onError?: (err: unknown) => void;
}

/** The unstored part of one running run's log. */
interface RunBuffer {
  namespace: string;
  /** Lines committed to the store so far (the seq of `lines[0]`). */
  committed: number;
  /** Lines not yet committed; the first `handed` of them are in a write that has not committed. */
  lines: LogLine[];
  handed: number;
  finished: boolean;
}

const DEFAULT_FLUSH_INTERVAL_MS = 1000;

/** Live log lines and samples: bus first, store in batches. */
export class RunOutputRecorder implements RunOutput {
  readonly #store: RunOutputOptions['store'];
  readonly #bus: EventBus;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #runs = new Map<string, RunBuffer>();
  #samples: RunSample[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: RunOutputOptions) {
    this.#store = opts.store;
    this.#bus = opts.bus;
    this.#intervalMs = opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.#onError = opts.onError ?? (() => {});
  }

  readonly lines = (job: RunJob, lines: LogLine[]): void => {
    if (lines.length === 0) return;
    let buf = this.#runs.get(job.runId);
    if (buf === undefined) {
      buf = { namespace: job.namespace, committed: 0, lines: [], handed: 0, finished: false };
      this.#runs.set(job.runId, buf);
    }
    const fromSeq = buf.committed + buf.lines.length;
    for (const l of lines) buf.lines.push(l);
    if (this.#bus.has('run:logs')) this.#bus.emit('run:logs', { runId: job.runId, namespace: job.namespace, fromSeq, lines });
    this.#arm();
  };

  readonly sample = (job: RunJob, sample: ResourceSample): void => {
    this.#samples.push({ runId: job.runId, ...sample });
    if (this.#bus.has('run:sample')) this.#bus.emit('run:sample', { runId: job.runId, namespace: job.namespace, sample });
    this.#arm();
  };

  finish(job: RunJob, outcome: RunOutcome): void {
    // Samples go out now, ahead of the completion, so a finished run's series is complete.
    if (this.#samples.length > 0) void this.flush();
    // The run's totals, for sinks that keep a series per run (stored with the completion, not here).
    if (outcome.cpuMs !== null && this.#bus.has('run:sample')) {
      const sample = { at: outcome.finishedAt, cpuMs: outcome.cpuMs, rssBytes: outcome.peakRssBytes ?? 0, diskWriteBytes: outcome.diskWriteBytes ?? 0 };
      this.#bus.emit('run:sample', { runId: job.runId, namespace: job.namespace, sample, final: true });
    }
    const buf = this.#runs.get(job.runId);
    if (buf === undefined) return;
    const unsent = buf.lines.slice(buf.handed);
    outcome.logs = outcome.logs.length === 0 ? unsent : unsent.concat(outcome.logs);
    buf.lines.length = buf.handed;
    buf.finished = true;
    if (buf.handed === 0) this.#runs.delete(job.runId);
  }

  /**
   * The lines of a running run not yet committed, with the seq of the first; null when this node
   * holds none (the store has them all, or the run is not running here).
   */
  snapshot(runId: string): { fromSeq: number; lines: LogLine[] } | null {
    const buf = this.#runs.get(runId);
    return buf === undefined || buf.lines.length === 0 ? null : { fromSeq: buf.committed, lines: buf.lines.slice() };
  }

  /** Writes everything unstored now (also used at shutdown); resolves when committed. */
  async flush(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const writes: Promise<void>[] = [];
    for (const [runId, buf] of this.#runs) {
      const n = buf.lines.length - buf.handed;
      if (n <= 0 || buf.finished) continue;
      const batch = buf.lines.slice(buf.handed);
      buf.handed += n;
      writes.push(
        this.#store.appendRunLogs(runId, batch).then(
          () => this.#committed(runId, buf, n),
          (err: unknown) => {
            // Not written: hand the lines back so they ride with the completion instead.
            buf.handed -= n;
            this.#onError(err);
          },
        ),
      );
    }
    if (this.#samples.length > 0) {
      const samples = this.#samples;
      this.#samples = [];
      writes.push(this.#store.appendRunSamples(samples).catch(this.#onError));
    }
    await Promise.all(writes);
  }

  /** Stops the timer; what is unstored stays for a final flush(). */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #committed(runId: string, buf: RunBuffer, n: number): void {
    buf.lines.splice(0, n);
    buf.handed -= n;
    buf.committed += n;
    if (buf.finished && buf.handed === 0) this.#runs.delete(runId);
  }

  #arm(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, this.#intervalMs);
    this.#timer.unref();
  }
}
