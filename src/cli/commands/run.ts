import { randomUUID } from "node:crypto";
import { SessionNotFinishedError } from "../../errors.js";
import { cliLogger } from "../cli-logger.js";
import type { Command } from "../command.js";
import { cancelOnInterrupt } from "../interrupt-signal.js";
import { jsonLine } from "../json-line.js";
import { openContext } from "../open-context.js";
import { jsonOption, parseCommandArgs } from "../parse-command-args.js";
import { reportOutcome } from "../report-outcome.js";
import { selectAgent } from "../select-agent.js";
import { commandLine } from "../shell-quote.js";
import { DEFAULT_STORE } from "../store-spec.js";
import { watchRun } from "../watch-run.js";

const HELP = `Usage: trellis run <module> [options]

Runs an agent of an agents module from START. Prints the session id first, then the progress
node by node (on stderr), then the outcome and final state. When the run stops at an approval
gate or is paused, it prints the commands that continue it (\`trellis send\`, \`trellis resume\`).

Options:
  --agent <name>     The agent to run, when the module has several
  --input <json>     The run's input (default: the module's \`input\` export, else {})
  --session <id>     The session id (default: a new random id)
  --start-over       Start a new run in a session whose last run did not finish
  --store <spec>     sqlite:PATH | postgres:URL | memory (default ${DEFAULT_STORE})
  --json             Print the session, every event and the result as JSON lines
  -h, --help         Show this help

Ctrl-C cancels the run (exit 5; its last checkpoint stays resumable); a second Ctrl-C quits
at once (exit 130). Exit codes: 0 completed, 1 failed, 3 paused or waiting at a gate,
4 rejected, 5 cancelled.

Examples:
  trellis run samples/hitl-review/agents.ts
  trellis run agents.ts --agent review --input '{"topic":"tide pools"}' --session s1
`;

/** `trellis run <module>`: one run, from START, with live progress. */
export const runCommand: Command = {
  name: "run",
  summary: "Run an agent of an agents module, with live progress",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      command: "run",
      positionals: ["<module>"],
      options: {
        agent: { type: "string" },
        input: { type: "string" },
        session: { type: "string" },
        "start-over": { type: "boolean", default: false },
        store: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const file = positionals[0]!;
    const given = values.input === undefined ? undefined : jsonOption("run", "input", values.input);
    const context = await openContext({
      store: values.store,
      module: file,
      command: "run",
      logger: cliLogger(io),
      ownStore: true,
    });
    try {
      const { name, agent } = selectAgent("run", context.agents, values.agent);
      const sessionId = values.session ?? randomUUID();
      const json = values.json === true;
      if (json) {
        io.out(jsonLine({ type: "session", sessionId, agent: name, store: context.storeLabel }));
      } else {
        io.out(`session ${sessionId}`);
      }
      const interrupt = cancelOnInterrupt(io);
      const stop = watchRun(agent, sessionId, io, json);
      try {
        const result = await agent.run(given ?? context.input, {
          sessionId,
          signal: interrupt.signal,
          ...(values["start-over"] ? { startOver: true } : {}),
        });
        return reportOutcome(result, io, {
          json,
          hint: { module: file, store: values.store, sharesStore: context.sharesStore },
        });
      } catch (error) {
        if (error instanceof SessionNotFinishedError && !json) {
          io.err(
            `Continue it: ${commandLine(["trellis", "resume", sessionId, "--agents", file, ...(values.store === undefined ? [] : ["--store", values.store])])}  (or pass --start-over)`,
          );
        }
        throw error;
      } finally {
        stop();
        interrupt.stop();
      }
    } finally {
      await context.close();
    }
  },
};
