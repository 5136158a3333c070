// Runs several independent checks of one request and reports all their field errors at once,
// so a client fixes a bad request in one round trip instead of one per field.

import { invalid, SundialError, type FieldError } from '../core/errors.js';

/** Collects field errors thrown by checks; `result()` throws them together. */
export class ErrorCollector {
  readonly #errors: SundialError[] = [];

  /** Runs `check`; a SundialError with field errors is kept for later, anything else rethrown. */
  run<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (err) {
      if (err instanceof SundialError && err.status === 400) {
        this.#errors.push(err);
        return undefined;
      }
      throw err;
    }
  }

  /** Adds field errors found by the caller. */
  add(errors: FieldError[]): void {
    if (errors.length > 0) this.#errors.push(invalid(errors));
  }

  /** Throws the collected errors: the one error as it was, or several merged into one 400. */
  throwIfAny(): void {
    const [first, ...rest] = this.#errors;
    if (first === undefined) return;
    if (rest.length === 0) throw first;
    const all = this.#errors.flatMap((e) => e.errors ?? [{ path: '', message: e.message }]);
    // Keep a specific code (e.g. invalid_schedule) only when every error shares it.
    const code = this.#errors.every((e) => e.code === first.code) ? first.code : 'validation_failed';
    throw invalid(all, code);
  }
}
