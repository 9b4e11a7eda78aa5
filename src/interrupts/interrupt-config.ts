import { z } from "zod";
import { MAX_TIMEOUT_MS } from "../clock.js";
import { InvalidOptionError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import type { InterruptReasoner } from "./interrupt-reasoner.js";

/** What happens when an approval gate gets no decision in time, or a revision limit is reached. */
export type GateOutcome = "approve" | "reject";

/** An approval gate: the node's output needs a human decision before the run goes on. */
export interface ApprovalGate {
  /**
   * Wait this long in process for a decision, then apply `onTimeout`. Without it the run
   * suspends (status `paused`) until a decision is sent and `agent.resume()` is called.
   */
  readonly timeoutMs?: number;
  /** Applied when `timeoutMs` passes without a decision. Default `"reject"`. */
  readonly onTimeout?: GateOutcome;
  /** How many `request_changes` rounds are allowed. Default 3. */
  readonly maxRevisions?: number;
  /** Applied when one more `request_changes` would pass `maxRevisions`. Default `"reject"`. */
  readonly onRevisionLimit?: GateOutcome;
  /** On `reject`, go to this node instead of ending the run as `rejected`. */
  readonly onReject?: string;
}

/** Where and how a run listens to its session's interrupt queue. */
export interface InterruptConfig {
  /** Check the queue before each node, after it, or both. Default `"both"`. */
  readonly check?: "before" | "after" | "both";
  /**
   * Check only around these nodes. Default: all nodes. `cancel` is obeyed everywhere at once.
   * A node inside a nested graph is named by its path: the nested node's name, `/`, and the
   * child's node (`review/check`).
   */
  readonly nodes?: readonly string[];
  /**
   * What `pause` does unless the message says: `"suspend"` (default) ends the run as `paused`
   * (it holds no process; `agent.resume()` continues it anywhere), `"wait"` holds it in process.
   */
  readonly pauseMode?: "wait" | "suspend";
  /** How long a `"wait"` pause lasts before `onPauseTimeout`. Default 10 minutes. */
  readonly pauseTimeoutMs?: number;
  /** What a `"wait"` pause that times out becomes: `"suspend"` (default), `"continue"` or `"cancel"`. */
  readonly onPauseTimeout?: "suspend" | "continue" | "cancel";
  /** Approval gates by node name, or by path for a node inside a nested graph (`review/check`). */
  readonly approvals?: Readonly<Record<string, ApprovalGate>>;
  /** Turns free text into actions. Default: the offline `RuleBasedReasoner`. */
  readonly reasoner?: InterruptReasoner;
}

/** `InterruptConfig` with defaults filled in. */
export interface ResolvedInterruptConfig {
  readonly before: boolean;
  readonly after: boolean;
  readonly nodes: ReadonlySet<string> | undefined;
  readonly pauseMode: "wait" | "suspend";
  readonly pauseTimeoutMs: number;
  readonly onPauseTimeout: "suspend" | "continue" | "cancel";
  readonly approvals: ReadonlyMap<
    string,
    Required<Omit<ApprovalGate, "timeoutMs" | "onReject">> &
      Pick<ApprovalGate, "timeoutMs" | "onReject">
  >;
  readonly reasoner: InterruptReasoner;
}

const GateSchema = z
  .object({
    timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
    onTimeout: z.enum(["approve", "reject"]).optional(),
    maxRevisions: z.number().int().min(0).optional(),
    onRevisionLimit: z.enum(["approve", "reject"]).optional(),
    onReject: z.string().min(1).optional(),
  })
  .strict();

const ConfigSchema = z
  .object({
    check: z.enum(["before", "after", "both"]).optional(),
    nodes: z.array(z.string()).optional(),
    pauseMode: z.enum(["wait", "suspend"]).optional(),
    pauseTimeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
    onPauseTimeout: z.enum(["suspend", "continue", "cancel"]).optional(),
    approvals: z.record(z.string(), GateSchema).optional(),
    reasoner: z
      .custom<InterruptReasoner>(
        (v) => typeof (v as InterruptReasoner | undefined)?.decide === "function",
      )
      .optional(),
  })
  .strict();

/**
 * Every node a run of `graph` may reach, by path: its own nodes, and the nodes of the graphs its
 * nested nodes run (`review/check`), at any depth.
 */
export function nodePaths(graph: CompiledGraph<Record<string, unknown>>, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of graph.nodeNames) {
    out.push(prefix + name);
    const child = graph.node(name)?.definition.graph;
    if (child !== undefined) out.push(...nodePaths(child, `${prefix}${name}/`));
  }
  return out;
}

/** Validates an `InterruptConfig` against the graph's nodes (and nested paths) and fills defaults. */
export function resolveInterruptConfig<S extends Record<string, unknown>>(
  config: InterruptConfig,
  graph: CompiledGraph<S>,
  defaultReasoner: () => InterruptReasoner,
): ResolvedInterruptConfig {
  const parsed = ConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidOptionError(
      `interruptConfig.${issue.path.join(".")}`,
      issue.message.toLowerCase(),
      config,
    );
  }
  const nodeNames = nodePaths(graph as unknown as CompiledGraph<Record<string, unknown>>);
  const known = new Set(nodeNames);
  for (const node of [...(config.nodes ?? []), ...Object.keys(config.approvals ?? {})]) {
    if (!known.has(node))
      throw new InvalidOptionError("interruptConfig node", `one of ${nodeNames.join(", ")}`, node);
  }
  const approvals = new Map<
    string,
    ResolvedInterruptConfig["approvals"] extends ReadonlyMap<string, infer G> ? G : never
  >();
  for (const [node, gate] of Object.entries(config.approvals ?? {})) {
    // `onReject` names a node of the gated node's own graph.
    const prefix = node.includes("/") ? node.slice(0, node.lastIndexOf("/") + 1) : "";
    if (gate.onReject !== undefined && !known.has(prefix + gate.onReject)) {
      const siblings = nodeNames
        .filter((n) => n.startsWith(prefix) && !n.slice(prefix.length).includes("/"))
        .map((n) => n.slice(prefix.length));
      throw new InvalidOptionError(
        `interruptConfig.approvals.${node}.onReject`,
        `one of ${siblings.join(", ")}`,
        gate.onReject,
      );
    }
    approvals.set(node, {
      onTimeout: gate.onTimeout ?? "reject",
      maxRevisions: gate.maxRevisions ?? 3,
      onRevisionLimit: gate.onRevisionLimit ?? "reject",
      ...(gate.timeoutMs === undefined ? {} : { timeoutMs: gate.timeoutMs }),
      ...(gate.onReject === undefined ? {} : { onReject: gate.onReject }),
    });
  }
  const check = config.check ?? "both";
  return {
    before: check !== "after",
    after: check !== "before",
    nodes: config.nodes === undefined ? undefined : new Set(config.nodes),
    pauseMode: config.pauseMode ?? "suspend",
    pauseTimeoutMs: config.pauseTimeoutMs ?? 600_000,
    onPauseTimeout: config.onPauseTimeout ?? "suspend",
    approvals,
    reasoner: config.reasoner ?? defaultReasoner(),
  };
}
