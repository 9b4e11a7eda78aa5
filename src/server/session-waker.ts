import { RunEndedError } from "../errors.js";
import type { InterruptInput, InterruptReceipt } from "../interrupts/interrupt-message.js";
import type { InterruptService } from "../interrupts/interrupt-service.js";
import type { Logger } from "../logger.js";
import type { AnyAgent } from "../run/define-agents.js";
import { agentOf, type RunDispatcher, wakesSession } from "../run/dispatcher.js";
import type { Store } from "../store/store.js";

/**
 * Continues suspended sessions that a message sent through the API should wake (see
 * `wakesSession`), so no one has to call resume. The check runs after the message is queued;
 * when the session was still running then, it runs once more when that run gives its lease up,
 * so a message that arrives while a run suspends is not left waiting; one that arrives as the
 * run ends for good is refused with `RunEndedError`. A resume of a session
 * that another run holds is dropped by the dispatcher: that run reads the queue itself.
 */
export class SessionWaker {
  readonly #store: Store;
  readonly #interrupts: InterruptService;
  readonly #agents: Readonly<Record<string, AnyAgent>>;
  readonly #dispatcher: RunDispatcher;
  readonly #logger: Logger;
  readonly #watching = new Set<() => void>();

  constructor(options: {
    readonly store: Store;
    readonly interrupts: InterruptService;
    readonly agents: Readonly<Record<string, AnyAgent>>;
    readonly dispatcher: RunDispatcher;
    readonly logger: Logger;
  }) {
    this.#store = options.store;
    this.#interrupts = options.interrupts;
    this.#agents = options.agents;
    this.#dispatcher = options.dispatcher;
    this.#logger = options.logger;
  }

  /** Called once a message is queued. Never throws: a failed wake is logged. */
  async afterSend(
    sessionId: string,
    input: InterruptInput,
    receipt: InterruptReceipt,
  ): Promise<boolean> {
    try {
      const status = await this.#tryWake(sessionId, input, receipt.id);
      if (status !== "running") return status === "woken";
      let stop = (): void => {};
      const unsubscribe = this.#store.notifier.subscribe(sessionId, (event) => {
        if (event.kind !== "released" && event.kind !== "resync") return;
        stop();
        void this.#tryWake(sessionId, input, receipt.id).catch((error: unknown) =>
          this.#failed(sessionId, error),
        );
      });
      stop = () => {
        unsubscribe();
        this.#watching.delete(stop);
      };
      this.#watching.add(stop);
      void receipt.decision.then(stop);
      // The run may have let go between the first look and the subscription: look once more.
      const again = await this.#tryWake(sessionId, input, receipt.id);
      if (again !== "running") stop();
      return again === "woken";
    } catch (error) {
      this.#failed(sessionId, error);
      return false;
    }
  }

  async #tryWake(
    sessionId: string,
    input: InterruptInput,
    receiptId: string,
  ): Promise<"woken" | "running" | "left"> {
    const summary = await this.#store.sessions.get(sessionId);
    if (summary?.status === "running") return "running";
    if (summary?.status === "completed" || summary?.status === "rejected") {
      // The run ended for good while the message was being queued: it came too late, as the
      // run itself says of what arrives during its last write. Nothing happens if that run
      // (or another) settled it first.
      const action = typeof input === "string" ? "free text" : input.type;
      await this.#interrupts.settle(receiptId, {
        status: "refused",
        error: new RunEndedError(action, summary.status),
      });
      return "left";
    }
    if (!wakesSession(summary, input) || summary === undefined) return "left";
    const agent = agentOf(this.#agents, summary);
    if (agent === undefined) {
      this.#logger.warn("No agent of this server runs the session's graph; it stays suspended", {
        sessionId,
        graph: summary.graph,
      });
      return "left";
    }
    await this.#dispatcher.resume({ agent, sessionId });
    return "woken";
  }

  #failed(sessionId: string, error: unknown): void {
    this.#logger.error("Could not continue a session after a message", {
      sessionId,
      error: error instanceof Error ? error.message : String(error),
    });
  }

  /** Stops every watch still waiting for a lease to be released. */
  close(): void {
    for (const stop of [...this.#watching]) stop();
  }
}
