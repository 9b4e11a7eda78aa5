import type { InterruptService } from "../interrupts/interrupt-service.js";
import type { Store } from "../store/store.js";
import type { GraphAgent } from "./graph-agent.js";

/** What `trellis run | resume | serve | worker` open for an agents module: one store, one queue. */
export interface AgentsContext {
  readonly store: Store;
  readonly interrupts: InterruptService;
}

/** Any agent, whatever its state. */
// biome-ignore lint/suspicious/noExplicitAny: agents of different states live in one record.
export type AnyAgent = GraphAgent<any>;

/** What an agents module builds: agents by name, or one agent (named by its `name`). */
export type Agents = Readonly<Record<string, AnyAgent>> | AnyAgent;

/**
 * The default export of an agents module: builds the module's agents over the store and
 * interrupt service the command opened, so every command (and every process) shares them.
 */
export type AgentsFactory = (context: AgentsContext) => Agents | Promise<Agents>;

/**
 * Types the default export of an agents module. The CLI (`trellis run | resume | serve |
 * worker`) imports the module, opens the store it was told to (`--store`), and calls the
 * factory with that store and an `InterruptService` over it.
 *
 * @example
 * ```ts
 * // agents.ts
 * export default defineAgents(({ store, interrupts }) => ({
 *   review: new GraphAgent({ graph, store, interrupts, interruptConfig }),
 * }));
 * ```
 */
export function defineAgents<F extends AgentsFactory>(factory: F): F {
  return factory;
}
