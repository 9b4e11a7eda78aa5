import { InterruptService } from "../interrupts/interrupt-service.js";
import type { Logger } from "../logger.js";
import type { AnyAgent } from "../run/define-agents.js";
import type { Store } from "../store/store.js";
import { loadAgentsModule } from "./agents-module.js";
import { describeStore, openStore, parseStoreSpec } from "./store-spec.js";

/** What `run`, `resume`, `send`, `serve` and `worker` work over: one store, one queue, the agents. */
export interface CliContext {
  readonly store: Store;
  readonly interrupts: InterruptService;
  /** The agents module's agents by name (empty without `--agents`/a module). */
  readonly agents: Readonly<Record<string, AnyAgent>>;
  /** The module's `input` export. */
  readonly input: unknown;
  /** How the store is shown in messages (passwords hidden). */
  readonly storeLabel: string;
  /** Closes the store (and, when a module brought a store of its own, leaves that one alone). */
  close(): Promise<void>;
}

/**
 * Opens the store `--store` names (default `sqlite:.trellis/trellis.db`), an `InterruptService`
 * over it, and, when a module is given, builds its agents over both.
 */
export async function openContext(options: {
  readonly store?: string | undefined;
  readonly module?: string | undefined;
  readonly command: string;
  readonly logger: Logger;
}): Promise<CliContext> {
  const spec = parseStoreSpec(options.store);
  const store = await openStore(spec, options.logger);
  try {
    const interrupts = new InterruptService({ store, logger: options.logger });
    const loaded =
      options.module === undefined
        ? { agents: {}, input: {} }
        : await loadAgentsModule(options.module, { store, interrupts }, options.command);
    return {
      store,
      interrupts,
      agents: loaded.agents,
      input: loaded.input,
      storeLabel: describeStore(spec),
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
