import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TrellisError } from "../errors.js";
import { importOptional } from "../import-optional.js";
import type { AgentsContext, AnyAgent } from "../run/define-agents.js";

/** What a command got from an agents module. */
export interface LoadedAgents {
  /** The agents by name. */
  readonly agents: Readonly<Record<string, AnyAgent>>;
  /** The module's `input` export, the default run input. */
  readonly input: unknown;
  /**
   * `true` when the module built its agents over the store the command opened (a default
   * export); `false` for a module that exports a ready `agent` with a store of its own.
   */
  readonly sharesStore: boolean;
}

/** A file given to the CLI does not export agents it can use. */
export class AgentModuleError extends TrellisError {
  readonly file: string;
  /**
   * @param options.cause the error the module threw, when it threw one: the message then says
   *   what went wrong inside it rather than how a module should look.
   */
  constructor(file: string, detail: string, options?: { readonly cause?: unknown }) {
    super(
      "AGENT_MODULE_INVALID",
      options?.cause === undefined
        ? `\`${file}\` ${detail}. Export as default a function \`({ store, interrupts }) => ({ name: new GraphAgent({ graph, store, interrupts }) })\` (\`defineAgents\` types it), or export a ready GraphAgent as \`agent\`; optionally export the run's \`input\`.`
        : `\`${file}\` ${detail}. Fix the module (run the command with --verbose for the stack).`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "AgentModuleError";
    this.file = file;
  }
}

const isAgent = (value: unknown): value is AnyAgent =>
  typeof (value as AnyAgent | undefined)?.run === "function" &&
  typeof (value as AnyAgent | undefined)?.resume === "function";

/** An imported agents module, before its agents are built. */
export interface AgentsModule {
  readonly file: string;
  /** The default export, when it is a function that builds agents over a context. */
  readonly factory: ((context: AgentsContext) => unknown) | undefined;
  /** The ready agent the module exports (`agent`, or a default-exported GraphAgent). */
  readonly ready: AnyAgent | undefined;
  /** The module's `input` export, the default run input. */
  readonly input: unknown;
}

/**
 * Imports an agents module without building its agents. TypeScript files are loaded through
 * tsx, an optional peer: without it they fail with `MissingDependencyError`. A module that
 * throws while it is imported, or exports neither an agents function nor a GraphAgent, fails
 * with `AgentModuleError`.
 */
export async function importAgentsModule(file: string, command = "run"): Promise<AgentsModule> {
  const url = pathToFileURL(resolve(file)).href;
  if (/\.[mc]?tsx?$/.test(file)) {
    const { register } = await importOptional(
      { feature: `trellis ${command} ${file}`, dependency: "tsx" },
      () => import("tsx/esm/api"),
    );
    register();
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new AgentModuleError(
      file,
      `could not be imported (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`,
      { cause: error },
    );
  }
  const input = mod.input ?? {};
  const build = mod.default;
  const factory =
    typeof build === "function" && !isAgent(build)
      ? (build as (context: AgentsContext) => unknown)
      : undefined;
  const readyExport = mod.agent ?? (factory === undefined ? build : undefined);
  const ready = isAgent(readyExport) ? readyExport : undefined;
  if (factory === undefined && ready === undefined) {
    throw new AgentModuleError(file, "exports neither an agents function nor a GraphAgent");
  }
  return { file, factory, ready, input };
}

/**
 * Builds a module's agents over `context`: the default export's agents when it has one (a
 * record by name, or one agent, named by its `name`), else the ready `agent` it exports, with
 * the store it was built with.
 */
export async function buildAgents(
  module: AgentsModule,
  context: AgentsContext,
): Promise<LoadedAgents> {
  if (module.factory !== undefined) {
    let built: unknown;
    try {
      built = await module.factory(context);
    } catch (error) {
      throw new AgentModuleError(
        module.file,
        `has a default export that threw (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`,
        { cause: error },
      );
    }
    return { agents: toRecord(module.file, built), input: module.input, sharesStore: true };
  }
  const ready = module.ready!;
  return { agents: { [ready.name]: ready }, input: module.input, sharesStore: false };
}

/**
 * Imports an agents module and builds its agents over `context` ({@link importAgentsModule},
 * then {@link buildAgents}).
 */
export async function loadAgentsModule(
  file: string,
  context: AgentsContext,
  command = "run",
): Promise<LoadedAgents> {
  return buildAgents(await importAgentsModule(file, command), context);
}
function toRecord(file: string, built: unknown): Record<string, AnyAgent> {
  if (isAgent(built)) return { [built.name]: built };
  if (typeof built !== "object" || built === null) {
    throw new AgentModuleError(file, "has a default export that returned no agents");
  }
  const agents: Record<string, AnyAgent> = {};
  for (const [name, agent] of Object.entries(built)) {
    if (!isAgent(agent)) {
      throw new AgentModuleError(
        file,
        `has a default export whose \`${name}\` is not a GraphAgent`,
      );
    }
    agents[name] = agent;
  }
  if (Object.keys(agents).length === 0) {
    throw new AgentModuleError(file, "has a default export that returned no agents");
  }
  return agents;
}
