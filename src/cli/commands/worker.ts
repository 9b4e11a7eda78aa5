import { parseArgs } from "node:util";
import { InvalidOptionError, TrellisError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { PgBossDispatcher } from "../../worker/pg-boss-dispatcher.js";
import { Worker } from "../../worker/worker.js";
import { type CliIO, type Command, EXIT } from "../command.js";
import { openContext } from "../open-context.js";
import { parseStoreSpec } from "../store-spec.js";

const HELP = `Usage: trellis worker --store postgres:URL --agents MODULE [options]

Takes runs from the job queue in the store's PostgreSQL database and runs them with the
module's agents. Start as many as you like: each session is run by one worker at a time, a
session whose worker died is continued by another from its last checkpoint, and a decision
sent to a suspended session resumes it. SIGTERM (or Ctrl-C) stops claiming, lets the runs
under way end until the deadline, and exits 0.

Options:
  --store <spec>          postgres:postgres://user@host/db (?schema=NAME for a schema other than trellis)
  --agents <file>         The agents module (default export: defineAgents(({ store, interrupts }) => …))
  --concurrency <n>       Sessions run at once (default 10)
  --jobs-schema <name>    pg-boss's schema (default <store schema>_jobs)
  --deadline-ms <ms>      How long a stop waits for runs under way (default 30000)
  --poll-ms <ms>          How often an idle worker looks for jobs (default 500)
  --sweep-ms <ms>         How often it looks for sessions whose worker died (default 5000)
  --job-expire-s <s>      When a claimed job whose worker died is handed out again (default 120)
  -h, --help              Show this help
`;

function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidOptionError(flag, "an integer from 1 up", value);
  return n;
}

/** A logger that writes warnings and errors to the command's error stream. */
function ioLogger(io: CliIO): Logger {
  const line = (level: string, message: string, attributes?: Record<string, unknown>) =>
    io.err(`[trellis ${level}] ${message}${attributes ? ` ${JSON.stringify(attributes)}` : ""}`);
  return {
    debug: () => {},
    info: () => {},
    warn: (message, attributes) => line("warn", message, attributes),
    error: (message, attributes) => line("error", message, attributes),
  };
}

/** `trellis worker`: one worker process over a PostgreSQL store. */
export const workerCommand: Command = {
  name: "worker",
  summary: "Run sessions from the PostgreSQL job queue (start several for more throughput)",
  help: HELP,
  async run(args, io) {
    let values: Record<string, string | boolean | undefined>;
    try {
      values = parseArgs({
        args: [...args],
        options: {
          store: { type: "string" },
          agents: { type: "string" },
          concurrency: { type: "string" },
          "jobs-schema": { type: "string" },
          "deadline-ms": { type: "string" },
          "poll-ms": { type: "string" },
          "sweep-ms": { type: "string" },
          "job-expire-s": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      }).values;
    } catch (error) {
      io.err(`${(error as Error).message}\n\n${HELP}`);
      return EXIT.usage;
    }
    if (values.help === true) {
      io.out(HELP);
      return EXIT.completed;
    }
    const storeFlag = values.store as string | undefined;
    const spec = storeFlag === undefined ? undefined : parseStoreSpec(storeFlag);
    if (spec?.kind !== "postgres" || typeof values.agents !== "string") {
      io.err(
        `trellis worker needs --store postgres:URL (workers share one PostgreSQL database) and --agents MODULE.\n\n${HELP}`,
      );
      return EXIT.usage;
    }
    const logger = ioLogger(io);
    const concurrency = count("--concurrency", values.concurrency as string | undefined);
    const deadlineMs = count("--deadline-ms", values["deadline-ms"] as string | undefined);
    const pollMs = count("--poll-ms", values["poll-ms"] as string | undefined);
    const sweepMs = count("--sweep-ms", values["sweep-ms"] as string | undefined);
    const expire = count("--job-expire-s", values["job-expire-s"] as string | undefined);
    const context = await openContext({
      store: storeFlag,
      module: values.agents,
      command: "worker",
      logger,
    });
    let dispatcher: PgBossDispatcher | undefined;
    try {
      if (Object.keys(context.agents).length === 0) {
        throw new TrellisError("AGENT_MODULE_INVALID", `\`${values.agents}\` has no agents.`);
      }
      dispatcher = await PgBossDispatcher.connect({
        connectionString: spec.connectionString,
        schema: (values["jobs-schema"] as string | undefined) ?? `${spec.schema ?? "trellis"}_jobs`,
        ...(expire === undefined ? {} : { jobExpireSeconds: expire }),
        ...(expire === undefined ? {} : { maintenanceIntervalSeconds: Math.min(expire, 30) }),
        logger,
      });
      const worker = new Worker({
        store: context.store,
        agents: context.agents,
        dispatcher,
        logger,
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(pollMs === undefined ? {} : { pollMs }),
        ...(sweepMs === undefined ? {} : { sweepMs }),
      });
      const stopping = new Promise<string>((resolve) => {
        process.once("SIGTERM", () => resolve("SIGTERM"));
        process.once("SIGINT", () => resolve("SIGINT"));
      });
      await worker.start();
      io.out(
        `Worker ${process.pid} started: ${Object.keys(context.agents).join(", ")} on ${context.storeLabel}, concurrency ${worker.health().concurrency}`,
      );
      const signal = await stopping;
      io.err(`${signal}: stopping (no new jobs; waiting for runs under way)`);
      const stopped = await worker.stop(deadlineMs === undefined ? {} : { deadlineMs });
      const health = worker.health();
      io.out(
        `Worker ${process.pid} stopped: ${health.jobs.ran} runs, ${health.takeovers} takeovers${stopped.drained ? "" : `, ${stopped.abandoned.length} left to other workers`}`,
      );
      return EXIT.completed;
    } finally {
      await dispatcher?.close();
      await context.close();
    }
  },
};
