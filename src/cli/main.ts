#!/usr/bin/env node
import { pathToFileURL } from "node:url";
import { later } from "../clock.js";
import { TrellisError } from "../errors.js";
import { closestName } from "../graph/suggest.js";
import { setupTelemetry, type TelemetryHandle } from "../telemetry/setup-telemetry.js";
import { TRELLIS_VERSION } from "../telemetry/tracing.js";
import { cliLogger } from "./cli-logger.js";
import { type CliIO, type Command, EXIT } from "./command.js";
import { COMMANDS } from "./commands.js";
import { hintOf } from "./error-hint.js";
import { formatError } from "./format-error.js";
import { UsageError } from "./usage-error.js";

/**
 * Writes results to stdout and progress and errors to stderr. A reader that goes away
 * (`trellis run agents.ts | head -1` to take the session id) does not stop the run: output to a
 * closed pipe is dropped, and the run ends as it would have, its session in a state others can
 * continue.
 */
export const processIO: CliIO = {
  out: (line) => write(process.stdout, line),
  err: (line) => write(process.stderr, line),
};

const watched = new WeakSet<NodeJS.WriteStream>();
const closed = new WeakSet<NodeJS.WriteStream>();

function write(stream: NodeJS.WriteStream, line: string): void {
  if (closed.has(stream)) return;
  if (!watched.has(stream)) {
    watched.add(stream);
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      closed.add(stream);
    });
  }
  stream.write(`${line}\n`);
}

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: trellis <command> [arguments] [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Options for every command:
  --json            Machine-readable output (JSON lines)
  --otlp [url]      Export spans over OTLP/HTTP (default http://localhost:4318, Jaeger's port)
  --verbose         Print errors with their stack and causes
  -h, --help        Show help (\`trellis <command> --help\` for one command)
  --version         Print the version of Trellis

Data is kept in sqlite:.trellis/trellis.db unless --store says otherwise. TypeScript modules are
loaded through tsx (an optional package: npm install tsx). See docs/cli.md.
`;
}

/** Takes the flags every command shares out of the arguments (before a `--`). */
function takeGlobal(argv: readonly string[]): {
  args: string[];
  otlp: string | true | undefined;
  verbose: boolean;
} {
  const args: string[] = [];
  let otlp: string | true | undefined;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      args.push(...argv.slice(i));
      break;
    }
    if (arg === "--verbose") verbose = true;
    else if (arg.startsWith("--otlp=")) otlp = arg.slice("--otlp=".length);
    else if (arg === "--otlp") {
      const next = argv[i + 1];
      if (next !== undefined && /^https?:\/\//.test(next)) {
        otlp = next;
        i++;
      } else otlp = true;
    } else args.push(arg);
  }
  return { args, otlp, verbose };
}

const beforeEnd = (args: readonly string[]) => {
  const end = args.indexOf("--");
  return end === -1 ? args : args.slice(0, end);
};

const wantsJson = (args: readonly string[]) => beforeEnd(args).includes("--json");

/** An error as one JSON line, for `--json`: `{"type":"error","name","code","message"}`. */
function errorJson(error: unknown): string {
  const fields =
    error instanceof Error
      ? {
          name: error.name,
          code: error instanceof TrellisError ? error.code : "INTERNAL",
          message: error.message,
        }
      : { name: "Error", code: "INTERNAL", message: String(error) };
  const hint = hintOf(error);
  return JSON.stringify({ type: "error", ...fields, ...(hint === undefined ? {} : { hint }) });
}

const wantsHelp = (args: readonly string[]) => {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
};

/**
 * The `trellis` command: finds the command, handles `--help`, `--version`, `--otlp` and errors,
 * and resolves to the exit code (see `EXIT`). It never rejects: errors are printed to `io.err`
 * as `Name [CODE]: message` (with the stack under `--verbose`).
 */
export async function main(
  argv: readonly string[],
  io: CliIO = processIO,
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  const { args, otlp, verbose } = takeGlobal(argv);
  const [name, ...rest] = args;
  if (name === "--version") {
    io.out(TRELLIS_VERSION);
    return EXIT.completed;
  }
  if (name === undefined) {
    io.err(usage(commands));
    return EXIT.usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const command = commands.find((c) => c.name === topic);
    io.out(command === undefined ? usage(commands) : command.help);
    return EXIT.completed;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    const near = closestName(
      name,
      commands.map((c) => c.name),
    );
    io.err(
      formatError(
        new UsageError(
          undefined,
          `Unknown command \`${name}\`${near === undefined ? "" : `. Did you mean \`${near}\`?`}`,
        ),
        false,
      ),
    );
    io.err(usage(commands));
    return EXIT.usage;
  }
  if (wantsHelp(rest)) {
    io.out(command.help);
    return EXIT.completed;
  }
  let telemetry: TelemetryHandle | undefined;
  try {
    if (otlp !== undefined) {
      // Its shutdown is bounded (flushTimeoutMs, 2 s by default) and says in one line what it
      // could not send, so a dead collector cannot hold the exit.
      telemetry = await setupTelemetry({
        exporter: "otlp",
        logger: cliLogger(io),
        ...(otlp === true ? {} : { endpoint: otlp }),
      });
    }
    return await command.run(rest, io);
  } catch (error) {
    const json = wantsJson(rest) && !verbose;
    io.err(json ? errorJson(error) : formatError(error, verbose));
    const hint = hintOf(error);
    if (!json && hint !== undefined) io.err(hint);
    if (error instanceof UsageError) {
      io.err(command.help.split("\n")[0]!);
      return EXIT.usage;
    }
    return EXIT.failed;
  } finally {
    if (telemetry !== undefined) {
      await telemetry.shutdown().catch((error: unknown) => {
        io.err(`[trellis] warn: could not send the last spans: ${formatError(error, false)}`);
      });
    }
  }
}

/** Runs `main` as the process and exits with its code, even if a handle was left open. */
export async function runAsProcess(argv: readonly string[]): Promise<void> {
  // Ctrl-C outside a run (or after it ended, while the process winds down) exits 130 at once;
  // during a run the run's own handler cancels it first (see cancelOnInterrupt).
  const onSignal = (signal: NodeJS.Signals) => {
    // 128 + the signal's number, as shells report it: 130 for SIGINT, 143 for SIGTERM.
    if (process.listenerCount(signal) === 1) {
      process.exit(signal === "SIGTERM" ? 143 : EXIT.interrupted);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const code = await main(argv);
  process.exitCode = code;
  // Everything is closed by now; should a module have left a handle open, do not hang on it.
  later(1_000, () => process.exit(code));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void runAsProcess(process.argv.slice(2));
}
