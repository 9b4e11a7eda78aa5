/**
 * The graph the cross-process engine cases run, in the test and in its child processes alike:
 * START → draft → review → publish → END. Every node execution is appended, as it starts, to
 * a log file all processes share (`pid node session`), so executions are counted across
 * processes, one killed mid-node included. `hang` makes a node announce itself and then wait
 * until the run is cancelled (or the process killed); `slowMs` makes `publish` take that long.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { z } from "zod";
import {
  END,
  Graph,
  GraphAgent,
  type InterruptConfig,
  InterruptService,
  type NodeContext,
  START,
  type Store,
  silentLogger,
} from "../../../src/index.js";

export const ProcessState = z.object({
  log: z.array(z.string()).default([]),
  when: z.coerce.date().default(() => new Date(0)),
});
export type ProcessState = z.output<typeof ProcessState>;

/** How a process runs the graph. */
export interface ProcessConfig {
  /** The shared execution log. */
  readonly log: string;
  /** `none`: no gate; `suspend`: a gate on review that suspends; `timed`: one that waits. */
  readonly gate: "none" | "suspend" | "timed";
  readonly leaseTtlMs: number;
  /** A node that starts and then never finishes by itself. */
  readonly hang?: string;
  /** How long `publish` takes, in real milliseconds. */
  readonly slowMs?: number;
}

export const WHEN = new Date(1_700_000_000_123);

function interruptConfig(gate: ProcessConfig["gate"]): InterruptConfig {
  if (gate === "none") return {};
  return { approvals: { review: gate === "timed" ? { timeoutMs: 600_000 } : {} } };
}

export function processAgent(
  store: Store,
  config: ProcessConfig,
  onHang: (node: string) => void = () => {},
) {
  const node = (name: string) => async (state: Readonly<ProcessState>, ctx: NodeContext) => {
    appendFileSync(config.log, `${process.pid} ${name} ${ctx.sessionId}\n`);
    if (config.hang === name) {
      onHang(name);
      await new Promise((_resolve, reject) => {
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
      });
    }
    if (name === "publish" && config.slowMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, config.slowMs));
    }
    const update: Partial<ProcessState> = { log: [name] };
    if (name === "draft") update.when = WHEN;
    else if (!(state.when instanceof Date) || state.when.getTime() !== WHEN.getTime()) {
      throw new Error(`${name} got \`when\` = ${String(state.when)}, not the Date draft wrote`);
    }
    return update;
  };
  const graph = new Graph({ state: ProcessState, reducers: { log: "append" }, name: "processes" })
    .addNode("draft", node("draft"))
    .addNode("review", node("review"))
    .addNode("publish", node("publish"))
    .addEdge(START, "draft")
    .addEdge("draft", "review")
    .addEdge("review", "publish")
    .addEdge("publish", END)
    .compile();
  const interrupts = new InterruptService({ store, logger: silentLogger });
  const agent = new GraphAgent({
    graph,
    store,
    interrupts,
    logger: silentLogger,
    leaseTtlMs: config.leaseTtlMs,
    interruptConfig: interruptConfig(config.gate),
  });
  return { agent, interrupts };
}

/** Executions per node of `session`, and which processes ran them, from the shared log. */
export function executions(log: string, session: string): Record<string, string[]> {
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch {
    return {};
  }
  const out: Record<string, string[]> = {};
  for (const line of text.split("\n")) {
    const [pid, node, s] = line.split(" ");
    if (s !== session || node === undefined || pid === undefined) continue;
    out[node] = [...(out[node] ?? []), pid];
  }
  return out;
}
