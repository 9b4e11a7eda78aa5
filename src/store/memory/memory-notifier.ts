import type { Logger } from "../../logger.js";
import type { Notifier, StoreEvent, StoreListener } from "../notifier.js";

/**
 * The notifier of the memory store: events reach listeners of this process synchronously, right
 * after the store changed. Listener errors are logged and never reach the writer.
 */
export class MemoryNotifier implements Notifier {
  readonly #bySession = new Map<string, Set<StoreListener>>();
  readonly #everyone = new Set<StoreListener>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  subscribe(sessionId: string | null, listener: StoreListener): () => void {
    if (sessionId === null) {
      this.#everyone.add(listener);
      return () => this.#everyone.delete(listener);
    }
    let set = this.#bySession.get(sessionId);
    if (!set) {
      set = new Set();
      this.#bySession.set(sessionId, set);
    }
    set.add(listener);
    return () => {
      const current = this.#bySession.get(sessionId);
      current?.delete(listener);
      if (current?.size === 0) this.#bySession.delete(sessionId);
    };
  }

  /**
   * Tells the session's listeners and the catch-all ones (a `resync`: every listener). Cheap
   * when nobody listens.
   */
  publish(event: StoreEvent): void {
    const listeners =
      event.kind === "resync"
        ? [...this.#bySession.values()].flatMap((set) => [...set])
        : this.#bySession.get(event.sessionId);
    if (listeners === undefined && this.#everyone.size === 0) return;
    for (const listener of [...(listeners ?? []), ...this.#everyone]) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error("A store listener threw; the store is unaffected", {
          kind: event.kind,
          sessionId: event.sessionId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}
