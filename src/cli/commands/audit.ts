import { MAX_PAGE_LIMIT } from "../../store/page.js";
import { cliLogger } from "../cli-logger.js";
import type { Command } from "../command.js";
import { jsonLine } from "../json-line.js";
import { openContext } from "../open-context.js";
import { integerOption, parseCommandArgs } from "../parse-command-args.js";
import { DEFAULT_STORE } from "../store-spec.js";

const HELP = `Usage: trellis audit <session> [options]

The session's audit trail, oldest first: who steered it, when, and what came of it (runs
started and resumed, interrupts received, applied and refused, approvals requested and
decided, state updates).

Options:
  --limit <n>     At most this many entries (default 50, at most ${MAX_PAGE_LIMIT})
  --offset <n>    Skip this many first (default 0)
  --store <spec>  sqlite:PATH | postgres:URL | memory (default ${DEFAULT_STORE})
  --json          One JSON line per entry
  -h, --help      Show this help
`;

/** `trellis audit <session>`: the session's audit trail. */
export const auditCommand: Command = {
  name: "audit",
  summary: "Print a session's audit trail: who steered it, when, with what result",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      command: "audit",
      positionals: ["<session>"],
      options: {
        limit: { type: "string" },
        offset: { type: "string" },
        store: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const sessionId = positionals[0]!;
    const limit =
      integerOption("audit", "limit", values.limit, { min: 1, max: MAX_PAGE_LIMIT }) ?? 50;
    const offset = integerOption("audit", "offset", values.offset, { min: 0 }) ?? 0;
    const context = await openContext({
      store: values.store,
      command: "audit",
      logger: cliLogger(io),
    });
    try {
      const { items, total } = await context.store.audit.list(sessionId, { limit, offset });
      if (values.json) {
        for (const entry of items) io.out(jsonLine(entry));
        return 0;
      }
      if (total === 0) {
        io.out(`Session ${sessionId} has no audit entries in ${context.storeLabel}.`);
        return 0;
      }
      const start = items[0]?.at ?? 0;
      for (const entry of items) {
        const where =
          entry.node === undefined
            ? ""
            : `${entry.node}${entry.iteration === undefined ? "" : ` #${entry.iteration}`}`;
        const data = entry.data === undefined ? "" : JSON.stringify(entry.data);
        io.out(
          `${String(entry.seq).padStart(4)}  ${new Date(entry.at).toISOString()}  +${String(entry.at - start).padStart(6)} ms  ${entry.kind.padEnd(19)} ${(entry.actor ?? "").padEnd(18)} ${where.padEnd(12)} ${data.length > 160 ? `${data.slice(0, 157)}…` : data}`.trimEnd(),
        );
      }
      if (offset + items.length < total)
        io.out(
          `\n${offset + 1}–${offset + items.length} of ${total}: --offset ${offset + items.length} for more`,
        );
      return 0;
    } finally {
      await context.close();
    }
  },
};
