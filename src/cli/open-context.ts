import { InterruptService } from "../interrupts/interrupt-service.js";
import type { Logger } from "../logger.js";
import type { AnyAgent } from "../run/define-agents.js";
import type { Store } from "../store/store.js";
import { buildAgents, importAgentsModule } from "./agents-module.js";
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
  /**
   * `false` when the module exports a ready agent with a store of its own, which the command
   * uses instead of `--store` (only with `ownStore: true`); such sessions cannot be continued
   * from another process unless that store is shared.
   */
  readonly sharesStore: boolean;
  /** Closes the store (and, when a module brought a store of its own, leaves that one alone). */
  close(): Promise<void>;
}

/**
 * Opens the store `--store` names (default `sqlite:.trellis/trellis.db`), an `InterruptService`
 * over it, and, when a module is given, builds its agents over both.
 *
 * With `ownStore: true` (`trellis run`), a module that exports a ready agent instead of an
 * agents function is run over the agent's own store and queue, and no store is opened: such a
 * module needs none of the store drivers.
 */
export async function openContext(options: {
  readonly store?: string | undefined;
  readonly module?: string | undefined;
  readonly command: string;
  readonly logger: Logger;
  readonly ownStore?: boolean;
}): Promise<CliContext> {
  const spec = parseStoreSpec(options.store);
  const module =
    options.module === undefined
      ? undefined
      : await importAgentsModule(options.module, options.command);
  if (module !== undefined && module.factory === undefined && options.ownStore === true) {
    const agent = module.ready!;
    if (options.store !== undefined) {
      options.logger.warn(
        `\`--store\` is not used: \`${module.file}\` exports a ready agent with a store of its own. Export a default agents function (see docs/cli.md) to run it over --store.`,
      );
    }
    return {
      store: agent.store,
      interrupts: new InterruptService({ store: agent.store, logger: options.logger }),
      agents: { [agent.name]: agent },
      input: module.input,
      storeLabel: "the agent's own store",
      sharesStore: false,
      close: async () => {},
    };
  }
  const store = await openStore(spec, options.logger);
  try {
    const interrupts = new InterruptService({ store, logger: options.logger });
    const loaded =
      module === undefined
        ? { agents: {}, input: {}, sharesStore: true }
        : await buildAgents(module, { store, interrupts });
    return {
      store,
      interrupts,
      agents: loaded.agents,
      input: loaded.input,
      storeLabel: describeStore(spec),
      sharesStore: loaded.sharesStore,
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
