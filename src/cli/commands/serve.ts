import { parseArgs } from "node:util";
import { later } from "../../clock.js";
import { TrellisError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { InProcessDispatcher } from "../../run/dispatcher.js";
import type { ApiToken } from "../../server/tokens.js";
import { type CliIO, type Command, EXIT } from "../command.js";
import { openContext } from "../open-context.js";

const HELP = `Usage: trellis serve [options]

Serves the HTTP review API (and the review page) over a store.

Options:
  --store <spec>     sqlite:PATH (default sqlite:.trellis/trellis.db), postgres://… or memory
  --agents <module>  Module whose default export builds the agents (defineAgents)
  --port <n>         Port to listen on (default 8787; 0 for any free port)
  --host <name>      Host to listen on (default 127.0.0.1)
  --tokens <file>    JSON file of [{ "token", "name", "role" }] (role viewer, reviewer or admin);
                     default: the JSON text of TRELLIS_TOKENS
  --dev              No authentication, loopback only, every caller an admin (never on a shared host)
  --webhook <url>    POST signed session events to this URL (repeatable); the secret comes
                     from TRELLIS_WEBHOOK_SECRET
  -h, --help         Show this help

Ctrl-C (SIGINT) or SIGTERM stops it: event streams end, requests under way finish, runs it
started are given a few seconds to reach a checkpoint, and the store is closed.
`;

/** How long shutdown waits for background runs before closing the store anyway. */
const SHUTDOWN_GRACE_MS = 5000;

function ioLogger(io: CliIO): Logger {
  const line = (level: string, message: string, attributes?: Record<string, unknown>) =>
    io.err(
      `[trellis] ${level} ${message}${attributes === undefined ? "" : ` ${JSON.stringify(attributes)}`}`,
    );
  return {
    debug: () => {},
    info: (m, a) => line("info", m, a),
    warn: (m, a) => line("warn", m, a),
    error: (m, a) => line("error", m, a),
  };
}

class UsageError extends TrellisError {
  constructor(message: string) {
    super("CLI_INPUT", message);
    this.name = "UsageError";
  }
}

/**
 * Runs `trellis serve` until `signal` aborts; resolves to the exit code. The command's `run`
 * aborts it on SIGINT or SIGTERM.
 */
export async function serve(
  args: readonly string[],
  io: CliIO,
  signal: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
  onListening?: (url: string) => void,
): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(args);
  } catch (error) {
    io.err(error instanceof Error ? error.message : String(error));
    io.err(HELP);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(HELP);
    return EXIT.completed;
  }
  const logger = ioLogger(io);
  try {
    const { createServer, mountWeb, readTokensFile, tokensFromEnv } = await import(
      "../../entries/server.js"
    );
    const port = values.port === undefined ? 8787 : Number(values.port);
    if (!/^\d{1,5}$/.test(values.port ?? "8787") || port > 65_535) {
      throw new UsageError(`--port must be a number from 0 to 65535, got \`${values.port}\`.`);
    }
    if (values.dev && values.tokens !== undefined) {
      throw new UsageError("Give either --tokens or --dev, not both.");
    }
    let tokens: ApiToken[] | undefined;
    if (!values.dev) {
      if (values.tokens !== undefined) tokens = await readTokensFile(values.tokens);
      else if (env.TRELLIS_TOKENS !== undefined && env.TRELLIS_TOKENS !== "") {
        tokens = tokensFromEnv(env.TRELLIS_TOKENS);
      } else {
        throw new UsageError(
          "The review API needs tokens: --tokens FILE (a JSON array of { token, name, role }) or TRELLIS_TOKENS. For a local try without tokens, use --dev (loopback only).",
        );
      }
    }
    const hooks = values.webhook ?? [];
    const secret = env.TRELLIS_WEBHOOK_SECRET;
    if (hooks.length > 0 && (secret === undefined || secret.length < 16)) {
      throw new UsageError(
        "--webhook needs TRELLIS_WEBHOOK_SECRET (at least 16 characters) to sign deliveries.",
      );
    }
    const context = await openContext({
      store: values.store,
      module: values.agents,
      command: "serve",
      logger,
    });
    try {
      const dispatcher = new InProcessDispatcher(context.agents, { logger });
      const server = await createServer({
        store: context.store,
        interrupts: context.interrupts,
        agents: context.agents,
        dispatcher,
        auth: tokens === undefined ? { dev: true } : { tokens },
        webhooks: hooks.map((url) => ({ url, secret: secret! })),
        logger,
        routes: (app) => mountWeb(app),
      });
      const listening = await server.listen({ port, host: values.host ?? "127.0.0.1" });
      const names = Object.keys(context.agents);
      io.out(
        `Review API on ${listening.url} (store ${context.storeLabel}; agents: ${names.length === 0 ? "none" : names.join(", ")})`,
      );
      onListening?.(listening.url);
      if (!signal.aborted) {
        await new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
      }
      io.err("Shutting down…");
      await server.close();
      await new Promise<void>((resolve) => {
        const cancel = later(SHUTDOWN_GRACE_MS, resolve, { keepAlive: true });
        void dispatcher.idle().then(() => {
          cancel();
          resolve();
        });
      });
      return EXIT.completed;
    } finally {
      await context.close();
    }
  } catch (error) {
    if (error instanceof TrellisError) {
      io.err(`${error.name}: ${error.message}`);
      return error.code === "CLI_INPUT" || error.code === "INVALID_OPTION"
        ? EXIT.usage
        : EXIT.failed;
    }
    throw error;
  }
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: false,
    options: {
      store: { type: "string" },
      agents: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      tokens: { type: "string" },
      dev: { type: "boolean", default: false },
      webhook: { type: "string", multiple: true },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
}

/** `trellis serve`: the review API over a store, until SIGINT or SIGTERM. */
export const serveCommand: Command = {
  name: "serve",
  summary: "Serve the HTTP review API over a store",
  help: HELP,
  async run(args, io) {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      return await serve(args, io, controller.signal);
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  },
};
