import { type Clock, checkSleep } from "../clock.js";
import { InvalidOptionError, TimerLimitError } from "../errors.js";

interface Sleeper {
  readonly due: number;
  readonly order: number;
  readonly resolve: () => void;
  readonly cleanup: () => void;
}

/** Options of {@link SimulatedClock.runAll}. */
export interface RunAllOptions {
  /** Most timers to fire before failing with `TimerLimitError`. Default 10,000. */
  readonly limit?: number;
}

/**
 * A {@link Clock} whose time only moves when the test says so, so retries, timeouts and pauses
 * run instantly and in a fixed order. Pass it as the `clock` option of whatever takes one.
 *
 * Sleepers are woken in order of their due time (ties: the order `sleep()` was called). Between
 * two wake-ups the clock lets pending promise callbacks run, so code that sleeps again right after
 * waking is woken too if its new due time is still within the advanced span. A sleep that is due
 * now (`sleep(0)`) also waits for the next `advance()` or `runAll()`.
 *
 * @example
 * ```ts
 * const clock = new SimulatedClock();
 * const result = agent.run(input, { clock }); // a node that retries after 100 ms
 * await clock.advance(100);
 * expect((await result).status).toBe("completed");
 * ```
 */
export class SimulatedClock implements Clock {
  #now: number;
  #order = 0;
  #sleepers: Sleeper[] = [];

  /** @param start The time to start at, in milliseconds since the epoch. Default 0. */
  constructor(start = 0) {
    if (typeof start !== "number" || !Number.isFinite(start)) {
      throw new InvalidOptionError("start", "a finite number of milliseconds", start);
    }
    this.#now = start;
  }

  /** The simulated time, in milliseconds since the epoch. */
  now(): number {
    return this.#now;
  }

  /**
   * Resolves once the clock has been moved `ms` forward; rejects with `signal.reason` on abort,
   * and, like the system clock, with `InvalidOptionError` for more than `MAX_TIMEOUT_MS`.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const invalid = checkSleep(ms);
      if (invalid !== undefined) {
        reject(invalid);
        return;
      }
      const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
      const onAbort = () => {
        this.#remove(sleeper);
        reject(signal?.reason);
      };
      const sleeper: Sleeper = {
        due: this.#now + delay,
        order: this.#order++,
        resolve,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#insert(sleeper);
    });
  }

  /** How many sleepers are waiting. */
  get pending(): number {
    return this.#sleepers.length;
  }

  /** When the next sleeper is due, or `undefined` when none waits. */
  get nextDue(): number | undefined {
    return this.#sleepers[0]?.due;
  }

  /**
   * Moves time forward by `ms`, waking every sleeper that falls due on the way, in order — also
   * those scheduled by code that woke up during the advance.
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError("ms", "a finite number of milliseconds from 0 and up", ms);
    }
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#sleepers[0];
      if (next === undefined || next.due > target) break;
      this.#wake(next);
      await settle();
    }
    this.#now = target;
  }

  /**
   * Wakes every sleeper, moving time to each due time in turn, until none is left (including those
   * scheduled while running). Returns how many were woken.
   *
   * @throws TimerLimitError when more than `limit` timers fire: the code sleeps in an endless loop.
   */
  async runAll(options: RunAllOptions = {}): Promise<number> {
    const limit = options.limit ?? 10_000;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidOptionError("limit", "a whole number from 1 and up", limit);
    }
    let fired = 0;
    await settle();
    for (;;) {
      const next = this.#sleepers[0];
      if (next === undefined) return fired;
      if (fired >= limit) throw new TimerLimitError(limit);
      this.#wake(next);
      fired++;
      await settle();
    }
  }

  #wake(sleeper: Sleeper): void {
    this.#remove(sleeper);
    if (sleeper.due > this.#now) this.#now = sleeper.due;
    sleeper.cleanup();
    sleeper.resolve();
  }

  #insert(sleeper: Sleeper): void {
    // Keep sorted by due time, then by order of the `sleep()` calls.
    let i = this.#sleepers.length;
    while (i > 0 && this.#sleepers[i - 1]!.due > sleeper.due) i--;
    this.#sleepers.splice(i, 0, sleeper);
  }

  #remove(sleeper: Sleeper): void {
    const i = this.#sleepers.indexOf(sleeper);
    if (i !== -1) this.#sleepers.splice(i, 1);
  }
}

/** Lets every promise callback that is already queued run (one turn of the event loop). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
