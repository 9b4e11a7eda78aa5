import { type CancelTimer, type Clock, later, systemClock } from "../clock.js";
import { LeaseLostError, SessionBusyError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Lease } from "../store/session-store.js";
import type { Store } from "../store/store.js";

/**
 * A run's hold on its session: taken before anything is read or written, renewed while the run
 * goes on (every commit extends it too), released when the run ends. If it is lost (it expired
 * while the process stalled, and another process took the session), the run is told at once.
 */
export class SessionLease {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #lease: Lease;
  #released = false;
  /** Stops the wait for the next beat. */
  #stopBeat: CancelTimer | undefined;

  private constructor(store: Store, clock: Clock, logger: Logger, lease: Lease) {
    this.#store = store;
    this.#clock = clock;
    this.#logger = logger;
    this.#lease = lease;
  }

  /** Takes the session's lease, or throws `SessionBusyError` naming who holds it. */
  static async acquire(
    store: Store,
    options: {
      readonly sessionId: string;
      readonly owner: string;
      readonly token: string;
      readonly ttlMs: number;
      readonly clock: Clock;
      readonly logger: Logger;
    },
  ): Promise<SessionLease> {
    const result = await store.sessions.acquire({
      sessionId: options.sessionId,
      owner: options.owner,
      token: options.token,
      ttlMs: options.ttlMs,
      now: options.clock.now(),
    });
    if (!result.ok) {
      throw new SessionBusyError(options.sessionId, {
        owner: result.owner,
        expiresAt: result.expiresAt,
      });
    }
    return new SessionLease(store, options.clock, options.logger, result.lease);
  }

  get current(): Lease {
    return this.#lease;
  }

  /**
   * Renews the lease every third of its lifetime until `release()`; calls `onLost` once if it is
   * lost. A renewal that fails for a passing store fault is tried again at the next beat.
   */
  heartbeat(onLost: (error: LeaseLostError) => void): void {
    const every = Math.max(1, Math.floor(this.#lease.ttlMs / 3));
    const beat = async (): Promise<void> => {
      if (this.#released) return;
      try {
        const renewed = await this.#store.sessions.renew(this.#lease, this.#clock.now());
        if (this.#released) return;
        if (renewed === undefined) {
          onLost(new LeaseLostError(this.#lease.sessionId));
          return;
        }
        this.#lease = renewed;
      } catch (error) {
        this.#logger.warn("Could not renew the session's lease; trying again", {
          sessionId: this.#lease.sessionId,
          error: String(error),
        });
      }
      this.#wait(every, beat);
    };
    this.#wait(every, beat);
  }

  /**
   * Calls `beat` after `ms`, until the lease is released. Every run has a heartbeat and most
   * end long before their first beat, so stopping the wait must be cheap: on the system clock a
   * plain timer is cancelled (one that does not keep the process alive: the run's own work
   * does); any other clock (a simulated one in tests) is waited on through its `sleep`, with an
   * abort signal to stop it.
   */
  #wait(ms: number, beat: () => Promise<void>): void {
    if (this.#clock === systemClock) {
      this.#stopBeat = later(ms, () => void beat());
      return;
    }
    const stop = new AbortController();
    this.#stopBeat = () => stop.abort("the lease was released");
    this.#clock.sleep(ms, stop.signal).then(
      () => beat(),
      () => {},
    );
  }

  /**
   * Stops renewing and gives the lease up. A release that fails is tried once more: a store
   * that lost a connection opens a new one for the next operation, and a lease left behind
   * keeps the session from every run, this process's next one too, until it expires.
   */
  async release(): Promise<void> {
    this.#released = true;
    this.#stopBeat?.();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#store.sessions.release(this.#lease);
        return;
      } catch (error) {
        if (attempt < 2) continue;
        this.#logger.warn("Could not release the session's lease; it expires on its own", {
          sessionId: this.#lease.sessionId,
          error: String(error),
        });
        return;
      }
    }
  }
}
