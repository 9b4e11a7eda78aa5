import type { Clock } from "../clock.js";
import { LeaseLostError, SessionBusyError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Lease } from "../store/session-store.js";
import type { Store } from "../store/store.js";

// Passing a reason to `abort()` spares the DOMException (with its stack) that a bare `abort()`
// builds; nobody reads this one, and runs stop such timers several times each.
const RELEASED = "the lease was released";

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
  readonly #stop = new AbortController();

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
      for (;;) {
        try {
          await this.#clock.sleep(every, this.#stop.signal);
        } catch {
          return;
        }
        try {
          const renewed = await this.#store.sessions.renew(this.#lease, this.#clock.now());
          if (this.#stop.signal.aborted) return;
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
      }
    };
    void beat();
  }

  /** Stops renewing and gives the lease up. */
  async release(): Promise<void> {
    this.#stop.abort(RELEASED);
    try {
      await this.#store.sessions.release(this.#lease);
    } catch (error) {
      this.#logger.warn("Could not release the session's lease; it expires on its own", {
        sessionId: this.#lease.sessionId,
        error: String(error),
      });
    }
  }
}
