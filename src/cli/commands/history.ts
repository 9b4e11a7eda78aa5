import { CheckpointNotFoundError } from "../../errors.js";
import { cliLogger } from "../cli-logger.js";
import type { Command } from "../command.js";
import { jsonLine } from "../json-line.js";
import { openContext } from "../open-context.js";
import { integerOption, parseCommandArgs } from "../parse-command-args.js";
import { agentForSession } from "../select-agent.js";
import { DEFAULT_STORE } from "../store-spec.js";

const HELP = `Usage: trellis history <session> [options]

The session's checkpoints, newest first: sequence number, id, the node that wrote it, status,
what runs next, and the approval request or pause it holds. Any checkpoint id can be passed to
\`trellis resume --checkpoint\`.

Options:
  --limit <n>        At most this many checkpoints (default 100)
  --agents <module>  Rebuild each checkpoint's state with the session's agent (shown with --json)
  --store <spec>     sqlite:PATH | postgres:URL | memory (default ${DEFAULT_STORE})
  --json             One JSON line per checkpoint
  -h, --help         Show this help
`;

const time = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 23);

/** `trellis history <session>`: the session's checkpoints. */
export const historyCommand: Command = {
  name: "history",
  summary: "List a session's checkpoints, newest first",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      command: "history",
      positionals: ["<session>"],
      options: {
        limit: { type: "string" },
        agents: { type: "string" },
        store: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const sessionId = positionals[0]!;
    const limit = integerOption("history", "limit", values.limit, { min: 1 }) ?? 100;
    const context = await openContext({
      store: values.store,
      module: values.agents,
      command: "history",
      logger: cliLogger(io),
    });
    try {
      const summary = await context.store.sessions.get(sessionId);
      if (summary === undefined) throw new CheckpointNotFoundError(sessionId);
      if (values.agents !== undefined) {
        const { agent } = agentForSession(
          "history",
          values.agents,
          context.agents,
          summary,
          undefined,
        );
        const entries = await agent.history(sessionId, { limit });
        for (const entry of entries) {
          if (values.json) io.out(jsonLine(entry));
          else
            io.out(
              describe({
                ...entry,
                kind: entry.error === undefined ? "" : `unreadable: ${entry.error.message}`,
              }),
            );
        }
        return 0;
      }
      const records = await context.store.checkpoints.list(sessionId, "", { limit });
      for (const record of records) {
        if (values.json) {
          io.out(jsonLine(record));
        } else {
          io.out(
            describe({
              ...record,
              kind: record.kind === "unparsable" ? `unparsable: ${record.problem}` : "",
            }),
          );
        }
      }
      return 0;
    } finally {
      await context.close();
    }
  },
};

function describe(entry: {
  readonly seq: number;
  readonly id: string;
  readonly node: string | null;
  /** `null` when the stored status cannot be read. */
  readonly status: string | null;
  readonly next: readonly string[];
  readonly createdAt: number;
  readonly kind: string;
  readonly meta?:
    | {
        readonly gate?: { readonly node: string; readonly revision: number } | undefined;
        readonly pause?: { readonly phase: string; readonly node?: string | undefined } | undefined;
      }
    | undefined;
}): string {
  const gate = entry.meta?.gate;
  const pause = entry.meta?.pause;
  const notes = [
    gate === undefined ? "" : `waits for approval at ${gate.node} (revision ${gate.revision})`,
    pause === undefined
      ? ""
      : `paused ${pause.phase}${pause.node === undefined ? "" : ` ${pause.node}`}`,
    entry.kind,
  ].filter((n) => n !== "");
  return `${String(entry.seq).padStart(4)}  ${time(entry.createdAt)}  ${entry.id}  ${(entry.node ?? "·").padEnd(14)} ${(entry.status ?? "?").padEnd(9)} → ${entry.next.join(", ") || "END"}${notes.length === 0 ? "" : `  ${notes.join("; ")}`}`;
}
