import type { Clock } from "../clock.js";

// Passing a reason to `abort()` spares the DOMException (with its stack) that a bare `abort()`
// builds; nobody reads this one, and runs stop such timers several times each.
const DONE = "the wait is over";

/**
 * Counts the messages that arrive in a session's queue (from the store's notifier) and wakes
 * whoever waits for one. A waiter reads `count` before it looks at the queue and waits for a
 * newer count, so a message that arrives in between is never missed; a wait costs one timer
 * (through the clock) and no polling.
 */
export class Arrivals {
  #count = 0;
  readonly #wakers = new Set<() => void>();

  /** How many arrivals were seen so far. */
  get count(): number {
    return this.#count;
  }

  /** Records an arrival and wakes every waiter. */
  arrived(): void {
    this.#count++;
    for (const wake of [...this.#wakers]) wake();
  }

  /**
   * Resolves `true` once something arrived after `seen` (at once if it already did), `false`
   * after `ms` or when `signal` aborts.
   */
  async wait(seen: number, ms: number, clock: Clock, signal: AbortSignal): Promise<boolean> {
    if (this.#count !== seen) return true;
    if (signal.aborted || ms <= 0) return false;
    const stop = new AbortController();
    let wake!: () => void;
    const arrived = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
    });
    const onAbort = () => stop.abort(DONE);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#wakers.add(wake);
    try {
      return await Promise.race([
        arrived,
        clock.sleep(ms, stop.signal).then(
          () => false,
          () => false,
        ),
      ]);
    } finally {
      this.#wakers.delete(wake);
      signal.removeEventListener("abort", onAbort);
      stop.abort(DONE);
    }
  }
}
