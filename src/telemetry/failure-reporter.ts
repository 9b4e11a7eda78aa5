/** Where telemetry failures go: the logger, each distinct failure once, never a throw. */
import type { Logger } from "../logger.js";

/** Writes telemetry failures to the logger, each distinct failure once. */
export class FailureReporter {
  readonly #logger: Logger;
  readonly #seen = new Set<string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  report(operation: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const key = `${operation}: ${message}`;
    if (this.#seen.has(key)) return;
    if (this.#seen.size < 100) this.#seen.add(key);
    try {
      this.#logger.warn(`Telemetry failed in ${operation}; the run goes on without it.`, {
        error: message,
      });
    } catch {
      // A logger that throws must not break a run either.
    }
  }
}
