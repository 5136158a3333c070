// Route schemas compiled on first use instead of while the server starts. Compiling the ~60
// routes' response serializers and request validators took about 0.5 s of a 2 s start-up; this
// moves it after /healthz answers: each is compiled by its first request, and all the rest soon
// after start-up in the background (warm), so a broken schema still shows within seconds.

/** Wraps schema compilers so that each compiles on first call; `warm` compiles what is left. */
export class LazySchemas {
  #pending: (() => void)[] = [];

  /** A compiler with the same signature whose compiled functions compile on their first call. */
  wrap<A, F extends (...args: never[]) => unknown>(compile: (arg: A) => F): (arg: A) => F {
    return (arg: A): F => {
      let fn: F | undefined;
      const get = (): F => (fn ??= compile(arg));
      this.#pending.push(() => void get());
      return ((...args: Parameters<F>) => get()(...args)) as F;
    };
  }

  /** Compiles the rest one per event-loop turn, so requests meanwhile are not held up. */
  warm(onError: (err: unknown) => void): void {
    const next = (): void => {
      const compile = this.#pending.shift();
      if (compile === undefined) return;
      try {
        compile();
      } catch (err) {
        onError(err);
      }
      setImmediate(next);
    };
    setImmediate(next);
  }

  /** How many compiled functions have not been asked for yet (for tests). */
  get pending(): number {
    return this.#pending.length;
  }
}
