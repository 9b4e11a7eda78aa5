import { CheckpointNotFoundError } from "../../errors.js";
import { cliLogger } from "../cli-logger.js";
import type { Command } from "../command.js";
import { defaultSender } from "../default-sender.js";
import { withHint } from "../error-hint.js";
import { jsonLine } from "../json-line.js";
import { leasedRun } from "../leased-run.js";
import { openContext } from "../open-context.js";
import { integerOption, jsonOption, parseCommandArgs } from "../parse-command-args.js";
import { agentForSession } from "../select-agent.js";
import { commandLine } from "../shell-quote.js";
import { DEFAULT_STORE } from "../store-spec.js";
import { UsageError } from "../usage-error.js";

const HELP = `Usage: trellis fork <session> <checkpoint> --agents <module> [options]

Runs on from an earlier checkpoint of a session, as a new branch of its history: how a session
that ended \`completed\` or \`rejected\` goes on deliberately, or how a run is tried again from
an earlier step with a changed state. The session's history stays; the fork is recorded in its
audit trail (\`run.forked\`). Checkpoint ids come from \`trellis history <session>\`.

Forking from the checkpoint where a run waited at an approval gate opens that gate again, for
the same request: the gated node does not run again, and its output (with --update applied) is
what the reviewer decides on. Fork from the checkpoint before the gated node to run it again,
which opens a new request.

Options:
  --agents <module>    The agents module (required)
  --agent <name>       Use this agent instead of the one found by the session's graph
  --to <session>       Run the fork in this session instead (the source stays as it is)
  --update <json>      A JSON object applied to the checkpoint's state (through the reducers)
  --actor <name>       Who forks, for the audit trail (default: user@host)
  --lease-wait <ms>    Wait at most this long for another process's lease (default 60000)
  --store <spec>       sqlite:PATH | postgres:URL | memory (default ${DEFAULT_STORE})
  --json               Print every event and the result as JSON lines
  -h, --help           Show this help

Exit codes as for \`trellis run\`: 0 completed, 1 failed, 3 paused or waiting, 4 rejected,
5 cancelled.

Example:
  trellis history 6f1c…
  trellis fork 6f1c… 1f0e….2 --agents samples/hitl-review/agents.ts --update '{"topic":"sand dunes"}'
`;

/** `trellis fork <session> <checkpoint>`: runs on from an earlier checkpoint. */
export const forkCommand: Command = {
  name: "fork",
  summary: "Run on from an earlier checkpoint, as a new branch (also after completed or rejected)",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      command: "fork",
      positionals: ["<session>", "<checkpoint>"],
      options: {
        agents: { type: "string" },
        agent: { type: "string" },
        to: { type: "string" },
        update: { type: "string" },
        actor: { type: "string" },
        "lease-wait": { type: "string" },
        store: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const [sessionId, checkpointId] = positionals as [string, string];
    const file = values.agents;
    if (file === undefined) {
      throw new UsageError(
        "fork",
        "`trellis fork` needs --agents <module>, the module whose agent runs the fork",
      );
    }
    const update =
      values.update === undefined ? undefined : jsonOption("fork", "update", values.update);
    if (
      update !== undefined &&
      (typeof update !== "object" || update === null || Array.isArray(update))
    ) {
      throw new UsageError("fork", "`--update` must be a JSON object of state keys and values");
    }
    const maxWaitMs =
      integerOption("fork", "lease-wait", values["lease-wait"], { min: 0 }) ?? 60_000;
    const target = values.to ?? sessionId;
    const context = await openContext({
      store: values.store,
      module: file,
      command: "fork",
      logger: cliLogger(io),
    });
    try {
      const summary = await context.store.sessions.get(sessionId);
      if (summary === undefined) throw new CheckpointNotFoundError(sessionId);
      const { name, agent } = agentForSession("fork", file, context.agents, summary, values.agent);
      const json = values.json === true;
      if (json) {
        io.out(
          jsonLine({
            type: "session",
            sessionId: target,
            agent: name,
            store: context.storeLabel,
            forkedFrom: { sessionId, checkpointId },
          }),
        );
      } else {
        io.out(`session ${target} (forked from ${sessionId} at ${checkpointId})`);
      }
      try {
        return await leasedRun(
          io,
          {
            agent,
            sessionId: target,
            json,
            maxWaitMs,
            hint: { module: file, store: values.store, sharesStore: context.sharesStore },
          },
          (signal) =>
            agent.fork(sessionId, checkpointId, {
              signal,
              actor: values.actor ?? defaultSender(),
              ...(values.to === undefined ? {} : { toSessionId: values.to }),
              ...(update === undefined ? {} : { update: update as Record<string, unknown> }),
            }),
        );
      } catch (error) {
        if (error instanceof CheckpointNotFoundError && error.checkpointId !== undefined) {
          const store = values.store === undefined ? [] : ["--store", values.store];
          throw withHint(
            error,
            `List its checkpoints: ${commandLine(["trellis", "history", sessionId, ...store])}`,
          );
        }
        throw error;
      }
    } finally {
      await context.close();
    }
  },
};
