#!/usr/bin/env node
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { TrellisError } from "../errors.js";
import { formatEvent } from "./format-event.js";
import { loadAgent } from "./load-agent.js";

const USAGE = `Usage: trellis <command> <file> [options]

Commands:
  run <file>       Run the agent a file exports (\`agent\`, and optionally \`input\`)
  mermaid <file>   Print the agent's graph as a Mermaid flowchart

Options:
  --input <json>   Run input as JSON (default: the file's \`input\` export)
  --session <id>   Session id (default: a new random id)
  --json           Print events as JSON lines instead of text
  -h, --help       Show this help
`;

/** The `trellis` command. Returns the process exit code. */
export async function main(
  argv: readonly string[],
  out: (line: string) => void = console.log,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      input: { type: "string" },
      session: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, file] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (!file || (command !== "run" && command !== "mermaid")) {
    out(USAGE);
    return 2;
  }
  const { agent, input } = await loadAgent(file);
  if (command === "mermaid") {
    out(agent.graph.toMermaid());
    return 0;
  }
  let runInput: unknown = input;
  if (values.input !== undefined) {
    try {
      runInput = JSON.parse(values.input);
    } catch (error) {
      throw new TrellisError("CLI_INPUT", `--input is not valid JSON: ${(error as Error).message}`);
    }
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort("interrupted from the terminal");
  process.once("SIGINT", onSignal);
  let status = "failed";
  try {
    for await (const event of agent.stream(runInput, {
      ...(values.session === undefined ? {} : { sessionId: values.session }),
      signal: controller.signal,
    })) {
      if (values.json) {
        out(
          JSON.stringify(event, (_k, v: unknown) =>
            v instanceof Error ? { name: v.name, message: v.message } : v,
          ),
        );
      } else {
        const line = formatEvent(event);
        if (line !== undefined) out(line);
      }
      if (event.type === "run:finished") {
        status = event.status;
        if (!values.json) out(`\nFinal state:\n${JSON.stringify(event.state, null, 2)}`);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
  }
  return status === "completed" || status === "paused" ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof TrellisError ? `${error.name}: ${error.message}` : error);
      process.exitCode = 1;
    },
  );
}
