// Ending a run (timeout, cancel, close): SIGTERM to the run's own processes (those whose
// environment holds SUNDIAL_RUN_ID=<run>; the sandbox's helpers have none), then SIGKILL after
// killGraceMs to the whole pid namespace (its pid 1; the kernel kills the rest) or, without
// bubblewrap, to the wrapper's tree, its process group and every process marked with the run id
// (root can read any environ, which catches `setsid` and double-fork escapes).

import { findProcessesByEnv, listChildren, listProcessGroup, listProcessTree, processRunning } from '../proc-usage.js';
import type { SandboxPlan } from './shell-sandbox.js';

const RUN_ID_VAR = 'SUNDIAL_RUN_ID';
/** How often SIGKILL is repeated while processes of an ended run remain, and for how long at most. */
const KILL_RETRY_MS = 100;
const KILL_GIVE_UP_MS = 5000;

/** Finds and signals the processes of one run. */
export class RunKiller {
  constructor(
    readonly plan: SandboxPlan,
    readonly runId: string,
    /** The host wrapper; spared so it can still report the run's totals. */
    readonly wrapper: number | undefined,
  ) {}

  /** The run's own processes: those carrying its id in their environment. */
  #marked(): number[] {
    const among = this.plan.kind === 'bwrap' && this.wrapper !== undefined ? listProcessTree(this.wrapper) : undefined;
    return findProcessesByEnv(RUN_ID_VAR, this.runId, among);
  }

  /** Everything to SIGKILL: the namespace (from its pid 1 down), or the tree, group and marked processes. */
  #all(): number[] {
    const w = this.wrapper;
    if (w === undefined) return this.#marked();
    if (this.plan.kind === 'bwrap') {
      // wrapper → bwrap's monitor → pid 1 of the namespace; killing pid 1 ends the namespace,
      // and the monitor, spared, reaps it and exits normally.
      return listChildren(w).flatMap((monitor) => listProcessTree(monitor).slice(1));
    }
    const pids = new Set([...listProcessTree(w), ...listProcessGroup(w), ...this.#marked()]);
    pids.delete(w);
    // Zombies are dead already; their reaper (init, for orphans) collects them.
    return [...pids].filter(processRunning);
  }

  signal(sig: 'SIGTERM' | 'SIGKILL'): void {
    for (const pid of sig === 'SIGTERM' ? this.#marked() : this.#all()) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }

  /** SIGKILL, repeated until the wrapper has exited; after KILL_GIVE_UP_MS the wrapper too. */
  untilExit(exited: () => boolean): void {
    const start = performance.now();
    const tick = (): void => {
      if (exited()) return;
      this.signal('SIGKILL');
      if (performance.now() - start > KILL_GIVE_UP_MS && this.wrapper !== undefined) {
        try {
          process.kill(this.wrapper, 'SIGKILL');
        } catch {
          // gone
        }
      }
      setTimeout(tick, KILL_RETRY_MS);
    };
    tick();
  }

  /** Without bubblewrap: kills what is left of a finished run and waits until none is left. */
  async leftovers(): Promise<void> {
    const start = performance.now();
    for (;;) {
      const left = this.#all();
      if (left.length === 0 || performance.now() - start > KILL_GIVE_UP_MS) return;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
