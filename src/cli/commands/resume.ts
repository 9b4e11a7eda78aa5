import { CheckpointNotFoundError, SessionEndedError } from "../../errors.js";
import { cliLogger } from "../cli-logger.js";
import type { Command } from "../command.js";
import { withHint } from "../error-hint.js";
import { forkHint } from "../fork-hint.js";
import { jsonLine } from "../json-line.js";
import { leasedRun } from "../leased-run.js";
import { openContext } from "../open-context.js";
import { integerOption, parseCommandArgs } from "../parse-command-args.js";
import { agentForSession } from "../select-agent.js";
import { DEFAULT_STORE } from "../store-spec.js";
import { UsageError } from "../usage-error.js";

const HELP = `Usage: trellis resume <session> --agents <module> [options]

Continues a session from its latest checkpoint: after a pause, at an approval gate (a decision
sent with \`trellis send\` is read there), after a cancel, a failure or a crash. Nodes that
completed do not run again. A session that ended completed or rejected goes on only with
\`trellis fork\`. The agent is the module's agent whose graph last ran the session.

If another process holds the session, resume waits for its lease to run out (a process that
died mid-run leaves one behind until it expires); a lease that is renewed while it waits belongs
to a live run, and resume says so and exits 1.

Options:
  --agents <module>    The agents module (required)
  --agent <name>       Use this agent instead of the one found by the session's graph
  --checkpoint <id>    Continue from this checkpoint instead of the latest (\`trellis history\`)
  --lease-wait <ms>    Wait at most this long for another process's lease (default 60000)
  --store <spec>       sqlite:PATH | postgres:URL | memory (default ${DEFAULT_STORE})
  --json               Print every event and the result as JSON lines
  -h, --help           Show this help

Exit codes as for \`trellis run\`: 0 completed, 1 failed, 3 paused or waiting, 4 rejected,
5 cancelled.

Example:
  trellis resume 6f1c… --agents samples/hitl-review/agents.ts
`;

/** `trellis resume <session> --agents <module>`: continues a suspended or stopped session. */
export const resumeCommand: Command = {
  name: "resume",
  summary: "Continue a paused, gated, cancelled or crashed session",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      command: "resume",
      positionals: ["<session>"],
      options: {
        agents: { type: "string" },
        agent: { type: "string" },
        checkpoint: { type: "string" },
        "lease-wait": { type: "string" },
        store: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const sessionId = positionals[0]!;
    const file = values.agents;
    if (file === undefined) {
      throw new UsageError(
        "resume",
        "`trellis resume` needs --agents <module>, the module whose agent continues the session",
      );
    }
    const maxWaitMs =
      integerOption("resume", "lease-wait", values["lease-wait"], { min: 0 }) ?? 60_000;
    const context = await openContext({
      store: values.store,
      module: file,
      command: "resume",
      logger: cliLogger(io),
    });
    try {
      const summary = await context.store.sessions.get(sessionId);
      if (summary === undefined) throw new CheckpointNotFoundError(sessionId);
      const { name, agent } = agentForSession(
        "resume",
        file,
        context.agents,
        summary,
        values.agent,
      );
      const json = values.json === true;
      if (json) {
        io.out(jsonLine({ type: "session", sessionId, agent: name, store: context.storeLabel }));
      } else {
        io.out(`session ${sessionId}`);
      }
      try {
        return await leasedRun(
          io,
          {
            agent,
            sessionId,
            json,
            maxWaitMs,
            hint: { module: file, store: values.store, sharesStore: context.sharesStore },
          },
          (signal) =>
            agent.resume(sessionId, {
              signal,
              ...(values.checkpoint === undefined ? {} : { checkpointId: values.checkpoint }),
            }),
        );
      } catch (error) {
        if (error instanceof SessionEndedError) {
          throw withHint(error, forkHint(sessionId, file, values.store));
        }
        throw error;
      }
    } finally {
      await context.close();
    }
  },
};
