import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TrellisError } from "../errors.js";
import { importOptional } from "../import-optional.js";
import type { GraphAgent } from "../run/graph-agent.js";

/** What a file passed to `trellis run` exports. */
export interface AgentModule {
  readonly agent: GraphAgent<Record<string, unknown>>;
  readonly input: unknown;
}

/** A file given to the CLI does not export an agent. */
export class AgentModuleError extends TrellisError {
  readonly file: string;
  constructor(file: string, detail: string) {
    super(
      "AGENT_MODULE_INVALID",
      `\`${file}\` ${detail}. Export a GraphAgent as \`agent\` (or as the default export), and optionally the run's \`input\`.`,
    );
    this.name = "AgentModuleError";
    this.file = file;
  }
}

/**
 * Imports a module and finds its agent and default input. TypeScript files are loaded through
 * tsx, an optional peer: without it they fail with `MissingDependencyError`, naming the
 * `trellis <command> <file>` that needed it.
 */
export async function loadAgent(file: string, command = "run"): Promise<AgentModule> {
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
  const agent = (mod.agent ?? mod.default) as AgentModule["agent"] | undefined;
  if (!agent || typeof agent.run !== "function" || typeof agent.stream !== "function") {
    throw new AgentModuleError(file, "does not export a GraphAgent");
  }
  return { agent, input: mod.input ?? {} };
}
