import { silentLogger } from "../../logger.js";
import type { CliIO, Command } from "../command.js";
import { jsonLine } from "../json-line.js";
import { openContext } from "../open-context.js";
import { parseCommandArgs } from "../parse-command-args.js";
import { selectAgent } from "../select-agent.js";
import { UsageError } from "../usage-error.js";

const HELP = `Usage: trellis viz <module> [options]

Prints an agent's graph as a Mermaid flowchart (paste it into a Markdown file or
mermaid.live) or in Graphviz DOT (\`trellis viz agents.ts --format dot | dot -Tsvg > graph.svg\`).
Conditional edges are dotted and labelled, waiting edges thick, approval gates (from the
agent's interruptConfig) hexagons. The module's agents are built over a memory store.

Options:
  --agent <name>            The agent, when the module has several
  --format <mermaid|dot>    Default mermaid
  --json                    Print { agent, graph, format, gates, chart } as JSON
  -h, --help                Show this help

\`trellis mermaid <module>\` is \`trellis viz <module> --format mermaid\`.
`;

async function printChart(args: readonly string[], command: string, io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    command,
    positionals: ["<module>"],
    options: {
      agent: { type: "string" },
      format: { type: "string", default: "mermaid" },
      json: { type: "boolean", default: false },
    },
  });
  const format = values.format;
  if (format !== "mermaid" && format !== "dot") {
    throw new UsageError(
      command,
      `Expected \`--format\` to be mermaid or dot, got ${JSON.stringify(format)}`,
    );
  }
  const context = await openContext({
    store: "memory",
    module: positionals[0]!,
    command,
    logger: silentLogger,
  });
  try {
    const { name, agent } = selectAgent(command, context.agents, values.agent);
    const options = { gates: agent.approvalGates };
    const chart = format === "dot" ? agent.graph.toDot(options) : agent.graph.toMermaid(options);
    if (values.json) {
      io.out(
        jsonLine({ agent: name, graph: agent.graph.name, format, gates: options.gates, chart }),
      );
    } else {
      io.out(chart.trimEnd());
    }
    return 0;
  } finally {
    await context.close();
  }
}

/** `trellis viz <module>`: the graph as Mermaid or DOT. */
export const vizCommand: Command = {
  name: "viz",
  summary: "Print an agent's graph as Mermaid or Graphviz DOT",
  help: HELP,
  run: (args, io) => printChart(args, "viz", io),
};

/** `trellis mermaid <module>`: an alias of `viz --format mermaid`. */
export const mermaidCommand: Command = {
  name: "mermaid",
  summary: "Alias of `trellis viz` (Mermaid by default)",
  help: HELP,
  run: (args, io) => printChart(args, "mermaid", io),
};
