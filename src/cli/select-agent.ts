import type { AnyAgent } from "../run/define-agents.js";
import { agentOf } from "../run/dispatcher.js";
import type { SessionSummary } from "../store/session-store.js";
import { AgentModuleError } from "./agents-module.js";
import { UsageError } from "./usage-error.js";

/**
 * The agent a command runs: the one `--agent` names, or the module's only agent. A module with
 * several needs `--agent` (a `UsageError` lists their names).
 */
export function selectAgent(
  command: string,
  agents: Readonly<Record<string, AnyAgent>>,
  name: string | undefined,
): { readonly name: string; readonly agent: AnyAgent } {
  const names = Object.keys(agents);
  if (name !== undefined) {
    const agent = Object.hasOwn(agents, name) ? agents[name] : undefined;
    if (agent === undefined) {
      throw new UsageError(
        command,
        `No agent \`${name}\` in the module; it has ${names.map((n) => `\`${n}\``).join(", ")}`,
      );
    }
    return { name, agent };
  }
  if (names.length !== 1) {
    throw new UsageError(
      command,
      `The module has ${names.length} agents (${names.map((n) => `\`${n}\``).join(", ")}): choose one with --agent NAME`,
    );
  }
  return { name: names[0]!, agent: agents[names[0]!]! };
}

/**
 * The agent that continues a session: `--agent` when given, else the one whose graph last ran
 * it (`agentOf`). Fails with `AgentModuleError` when the module has none for that graph.
 */
export function agentForSession(
  command: string,
  file: string,
  agents: Readonly<Record<string, AnyAgent>>,
  summary: SessionSummary,
  name: string | undefined,
): { readonly name: string; readonly agent: AnyAgent } {
  if (name !== undefined) return selectAgent(command, agents, name);
  const found = agentOf(agents, summary);
  if (found === undefined) {
    const graphs = Object.entries(agents).map(([n, a]) => `\`${n}\` runs \`${a.graph.name}\``);
    throw new AgentModuleError(
      file,
      `has no agent for graph \`${summary.graph}\`, which last ran session \`${summary.sessionId}\` (${graphs.join(", ")})`,
    );
  }
  return { name: found, agent: agents[found]! };
}
