#!/usr/bin/env node
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { TrellisError } from "../errors.js";
import { setupTelemetry } from "../telemetry/setup-telemetry.js";
import { TRELLIS_VERSION } from "../telemetry/tracing.js";
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
  --otlp [url]     Export spans over OTLP/HTTP (default http://localhost:4318, Jaeger's port)
  --version        Print the version of Trellis
  -h, --help       Show this help

TypeScript files are loaded through tsx (an optional package: npm install tsx).
`;

/** The `trellis` command. Returns the process exit code. */
export async function main(
  argv: readonly string[],
  out: (line: string) => void = console.log,
): Promise<number> {
  const { args, otlp } = takeOtlp(argv);
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      input: { type: "string" },
      session: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      version: { type: "boolean", default: false },
    },
  });
  if (values.version) {
    out(TRELLIS_VERSION);
    return 0;
  }
  const [command, file] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (!file || (command !== "run" && command !== "mermaid")) {
    out(USAGE);
    return 2;
  }
  const telemetry =
    otlp === undefined
      ? undefined
      : await setupTelemetry({ exporter: "otlp", ...(otlp === true ? {} : { endpoint: otlp }) });
  try {
    return await execute(command, file, values, out);
  } finally {
    await telemetry?.shutdown();
  }
}

/** `--otlp` takes an optional URL, which `parseArgs` cannot express: it is taken out first. */
function takeOtlp(argv: readonly string[]): { args: string[]; otlp: string | true | undefined } {
  const args = [...argv];
  const at = args.findIndex((a) => a === "--otlp" || a.startsWith("--otlp="));
  if (at === -1) return { args, otlp: undefined };
  const flag = args.splice(at, 1)[0]!;
  if (flag.startsWith("--otlp=")) return { args, otlp: flag.slice("--otlp=".length) };
  const next = args[at];
  if (next !== undefined && /^https?:\/\//.test(next)) {
    args.splice(at, 1);
    return { args, otlp: next };
  }
  return { args, otlp: true };
}

async function execute(
  command: string,
  file: string,
  values: {
    readonly input?: string | undefined;
    readonly session?: string | undefined;
    readonly json?: boolean | undefined;
  },
  out: (line: string) => void,
): Promise<number> {
  const { agent, input } = await loadAgent(file, command);
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
