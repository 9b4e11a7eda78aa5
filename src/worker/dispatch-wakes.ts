import type { InterruptInput, QueuedInterrupt } from "../interrupts/interrupt-message.js";
import { consoleLogger, type Logger } from "../logger.js";
import type { AnyAgent } from "../run/define-agents.js";
import { agentOf, type RunDispatcher, wakesSession } from "../run/dispatcher.js";
import type { StoreEvent } from "../store/notifier.js";
import type { Store } from "../store/store.js";

/** Options of {@link dispatchWakes}. */
export interface DispatchWakesOptions {
  /** The store the interrupt queues live in (its notifier tells of every process's sends). */
  readonly store: Store;
  /** Where the resumes go: a `PgBossDispatcher` queues them for any worker. */
  readonly dispatcher: RunDispatcher;
  /** The agents by name, to find the one that runs a session. */
  readonly agents: Readonly<Record<string, AnyAgent>>;
  readonly logger?: Logger;
}

const inputOf = (message: QueuedInterrupt): InterruptInput =>
  message.kind === "text" ? message.text : message.action;

/**
 * Resumes suspended sessions when a message that wakes them arrives ({@link wakesSession}: any
 * message at an approval gate, `resume` or `cancel` after a pause), from any process sharing
 * the store, so nobody has to call `resume()` after sending a decision. A message that arrives
 * while the session's run is still suspending is caught too: when a session's own checkpoint says
 * `paused`, its queue is read again. Duplicate resumes of one session collapse in the queue
 * (several processes running this is fine).
 *
 * @returns a function that stops listening.
 * @example
 * ```ts
 * const stop = dispatchWakes({ store, dispatcher, agents });
 * await interrupts.send("s1", { type: "approve" }); // a worker resumes s1
 * ```
 */
export function dispatchWakes(options: DispatchWakesOptions): () => void {
  const { store, dispatcher, agents } = options;
  const logger = options.logger ?? consoleLogger;
  const wake = async (sessionId: string, messages: readonly QueuedInterrupt[]): Promise<void> => {
    const summary = await store.sessions.get(sessionId);
    if (summary === undefined) return;
    if (!messages.some((message) => wakesSession(summary, inputOf(message)))) return;
    const agent = agentOf(agents, summary);
    if (agent === undefined) {
      logger.warn("A message wakes a session no agent of this process runs", {
        sessionId,
        graph: summary.graph,
      });
      return;
    }
    await dispatcher.resume({ agent, sessionId });
  };
  const onEvent = async (event: StoreEvent): Promise<void> => {
    if (event.kind === "queued") {
      const stored = await store.interrupts.get(event.id);
      if (stored !== undefined && stored.state === "queued") {
        await wake(event.sessionId, [stored.message]);
      }
    } else if (event.kind === "checkpoint" && event.status === "paused" && event.thread === "") {
      // The session's own thread: a nested graph's paused checkpoint comes before its run's.
      const queued = await store.interrupts.list(event.sessionId, { limit: 50 });
      if (queued.items.length > 0) await wake(event.sessionId, queued.items);
    }
  };
  return store.notifier.subscribe(null, (event) => {
    onEvent(event).catch((error: unknown) =>
      logger.error("Could not queue the resume a message asked for", {
        sessionId: event.sessionId,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  });
}
