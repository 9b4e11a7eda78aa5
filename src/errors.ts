/**
 * Every error Trellis raises, in one place. Each has a stable `code`, an explicit `name`,
 * the value that was received where there is one, and a message that says how to fix it.
 */

/** Base class of every Trellis error. */
export class TrellisError extends Error {
  /** Stable, machine-readable error code, e.g. `GRAPH_INVALID`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = "TrellisError";
  }
}

/** Renders a received value for an error message: `0` (number), `"x"` (string). */
export function describeValue(value: unknown): string {
  if (value === null) return "`null`";
  if (value === undefined) return "`undefined`";
  if (typeof value === "string") return `\`${JSON.stringify(value)}\` (string)`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  return `\`${String(value)}\` (${typeof value})`;
}

/** An option passed to a constructor or method is out of range or of the wrong type. */
export class InvalidOptionError extends TrellisError {
  readonly option: string;
  readonly received: unknown;
  constructor(option: string, expected: string, received: unknown) {
    super(
      "INVALID_OPTION",
      `Expected \`${option}\` to be ${expected}, got ${describeValue(received)}.`,
    );
    this.name = "InvalidOptionError";
    this.option = option;
    this.received = received;
  }
}

/** One structural problem found by `Graph.compile()`. */
export interface GraphProblem {
  readonly code:
    | "UNKNOWN_NODE"
    | "NO_ENTRY"
    | "UNREACHABLE_NODE"
    | "CANNOT_REACH_END"
    | "DUPLICATE_EDGE"
    | "UNCONDITIONAL_CYCLE"
    | "MIXED_EDGES"
    | "DUPLICATE_NODE"
    | "RESERVED_NAME"
    | "UNKNOWN_REDUCER_KEY";
  readonly message: string;
  readonly node?: string;
}

/** `compile()` found structural problems; `problems` lists every one of them. */
export class GraphValidationError extends TrellisError {
  readonly problems: readonly GraphProblem[];
  constructor(graph: string, problems: readonly GraphProblem[]) {
    super(
      "GRAPH_INVALID",
      `Graph \`${graph}\` has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems
        .map((p) => `  - ${p.message}`)
        .join("\n")}`,
    );
    this.name = "GraphValidationError";
    this.problems = problems;
  }
}

/** One issue found when validating a value against the state schema. */
export interface StateIssue {
  readonly path: string;
  readonly message: string;
}

/** Input or an update does not match the state schema. Nothing was applied. */
export class StateValidationError extends TrellisError {
  readonly issues: readonly StateIssue[];
  readonly received: unknown;
  constructor(what: string, issues: readonly StateIssue[], received: unknown) {
    super(
      "STATE_INVALID",
      `${what} does not match the state schema:\n${issues
        .map((i) => `  - ${i.path || "(root)"}: ${i.message}`)
        .join("\n")}\nFix the value or the schema; nothing was applied.`,
    );
    this.name = "StateValidationError";
    this.issues = issues;
    this.received = received;
  }
}

/** A node threw. `cause` is what it threw; `attempts` says how many times it ran. */
export class NodeExecutionError extends TrellisError {
  readonly node: string;
  readonly attempts: number;
  constructor(node: string, attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      "NODE_FAILED",
      `Node \`${node}\` failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${reason}`,
      { cause },
    );
    this.name = "NodeExecutionError";
    this.node = node;
    this.attempts = attempts;
  }
}

/** A node ran past its `timeoutMs`; its `ctx.signal` was aborted with this error. */
export class NodeTimeoutError extends TrellisError {
  readonly node: string;
  readonly timeoutMs: number;
  constructor(node: string, timeoutMs: number) {
    super(
      "NODE_TIMEOUT",
      `Node \`${node}\` did not finish within ${timeoutMs} ms. Raise its \`timeoutMs\` or make it honour \`ctx.signal\`.`,
    );
    this.name = "NodeTimeoutError";
    this.node = node;
    this.timeoutMs = timeoutMs;
  }
}

/** A node finished but there is nowhere to go: no edge matched and it is not a finish node. */
export class NoRouteError extends TrellisError {
  readonly node: string;
  constructor(node: string, detail: string) {
    super(
      "NO_ROUTE",
      `Node \`${node}\` finished but has nowhere to go: ${detail}. Add an edge to END, a fallback to its conditional edges, or mark it with \`{ finish: true }\`.`,
    );
    this.name = "NoRouteError";
    this.node = node;
  }
}

/** A router or `Command.goto` named a node that does not exist. */
export class UnknownNodeError extends TrellisError {
  readonly node: string;
  constructor(node: string, where: string, known: readonly string[]) {
    super(
      "UNKNOWN_NODE",
      `${where} named \`${node}\`, which is not a node of this graph. Known nodes: ${known.join(", ")}.`,
    );
    this.name = "UnknownNodeError";
    this.node = node;
  }
}

/** The run executed `maxIterations` nodes without finishing. */
export class MaxIterationsError extends TrellisError {
  readonly maxIterations: number;
  readonly recentPath: readonly string[];
  constructor(maxIterations: number, recentPath: readonly string[]) {
    super(
      "MAX_ITERATIONS",
      `The run executed ${maxIterations} nodes without reaching END (last steps: ${recentPath.join(" → ")}). Check the loop's exit condition or raise \`maxIterations\`.`,
    );
    this.name = "MaxIterationsError";
    this.maxIterations = maxIterations;
    this.recentPath = recentPath;
  }
}

/** A checkpoint or session that was asked for does not exist in the store. */
export class CheckpointNotFoundError extends TrellisError {
  readonly sessionId: string;
  readonly checkpointId: string | undefined;
  constructor(sessionId: string, checkpointId?: string) {
    super(
      "CHECKPOINT_NOT_FOUND",
      checkpointId === undefined
        ? `Session \`${sessionId}\` has no checkpoint. Run it first with \`agent.run(input, { sessionId })\`.`
        : `Session \`${sessionId}\` has no checkpoint \`${checkpointId}\`. List them with \`agent.history(sessionId)\`.`,
    );
    this.name = "CheckpointNotFoundError";
    this.sessionId = sessionId;
    this.checkpointId = checkpointId;
  }
}

/** The run was aborted through its `signal` (or a `cancel` interrupt). */
export class RunCancelledError extends TrellisError {
  constructor(reason?: unknown) {
    super("RUN_CANCELLED", `The run was cancelled${reason ? `: ${String(reason)}` : ""}.`, {
      cause: reason,
    });
    this.name = "RunCancelledError";
  }
}

/** A session already has a run in progress in this process. */
export class SessionBusyError extends TrellisError {
  readonly sessionId: string;
  constructor(sessionId: string) {
    super(
      "SESSION_BUSY",
      `Session \`${sessionId}\` already has a run in progress. Wait for it, cancel it, or use another session id.`,
    );
    this.name = "SessionBusyError";
    this.sessionId = sessionId;
  }
}
