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
  constructor(file: string, detail: string) {
    super(
      "AGENT_MODULE_INVALID",
      `\`${file}\` ${detail}. Export as default a function \`({ store, interrupts }) => ({ name: new GraphAgent({ graph, store, interrupts }) })\` (\`defineAgents\` types it), or export a ready GraphAgent as \`agent\`; optionally export the run's \`input\`.`,
    );
    this.name = "AgentModuleError";
    this.file = file;
  }
}

const isAgent = (value: unknown): value is AnyAgent =>
  typeof (value as AnyAgent | undefined)?.run === "function" &&
  typeof (value as AnyAgent | undefined)?.resume === "function";

/**
 * Imports an agents module and builds its agents over `context`. TypeScript files are loaded
 * through tsx, an optional peer: without it they fail with `MissingDependencyError`.
 *
 * The module's default export is a function `(context) => agents` (a record by name, or one
 * agent, named by its `name`); a module that only exports a ready `agent` (or default-exports
 * one) still works, with the store it was built with.
 */
export async function loadAgentsModule(
  file: string,
  context: AgentsContext,
  command = "run",
): Promise<LoadedAgents> {
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
      `could not be imported (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const input = mod.input ?? {};
  const build = mod.default;
  if (typeof build === "function" && !isAgent(build)) {
    const built: unknown = await (build as (c: AgentsContext) => unknown)(context);
    return { agents: toRecord(file, built), input, sharesStore: true };
  }
  const ready = mod.agent ?? build;
  if (isAgent(ready)) return { agents: { [ready.name]: ready }, input, sharesStore: false };
  throw new AgentModuleError(file, "exports neither an agents function nor a GraphAgent");
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
