import { CHECKPOINT_STATUSES, type CheckpointStatus } from "../../store/checkpoint-store.js";
import { MAX_PAGE_LIMIT } from "../../store/page.js";
import type { SessionSummary } from "../../store/session-store.js";
import type { Store } from "../../store/store.js";
import { cliLogger } from "../cli-logger.js";
import type { Command } from "../command.js";
import { jsonLine } from "../json-line.js";
import { openContext } from "../open-context.js";
import { integerOption, parseCommandArgs } from "../parse-command-args.js";
import { DEFAULT_STORE } from "../store-spec.js";
import { UsageError } from "../usage-error.js";

const HELP = `Usage: trellis sessions [options]

The review inbox: the sessions in the store, those waiting for an approval first, then the
rest, newest first within each.

Options:
  --status <status>  Only sessions whose latest checkpoint has this status
                     (${CHECKPOINT_STATUSES.join(", ")})
  --waiting          Only sessions waiting for an approval
  --graph <name>     Only sessions last run by this graph
  --limit <n>        At most this many (default 50, at most ${MAX_PAGE_LIMIT})
  --offset <n>       Skip this many first (default 0)
  --store <spec>     sqlite:PATH | postgres:URL | memory (default ${DEFAULT_STORE})
  --json             Print { items, total, offset, limit } as JSON
  -h, --help         Show this help
`;

interface InboxQuery {
  readonly status?: CheckpointStatus;
  readonly graph?: string;
  readonly waiting: boolean;
  readonly offset: number;
  readonly limit: number;
}

/**
 * One page of the inbox, gated sessions first: the page is cut from the gated list and then
 * from the rest (every session minus the gated ones, read page by page in the store's order).
 */
async function inbox(
  store: Store,
  query: InboxQuery,
): Promise<{ items: SessionSummary[]; total: number }> {
  const filter = {
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.graph === undefined ? {} : { graph: query.graph }),
  };
  const gated = await store.sessions.list({
    ...filter,
    waiting: "approval",
    offset: query.offset,
    limit: query.limit,
  });
  if (query.waiting) return gated;
  const items = [...gated.items];
  const all = await store.sessions.list({ ...filter, limit: 1 });
  const total = all.total;
  // How many of the others to skip: the offset minus the gated sessions before it.
  let skip = Math.max(0, query.offset - gated.total);
  for (let offset = 0; items.length < query.limit && offset < total; offset += MAX_PAGE_LIMIT) {
    const page = await store.sessions.list({ ...filter, offset, limit: MAX_PAGE_LIMIT });
    for (const summary of page.items) {
      if (summary.gate !== undefined) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      if (items.length >= query.limit) break;
      items.push(summary);
    }
    if (page.items.length === 0) break;
  }
  return { items, total };
}

const time = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

/** `trellis sessions`: the review inbox. */
export const sessionsCommand: Command = {
  name: "sessions",
  summary: "List sessions, those waiting for approval first (the review inbox)",
  help: HELP,
  async run(args, io) {
    const { values } = parseCommandArgs(args, {
      command: "sessions",
      positionals: [],
      options: {
        status: { type: "string" },
        waiting: { type: "boolean", default: false },
        graph: { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        store: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const status = values.status as CheckpointStatus | undefined;
    if (status !== undefined && !CHECKPOINT_STATUSES.includes(status)) {
      throw new UsageError(
        "sessions",
        `Expected \`--status\` to be one of ${CHECKPOINT_STATUSES.join(", ")}, got ${JSON.stringify(status)}`,
      );
    }
    const limit =
      integerOption("sessions", "limit", values.limit, { min: 1, max: MAX_PAGE_LIMIT }) ?? 50;
    const offset = integerOption("sessions", "offset", values.offset, { min: 0 }) ?? 0;
    const context = await openContext({
      store: values.store,
      command: "sessions",
      logger: cliLogger(io),
    });
    try {
      const page = await inbox(context.store, {
        ...(status === undefined ? {} : { status }),
        ...(values.graph === undefined ? {} : { graph: values.graph }),
        waiting: values.waiting === true,
        offset,
        limit,
      });
      if (values.json) {
        io.out(jsonLine({ ...page, offset, limit }));
        return 0;
      }
      if (page.items.length === 0) {
        io.out(
          page.total === 0
            ? `No sessions in ${context.storeLabel}.`
            : `No sessions at offset ${offset} (${page.total} in all).`,
        );
        return 0;
      }
      const rows = page.items.map((s) => [
        s.sessionId,
        s.gate === undefined ? s.status : "waiting",
        s.graph,
        s.gate === undefined ? "" : `${s.gate.node} (revision ${s.gate.revision})`,
        time(s.updatedAt),
      ]);
      const header = ["SESSION", "STATUS", "GRAPH", "APPROVAL", "UPDATED"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) {
        io.out(
          row
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join("  ")
            .trimEnd(),
        );
      }
      io.out(`\n${offset + 1}–${offset + page.items.length} of ${page.total}`);
      return 0;
    } finally {
      await context.close();
    }
  },
};
