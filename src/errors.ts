/**
 * Every error Trellis raises, in one place. Each has a stable `code`, an explicit `name`,
 * the value that was received where there is one, and a message that says how to fix it.
 */

/** Every error code Trellis uses: stable and machine-readable. */
export const ERROR_CODES = [
  "INTERNAL",
  "INVALID_OPTION",
  "GRAPH_INVALID",
  "STATE_INVALID",
  "NODE_FAILED",
  "NODE_TIMEOUT",
  "NO_ROUTE",
  "UNKNOWN_NODE",
  "MAX_ITERATIONS",
  "CHECKPOINT_NOT_FOUND",
  "CHECKPOINT_CONFLICT",
  "CHECKPOINT_CORRUPT",
  "CHECKPOINT_WRITE",
  "RUN_CANCELLED",
  "RUN_REJECTED",
  "SESSION_BUSY",
  "SESSION_NOT_FINISHED",
  "SESSION_ENDED",
  "LEASE_LOST",
  "STREAM_CLOSED",
  "HOOK_FAILED",
  "MODEL_OUTPUT_INVALID",
  "MISSING_API_KEY",
  "MODEL_CALL_FAILED",
  "SCRIPT_EXHAUSTED",
  "INTERRUPT_INVALID",
  "INTERRUPT_QUEUE_FULL",
  "INTERRUPT_TOO_MANY_SESSIONS",
  "INTERRUPT_TOO_LONG",
  "INTERRUPT_METADATA_TOO_LARGE",
  "INTERRUPT_CLEARED",
  "INTERRUPT_DUPLICATE",
  "INTERRUPT_NOT_APPLICABLE",
  "INTERRUPT_FAILED",
  "DECISION_STALE",
  "REVISION_LIMIT",
  "RUN_ENDED",
  "REASONER_OUTPUT_INVALID",
  "GO_BACK_TARGET",
  "MERGE_CONFLICT",
  "TELEMETRY_CONFLICT",
  "TIMER_LIMIT",
  "DYNAMIC_SELECTION",
  "BRANCH_TIMEOUT",
  "BRANCH_ABORTED",
  "SIBLING_FAILED",
  "PARALLEL_GROUP_FAILED",
  "NESTED_GRAPH_FAILED",
  "CLI_INPUT",
  "AGENT_MODULE_INVALID",
  "HTTP_UNAUTHORIZED",
  "HTTP_FORBIDDEN",
  "HTTP_NOT_FOUND",
  "HTTP_BAD_REQUEST",
  "HTTP_BODY_TOO_LARGE",
  "HTTP_INSECURE_LISTEN",
  "HTTP_UNAVAILABLE",
  "DEPENDENCY_MISSING",
  "STORE_UNAVAILABLE",
  "STORE_LOCKED",
  "STORE_VERSION",
  "STORE_CORRUPT",
  "STATE_NOT_JSON",
  "STATE_TOO_DEEP",
  "STATE_SCHEMA_INVALID",
  "NODE_RESULT_INVALID",
  "CLI_USAGE",
] as const;

/** A stable, machine-readable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base class of every Trellis error. */
export class TrellisError extends Error {
  /** Stable, machine-readable error code, e.g. `GRAPH_INVALID`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = "TrellisError";
  }
}

/** An error as it is persisted and sent between processes. */
export interface SerializedTrellisError {
  readonly code: string;
  readonly name: string;
  readonly message: string;
}

/** The persisted form of an error: a Trellis error's code, else `INTERNAL`. */
export function serializeError(error: unknown): SerializedTrellisError {
  if (error instanceof TrellisError) {
    return { code: error.code, name: error.name, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : "Error";
  return { code: "INTERNAL", name, message };
}

/**
 * An error read back from a store or another process: a `TrellisError` with the same `code`,
 * `name` and `message` (not the same class: compare `code`, not `instanceof`, across processes).
 */
export function reviveError(stored: SerializedTrellisError): TrellisError {
  const code = (ERROR_CODES as readonly string[]).includes(stored.code)
    ? (stored.code as ErrorCode)
    : "INTERNAL";
  const error = new TrellisError(code, stored.message);
  error.name = stored.name;
  return error;
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
    | "UNKNOWN_REDUCER_KEY"
    | "INVALID_WAITING_EDGE";
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
  /** The known node whose name is closest to `node`, when one is close. */
  readonly suggestion: string | undefined;
  constructor(node: string, where: string, known: readonly string[], suggestion?: string) {
    super(
      "UNKNOWN_NODE",
      `${where} named \`${node}\`, which is not a node of this graph.${suggestion === undefined ? "" : ` Did you mean \`${suggestion}\`?`} Return one of the known nodes or END. Known nodes: ${known.join(", ")}.`,
    );
    this.suggestion = suggestion;
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

/**
 * Another run holds the session's lease (in this process or another one): one writer per
 * session. Nothing was written.
 */
export class SessionBusyError extends TrellisError {
  readonly sessionId: string;
  /** Who holds the session, when known. */
  readonly owner: string | undefined;
  /** When the holder's lease runs out unless renewed (milliseconds since the epoch). */
  readonly expiresAt: number | undefined;
  constructor(sessionId: string, holder?: { readonly owner: string; readonly expiresAt: number }) {
    super(
      "SESSION_BUSY",
      `Session \`${sessionId}\` is being run${holder ? ` by \`${holder.owner}\` (lease until ${new Date(holder.expiresAt).toISOString()})` : ""}. Wait for that run to end, cancel it, or use another session id.`,
    );
    this.name = "SessionBusyError";
    this.sessionId = sessionId;
    this.owner = holder?.owner;
    this.expiresAt = holder?.expiresAt;
  }
}

/** Why a model's answer could not be used. */
export type ModelOutputProblem = "empty" | "invalid_json" | "schema_mismatch";

/**
 * A model's answer could not be used: it was empty, not JSON, or did not match the schema of
 * the request. `text` holds the raw answer so it can be logged or shown to the model again.
 */
export class ModelOutputError extends TrellisError {
  /** The model that answered. */
  readonly model: string;
  /** What was wrong with the answer. */
  readonly problem: ModelOutputProblem;
  /** The raw text the model returned. */
  readonly text: string;
  /** Schema issues (`path: message`) when `problem` is `schema_mismatch`. */
  readonly issues: readonly string[];
  constructor(
    model: string,
    problem: ModelOutputProblem,
    text: string,
    detail: string,
    issues: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    super(
      "MODEL_OUTPUT_INVALID",
      `Model \`${model}\` returned output that ${detail}; got ${describeValue(shown)}. Ask for JSON that matches the schema in the prompt, loosen the schema, or catch ModelOutputError and retry.`,
      options,
    );
    this.name = "ModelOutputError";
    this.model = model;
    this.problem = problem;
    this.text = text;
    this.issues = issues;
  }
}

/** A model adapter needs an API key and none was given or found in the environment. */
export class MissingApiKeyError extends TrellisError {
  /** The provider that needs the key, e.g. `gemini`. */
  readonly provider: string;
  /** The environment variable that was read. */
  readonly envVar: string;
  constructor(provider: string, envVar: string, received: unknown) {
    super(
      "MISSING_API_KEY",
      `The ${provider} model needs an API key, got ${describeValue(received)}. Pass \`apiKey\` in the options, set the ${envVar} environment variable, or use ScriptedModel to run offline.`,
    );
    this.name = "MissingApiKeyError";
    this.provider = provider;
    this.envVar = envVar;
  }
}

/** Calling a model failed (network, quota, unknown model, …). `cause` is the provider's error. */
export class ModelCallError extends TrellisError {
  /** The provider that was called, e.g. `gemini`. */
  readonly provider: string;
  /** The model that was asked. */
  readonly model: string;
  constructor(provider: string, model: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      "MODEL_CALL_FAILED",
      `Calling ${provider} model \`${model}\` failed: ${reason}. Check the API key, the model name and network access; the provider's error is in \`cause\`.`,
      { cause },
    );
    this.name = "ModelCallError";
    this.provider = provider;
    this.model = model;
  }
}

/** A `ScriptedModel` was called more times than it has scripted answers. */
export class ScriptExhaustedError extends TrellisError {
  /** The scripted model's name. */
  readonly model: string;
  /** How many answers were scripted. */
  readonly scripted: number;
  /** The request that found no answer. */
  readonly received: unknown;
  constructor(model: string, scripted: number, received: unknown) {
    super(
      "SCRIPT_EXHAUSTED",
      `ScriptedModel \`${model}\` was called ${scripted + 1} times but has ${scripted} scripted answer${scripted === 1 ? "" : "s"}. Add answers to \`responses\`, or pass a function \`(request, callIndex) => answer\`.`,
    );
    this.name = "ScriptExhaustedError";
    this.model = model;
    this.scripted = scripted;
    this.received = received;
  }
}

/** A hook passed to `GraphAgent` (`beforeNode`, `afterNode`, `onEdge`) threw; the run failed. */
export class HookError extends TrellisError {
  readonly hook: string;
  constructor(hook: string, cause: unknown) {
    super(
      "HOOK_FAILED",
      `The \`${hook}\` hook threw: ${cause instanceof Error ? cause.message : String(cause)}. Hooks must not throw; catch inside the hook.`,
      { cause },
    );
    this.name = "HookError";
    this.hook = hook;
  }
}

/**
 * What was sent as an interrupt is not an action Trellis knows, or its fields are wrong.
 * Nothing was queued. `validTypes` lists the action types that are accepted.
 */
export class InvalidInterruptError extends TrellisError {
  readonly sessionId: string;
  readonly received: unknown;
  /** One line per problem, `path: message`. */
  readonly issues: readonly string[];
  readonly validTypes: readonly string[];
  constructor(
    sessionId: string,
    problem: string,
    received: unknown,
    issues: readonly string[],
    validTypes: readonly string[],
  ) {
    super(
      "INTERRUPT_INVALID",
      `Interrupt for session \`${sessionId}\` ${problem}, got ${describeValue(received)}.${issues.map((i) => `\n  - ${i}`).join("")}\nSend an action \`{ type: … }\` with one of the types ${validTypes.join(", ")}, or a non-empty string of free text. Nothing was queued.`,
    );
    this.name = "InvalidInterruptError";
    this.sessionId = sessionId;
    this.received = received;
    this.issues = issues;
    this.validTypes = validTypes;
  }
}

/** A session's interrupt queue holds `maxQueueSize` messages; this one was not queued. */
export class QueueFullError extends TrellisError {
  readonly sessionId: string;
  readonly maxQueueSize: number;
  constructor(sessionId: string, maxQueueSize: number) {
    super(
      "INTERRUPT_QUEUE_FULL",
      `The interrupt queue of session \`${sessionId}\` is full (${maxQueueSize} messages waiting); this message was not queued. Wait for the run to take some, clear the queue, or raise \`limits.maxQueueSize\`.`,
    );
    this.name = "QueueFullError";
    this.sessionId = sessionId;
    this.maxQueueSize = maxQueueSize;
  }
}

/** `maxSessions` sessions already have queued interrupts; a message for a new one was refused. */
export class TooManySessionsError extends TrellisError {
  readonly sessionId: string;
  readonly maxSessions: number;
  constructor(sessionId: string, maxSessions: number) {
    super(
      "INTERRUPT_TOO_MANY_SESSIONS",
      `${maxSessions} sessions already have queued interrupts, so a message for session \`${sessionId}\` was not queued. Run or clear waiting sessions, lower \`limits.messageTtlMs\`, or raise \`limits.maxSessions\`.`,
    );
    this.name = "TooManySessionsError";
    this.sessionId = sessionId;
    this.maxSessions = maxSessions;
  }
}

/** An interrupt's text (free text, or a text field of an action) is longer than allowed. */
export class MessageTooLongError extends TrellisError {
  readonly sessionId: string;
  /** Which text: `text`, `guidance`, `feedback`, `reason` or `comment`. */
  readonly field: string;
  readonly length: number;
  readonly maxLength: number;
  constructor(sessionId: string, field: string, length: number, maxLength: number) {
    super(
      "INTERRUPT_TOO_LONG",
      `Interrupt \`${field}\` for session \`${sessionId}\` is ${length} characters, more than the ${maxLength} allowed; it was not queued. Shorten it or raise \`limits.maxMessageLength\`.`,
    );
    this.name = "MessageTooLongError";
    this.sessionId = sessionId;
    this.field = field;
    this.length = length;
    this.maxLength = maxLength;
  }
}

/** An interrupt's `metadata`, as JSON, is larger than allowed. */
export class MetadataTooLargeError extends TrellisError {
  readonly sessionId: string;
  /** Size of the metadata as UTF-8 JSON. */
  readonly bytes: number;
  readonly maxBytes: number;
  constructor(sessionId: string, bytes: number, maxBytes: number) {
    super(
      "INTERRUPT_METADATA_TOO_LARGE",
      `Interrupt metadata for session \`${sessionId}\` is ${bytes} bytes of JSON, more than the ${maxBytes} allowed; the message was not queued. Send less metadata (store large data elsewhere and pass a reference) or raise \`limits.maxMetadataBytes\`.`,
    );
    this.name = "MetadataTooLargeError";
    this.sessionId = sessionId;
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/** A queued interrupt was removed before a run took it: its queue was cleared or its session deleted. */
export class InterruptClearedError extends TrellisError {
  readonly id: string;
  readonly sessionId: string;
  readonly reason: "cleared" | "deleted";
  constructor(id: string, sessionId: string, reason: "cleared" | "deleted") {
    super(
      "INTERRUPT_CLEARED",
      `Interrupt \`${id}\` was removed unapplied because session \`${sessionId}\` was ${reason === "cleared" ? "cleared" : "deleted"}. Send it again if it still applies.`,
    );
    this.name = "InterruptClearedError";
    this.id = id;
    this.sessionId = sessionId;
    this.reason = reason;
  }
}

/** An interrupt store was asked to queue a message whose id it already holds. */
export class DuplicateInterruptError extends TrellisError {
  readonly id: string;
  constructor(id: string) {
    super(
      "INTERRUPT_DUPLICATE",
      `An interrupt with id \`${id}\` is already queued or in flight. Give every message a new id (InterruptService uses random UUIDs).`,
    );
    this.name = "DuplicateInterruptError";
    this.id = id;
  }
}

/** Renders a conflicting value: a short JSON preview for objects and arrays. */
function previewValue(value: unknown): string {
  if (typeof value !== "object" || value === null) return describeValue(value);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) return describeValue(value);
  return `\`${json.length > 60 ? `${json.slice(0, 57)}...` : json}\``;
}

/**
 * Parallel branches changed the same state path to different values and the merge policy is
 * `"error"` (the default). `values[i]` is what branch `branches[i]` left at `path`
 * (`undefined` when it deleted it); `base` is the value at the fork.
 */
export class MergeConflictError extends TrellisError {
  /** The dotted path both branches changed, e.g. `profile.name`. */
  readonly path: string;
  /** The branches that changed it, in declaration order. */
  readonly branches: readonly string[];
  /** What each branch left at `path`, in the order of `branches`. */
  readonly values: readonly unknown[];
  /** The value at `path` when the branches forked. */
  readonly base: unknown;
  constructor(conflict: {
    readonly path: string;
    readonly branches: readonly string[];
    readonly values: readonly unknown[];
    readonly base: unknown;
  }) {
    const { path, branches, values, base } = conflict;
    const key = path.split(".")[0] ?? path;
    super(
      "MERGE_CONFLICT",
      `Parallel branches ${branches.map((b) => `\`${b}\``).join(", ")} changed \`${path}\` to different values: ${branches
        .map((b, i) => `\`${b}\` → ${previewValue(values[i])}`)
        .join(
          ", ",
        )} (it was ${previewValue(base)} at the fork). Make the branches write to different paths, give \`${key}\` a reducer that combines updates (\`append\`, \`merge\`, \`sum\` or a function), or pass a conflict policy: \`"first"\`, \`"last"\` or a resolver function.`,
    );
    this.name = "MergeConflictError";
    this.path = path;
    this.branches = branches;
    this.values = values;
    this.base = base;
  }
}

/**
 * `setupTelemetry()` found a tracer provider that it did not register already installed as the
 * global one; registering a second one would be ignored by OpenTelemetry without a word.
 */
export class TelemetryConflictError extends TrellisError {
  constructor() {
    super(
      "TELEMETRY_CONFLICT",
      "Another OpenTelemetry tracer provider is already registered globally. Trellis only uses `@opentelemetry/api`, so its spans already go to that provider: drop the call to `setupTelemetry()`, or call `trace.disable()` from `@opentelemetry/api` before it to replace the provider.",
    );
    this.name = "TelemetryConflictError";
  }
}

/** `SimulatedClock.runAll()` fired `limit` timers and more kept coming: a loop that never ends. */
export class TimerLimitError extends TrellisError {
  /** How many timers fired before giving up. */
  readonly limit: number;
  constructor(limit: number) {
    super(
      "TIMER_LIMIT",
      `SimulatedClock.runAll() fired ${limit} timers and more keep being scheduled; the code under test probably sleeps in a loop that never ends. Move time by a bounded amount with \`advance(ms)\`, or raise \`limit\`.`,
    );
    this.name = "TimerLimitError";
    this.limit = limit;
  }
}

/** An interrupt cannot be applied where the run stands (e.g. `approve` outside an approval gate). */
export class InterruptNotApplicableError extends TrellisError {
  readonly action: string;
  constructor(action: string, detail: string) {
    super("INTERRUPT_NOT_APPLICABLE", `\`${action}\` cannot be applied now: ${detail}.`);
    this.name = "InterruptNotApplicableError";
    this.action = action;
  }
}

/** `go_back` (or `rerun`) named a node that is not on the run's path, or more steps than it has. */
export class GoBackTargetError extends TrellisError {
  readonly target: string | number;
  constructor(target: string | number, path: readonly string[]) {
    super(
      "GO_BACK_TARGET",
      typeof target === "number"
        ? `Cannot go back ${target} step${target === 1 ? "" : "s"}: the path has ${path.length}. Use a number from 1 to ${path.length}.`
        : `Cannot go back to \`${target}\`: it has not run on this path (${path.join(" → ") || "nothing has run yet"}). Name a node from the path.`,
    );
    this.name = "GoBackTargetError";
    this.target = target;
  }
}

/** The run was rejected at an approval gate and no `onReject` edge was configured. */
export class RunRejectedError extends TrellisError {
  readonly node: string;
  constructor(node: string, reason: string | undefined) {
    super("RUN_REJECTED", `The output of \`${node}\` was rejected${reason ? `: ${reason}` : ""}.`);
    this.name = "RunRejectedError";
    this.node = node;
  }
}

/** A `dynamicNode` chose an option it does not have, and it has no `fallback`. */
export class DynamicSelectionError extends TrellisError {
  readonly node: string;
  /** What `select` returned. */
  readonly received: unknown;
  /** The option keys the node has. */
  readonly options: readonly string[];
  constructor(node: string, received: unknown, options: readonly string[]) {
    super(
      "DYNAMIC_SELECTION",
      `Dynamic node \`${node}\` selected ${describeValue(received)}, which is not one of its options: ${options
        .map((o) => `\`${o}\``)
        .join(
          ", ",
        )}. Return one of these keys from \`select\`, or give the node a \`fallback\` option.`,
    );
    this.name = "DynamicSelectionError";
    this.node = node;
    this.received = received;
    this.options = options;
  }
}

/** A branch of a parallel group ran past the group's `branchTimeoutMs`; its signal was aborted with this. */
export class BranchTimeoutError extends TrellisError {
  readonly group: string;
  readonly branch: string;
  readonly timeoutMs: number;
  constructor(group: string, branch: string, timeoutMs: number) {
    super(
      "BRANCH_TIMEOUT",
      `Branch \`${branch}\` of parallel group \`${group}\` did not finish within ${timeoutMs} ms. Raise \`branchTimeoutMs\` or make the branch honour \`ctx.signal\`.`,
    );
    this.name = "BranchTimeoutError";
    this.group = group;
    this.branch = branch;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A branch of a parallel group was stopped by the group itself: the join had enough results
 * (`"join"`), another branch failed under `errors: "fail-fast"` (`"fail-fast"`), or so many
 * branches failed that a `{ n }` join can no longer be reached (`"unreachable"`). Its
 * `ctx.signal` is aborted with this error.
 */
export class BranchAbortedError extends TrellisError {
  readonly group: string;
  readonly branch: string;
  readonly reason: "join" | "fail-fast" | "unreachable";
  constructor(group: string, branch: string, reason: "join" | "fail-fast" | "unreachable") {
    super(
      "BRANCH_ABORTED",
      `Branch \`${branch}\` of parallel group \`${group}\` was stopped: ${
        reason === "join"
          ? "the group's join already had enough results."
          : reason === "fail-fast"
            ? 'another branch failed and the group\'s error policy is `"fail-fast"`.'
            : "too many branches failed for the group's join to be reached."
      }`,
    );
    this.name = "BranchAbortedError";
    this.group = group;
    this.branch = branch;
    this.reason = reason;
  }
}

/** One failed branch of a parallel group. */
export interface BranchFailure {
  readonly branch: string;
  readonly error: unknown;
}

/**
 * A parallel group could not produce a result: a branch failed under `"fail-fast"`, every
 * branch failed under `"collect"`, or too few succeeded for the join. `failures` holds every
 * branch error, in declaration order.
 */
export class ParallelGroupError extends TrellisError {
  readonly group: string;
  readonly failures: readonly BranchFailure[];
  constructor(group: string, failures: readonly BranchFailure[], detail: string) {
    const list = failures
      .map(
        (f) =>
          `  - \`${f.branch}\`: ${f.error instanceof Error ? f.error.message : String(f.error)}`,
      )
      .join("\n");
    super(
      "PARALLEL_GROUP_FAILED",
      `Parallel group \`${group}\` failed: ${detail}.${list ? `\n${list}` : ""}\nFix the failing branches, or choose another \`errors\` policy (\`"continue"\` drops failed branches, \`"collect"\` records them) or a smaller \`join\`.`,
      { cause: failures[0]?.error },
    );
    this.name = "ParallelGroupError";
    this.group = group;
    this.failures = failures;
  }
}

/** A nested graph's run ended `failed`, `cancelled` or `rejected`; `cause` is the child run's error. */
export class NestedGraphError extends TrellisError {
  readonly node: string;
  readonly graph: string;
  readonly status: string;
  constructor(node: string, graph: string, status: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      "NESTED_GRAPH_FAILED",
      `Nested graph \`${graph}\` (node \`${node}\`) ended \`${status}\`: ${reason}`,
      { cause },
    );
    this.name = "NestedGraphError";
    this.node = node;
    this.graph = graph;
    this.status = status;
  }
}

/**
 * `run()` was called for a session whose last run did not finish: it is paused, waits at an
 * approval gate, or stopped in the middle (a crash). Starting over would silently drop it.
 */
export class SessionNotFinishedError extends TrellisError {
  readonly sessionId: string;
  readonly status: string;
  constructor(sessionId: string, status: string, gate: string | undefined) {
    super(
      "SESSION_NOT_FINISHED",
      `Session \`${sessionId}\` has a run that did not finish (${gate === undefined ? `status \`${status}\`` : `waiting for approval at \`${gate}\``}). Continue it with \`agent.resume("${sessionId}")\`, branch off with \`agent.fork()\`, or pass \`{ startOver: true }\` to \`run()\` to start a new run in this session.`,
    );
    this.name = "SessionNotFinishedError";
    this.sessionId = sessionId;
    this.status = status;
  }
}

/** `resume()` was called for a session whose run ended for good: `completed` or `rejected`. */
export class SessionEndedError extends TrellisError {
  readonly sessionId: string;
  readonly status: "completed" | "rejected";
  constructor(sessionId: string, status: "completed" | "rejected", detail: string) {
    super(
      "SESSION_ENDED",
      `Session \`${sessionId}\` ended \`${status}\`${detail}, so it cannot be resumed. To go on deliberately, fork it from one of its checkpoints: \`agent.fork("${sessionId}", checkpointId)\` (listed by \`agent.history()\`); the fork is recorded in the audit trail.`,
    );
    this.name = "SessionEndedError";
    this.sessionId = sessionId;
    this.status = status;
  }
}

/**
 * The run lost its session's lease (it expired and another process took the session over), so
 * its writes were refused. Nothing of the refused batch was written; the new holder continues.
 */
export class LeaseLostError extends TrellisError {
  readonly sessionId: string;
  constructor(sessionId: string) {
    super(
      "LEASE_LOST",
      `The run of session \`${sessionId}\` lost its lease (it expired and another run took the session over); its last writes were refused. Raise \`leaseTtlMs\` if nodes block the event loop longer than the lease.`,
    );
    this.name = "LeaseLostError";
    this.sessionId = sessionId;
  }
}

/** A checkpoint with the same id or sequence number is already stored: two writers raced. */
export class CheckpointConflictError extends TrellisError {
  readonly sessionId: string;
  readonly thread: string;
  readonly checkpointId: string;
  constructor(sessionId: string, thread: string, checkpointId: string, seq: number) {
    super(
      "CHECKPOINT_CONFLICT",
      `Checkpoint \`${checkpointId}\` (seq ${seq}) of session \`${sessionId}\`${thread === "" ? "" : ` (thread \`${thread}\`)`} conflicts with one already stored; nothing of the batch was written. Another writer may be using this session without its lease.`,
    );
    this.name = "CheckpointConflictError";
    this.sessionId = sessionId;
    this.thread = thread;
    this.checkpointId = checkpointId;
  }
}

/**
 * Why a stored checkpoint cannot be read. `invalid_json` also covers a row the store could not
 * read whole for another column (an unknown kind or status): the store's `problem` names it.
 */
export type CheckpointCorruption =
  | "broken_chain"
  | "invalid_json"
  | "invalid_meta"
  | "newer_version"
  | "invalid_state"
  | "unknown_node";

/**
 * A stored checkpoint cannot be read: its delta chain is broken, its JSON or meta is invalid,
 * it was written by a newer version, its state no longer fits the graph's schema, or it names a
 * node the graph no longer has.
 */
export class CheckpointCorruptError extends TrellisError {
  readonly sessionId: string;
  readonly checkpointId: string;
  readonly reason: CheckpointCorruption;
  constructor(
    sessionId: string,
    checkpointId: string,
    reason: CheckpointCorruption,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      "CHECKPOINT_CORRUPT",
      `Checkpoint \`${checkpointId}\` of session \`${sessionId}\` cannot be read: ${detail}. Resume or fork from an earlier checkpoint (\`agent.history()\` lists them and marks unreadable ones).`,
      options,
    );
    this.name = "CheckpointCorruptError";
    this.sessionId = sessionId;
    this.checkpointId = checkpointId;
    this.reason = reason;
  }
}

/**
 * A gate decision that is not for the request waiting now: it names another request, or it
 * names none and was sent before this request was made (it was meant for an earlier one).
 */
export class StaleDecisionError extends TrellisError {
  readonly action: string;
  readonly requestId: string;
  constructor(action: string, requestId: string, revision: number, detail: string) {
    super(
      "DECISION_STALE",
      `\`${action}\` is not for the approval request waiting now (\`${requestId}\`, revision ${revision}): ${detail}. Read the request and send the decision again, naming \`requestId: "${requestId}"\`.`,
    );
    this.name = "StaleDecisionError";
    this.action = action;
    this.requestId = requestId;
  }
}

/** `request_changes` would pass the gate's `maxRevisions`; the gate's `onRevisionLimit` applies instead. */
export class RevisionLimitError extends TrellisError {
  readonly node: string;
  readonly maxRevisions: number;
  constructor(node: string, maxRevisions: number, outcome: string) {
    super(
      "REVISION_LIMIT",
      `\`request_changes\` at \`${node}\` was refused: the gate allows ${maxRevisions} revision${maxRevisions === 1 ? "" : "s"} and all were used, so its \`onRevisionLimit\` (\`${outcome}\`) applied instead. Raise \`maxRevisions\` to allow more rounds.`,
    );
    this.name = "RevisionLimitError";
    this.node = node;
    this.maxRevisions = maxRevisions;
  }
}

/** A message reached a run that had already ended; it had no effect. */
export class RunEndedError extends TrellisError {
  readonly status: string;
  constructor(action: string, status: string) {
    super(
      "RUN_ENDED",
      `\`${action}\` came too late: the run had already ended \`${status}\`, so it had no effect.`,
    );
    this.name = "RunEndedError";
    this.status = status;
  }
}

/** A reasoner returned something that is not a valid decision; the message was refused. */
export class ReasonerOutputError extends TrellisError {
  readonly received: unknown;
  readonly issues: readonly string[];
  constructor(received: unknown, issues: readonly string[]) {
    super(
      "REASONER_OUTPUT_INVALID",
      `The interrupt reasoner returned an invalid decision, got ${describeValue(received)}:${issues.map((i) => `\n  - ${i}`).join("")}\nAn InterruptReasoner must return \`{ decision: { action, reasoning, confidence }, source }\` with an action from \`context.allowedActions\`; the message was refused.`,
    );
    this.name = "ReasonerOutputError";
    this.received = received;
    this.issues = issues;
  }
}

/** A node of a parallel step was stopped because another node of the step failed. */
export class SiblingFailedError extends TrellisError {
  readonly node: string;
  readonly failed: string;
  constructor(node: string, failed: string) {
    super(
      "SIBLING_FAILED",
      `Node \`${node}\` was stopped: \`${failed}\`, which ran in the same parallel step, failed.`,
    );
    this.name = "SiblingFailedError";
    this.node = node;
    this.failed = failed;
  }
}

/**
 * The store cannot be reached (a dropped database connection, a closed store). Nothing of the
 * operation that failed was written; retry once the store is back.
 */
export class StoreUnavailableError extends TrellisError {
  readonly store: string;
  constructor(store: string, detail: string, options?: { cause?: unknown }) {
    super(
      "STORE_UNAVAILABLE",
      `The ${store} store is unavailable: ${detail}. Nothing of the failed operation was written; the session can be resumed once the store is back.`,
      options,
    );
    this.name = "StoreUnavailableError";
    this.store = store;
  }
}

/** The database is locked by another process for longer than the store waits. */
export class StoreLockedError extends TrellisError {
  readonly store: string;
  constructor(store: string, detail: string, options?: { cause?: unknown }) {
    super(
      "STORE_LOCKED",
      `The ${store} store is locked: ${detail}. Another process holds a write lock; nothing was written. Retry, or raise the store's \`busyTimeoutMs\`.`,
      options,
    );
    this.name = "StoreLockedError";
    this.store = store;
  }
}

/** The database was written by a newer version of Trellis (a schema version this one does not know). */
export class StoreVersionError extends TrellisError {
  readonly found: number;
  readonly supported: number;
  constructor(store: string, found: number, supported: number) {
    super(
      "STORE_VERSION",
      `The ${store} database has schema version ${found}, newer than the ${supported} this version of Trellis knows. Upgrade Trellis to open it; nothing was changed.`,
    );
    this.name = "StoreVersionError";
    this.found = found;
    this.supported = supported;
  }
}

/** A stored row cannot be read (invalid JSON, a missing column value, a wrong type). */
export class StoreCorruptError extends TrellisError {
  readonly store: string;
  constructor(store: string, detail: string, options?: { cause?: unknown }) {
    super(
      "STORE_CORRUPT",
      `The ${store} store holds a row that cannot be read: ${detail}. Restore the database from a backup or delete the session.`,
      options,
    );
    this.name = "StoreCorruptError";
    this.store = store;
  }
}

/** Whether `error` or one of its causes (followed 16 deep at most) passes `test`. */
export function someCause(error: unknown, test: (cause: Error) => boolean): boolean {
  let cause = error;
  for (let depth = 0; depth < 16 && cause instanceof Error; depth++) {
    if (test(cause)) return true;
    cause = cause.cause;
  }
  return false;
}

/**
 * Whether `error` says the store or the session's lease gave way: the store unreachable or
 * locked, the lease lost, a checkpoint in conflict with another writer's. A fault of where the
 * run is kept, not of what it was asked to do.
 */
export function isStoreFault(error: Error): boolean {
  return (
    error instanceof StoreUnavailableError ||
    error instanceof StoreLockedError ||
    error instanceof LeaseLostError ||
    error instanceof CheckpointConflictError
  );
}

/** Whether `error`, or one of its causes, is a store fault (see {@link isStoreFault}). */
export function causedByStore(error: unknown): boolean {
  return someCause(error, isStoreFault);
}

/**
 * A feature needs an optional peer dependency that is not installed: `@google/genai` for
 * `GeminiModel`, the OpenTelemetry SDK for `setupTelemetry()`, `tsx` for running `.ts` agent
 * files from the CLI. The message gives the command that installs it.
 */
export class MissingDependencyError extends TrellisError {
  /** What needed the package, e.g. `GeminiModel`. */
  readonly feature: string;
  /** The package that could not be found, e.g. `@google/genai`. */
  readonly dependency: string;
  /** Every package to install for the feature, `dependency` first. */
  readonly install: readonly string[];
  /**
   * @param options.install - Every package the feature uses, when it needs more than the
   * missing one; they all go into the install command.
   */
  constructor(
    feature: string,
    dependency: string,
    options: { readonly install?: readonly string[]; readonly cause?: unknown } = {},
  ) {
    const install = [dependency, ...(options.install ?? []).filter((name) => name !== dependency)];
    const how =
      install.length === 1
        ? `Install it: npm install ${dependency}`
        : `Install it with the other packages \`${feature}\` uses: npm install ${install.join(" ")}`;
    super(
      "DEPENDENCY_MISSING",
      `\`${feature}\` needs the optional package \`${dependency}\`. ${how}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "MissingDependencyError";
    this.feature = feature;
    this.dependency = dependency;
    this.install = install;
  }
}

/**
 * Names what a value is for an error message, like {@link describeValue}, but names objects
 * that are not plain data by their constructor: a `Map`, a `Set`, a `Date`, an instance of
 * `Invoice`.
 */
export function describeType(value: unknown): string {
  if (typeof value === "bigint") return `\`${String(value)}n\` (bigint)`;
  if (typeof value === "symbol") return `\`${String(value)}\` (symbol)`;
  if (typeof value === "function") {
    return value.name ? `a function (\`${value.name}\`)` : "a function";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return describeValue(value);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return "an object";
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name !== "string" || name === "") return "an object with a custom prototype";
  if (name === "Map" || name === "Set" || name === "Date" || name === "WeakMap") {
    return `a \`${name}\``;
  }
  return `an instance of \`${name}\``;
}

/**
 * A value in the state is not JSON data, so no checkpoint could keep it: a `BigInt`, a
 * function, a symbol, `NaN` or `Infinity`, `undefined` inside an array, a cycle, a `Map`, a
 * `Set`, a class instance, or a `Date` under a schema that does not revive it. Nothing was
 * applied: the node (or the input) that produced it failed.
 */
export class NonJsonStateError extends TrellisError {
  /** The state key that holds the value. */
  readonly key: string;
  /** Where inside the state, e.g. `profile.tags[2]`; just the key for the whole value. */
  readonly path: string;
  /** What was found there, e.g. "a `Map`" or "`NaN` (number)". */
  readonly found: string;
  constructor(
    key: string,
    path: string,
    found: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(
      "STATE_NOT_JSON",
      `State key \`${key}\` holds ${found} at \`${path}\`, which cannot be stored: checkpoints keep the state as JSON (null, booleans, finite numbers, strings, arrays and plain objects). ${fix} Nothing was applied.`,
      options,
    );
    this.name = "NonJsonStateError";
    this.key = key;
    this.path = path;
    this.found = found;
  }
}

/** A value in the state nests deeper than the graph's `maxStateDepth`. Nothing was applied. */
export class StateTooDeepError extends TrellisError {
  /** The state key that holds the value. */
  readonly key: string;
  /** The start of the path that goes too deep. */
  readonly path: string;
  readonly maxDepth: number;
  constructor(key: string, path: string, maxDepth: number) {
    super(
      "STATE_TOO_DEEP",
      `State key \`${key}\` nests arrays and objects more than ${maxDepth} levels deep (at \`${path}\`). Flatten the value (e.g. a list of items that name their parent), or raise \`maxStateDepth\` in \`new Graph({ … })\`. Nothing was applied.`,
    );
    this.name = "StateTooDeepError";
    this.key = key;
    this.path = path;
    this.maxDepth = maxDepth;
  }
}

/** What to return instead of a value that is not a node result. */
function nodeResultHint(value: unknown): string {
  if (typeof value === "string") return " To set a key to this text, return `{ key: text }`.";
  if (Array.isArray(value)) {
    return " To add items to a list, return `{ key: items }` and give the key the `append` reducer.";
  }
  if (typeof value === "function") return " Did you mean to call it, or to await its result?";
  if (value instanceof Map) return " Return `Object.fromEntries(map)` if its keys are state keys.";
  if (typeof value === "object" && value !== null) {
    return " Return the state keys to change as a plain object, e.g. `{ ...value }` or a field of it.";
  }
  return " Return `{ key: value }` to set a key.";
}

/**
 * A node (or a branch of a parallel group) returned something that is not a node result: not
 * a plain object of state keys, a `Command`, or nothing. The run failed at that node; nothing
 * of the result was applied.
 */
export class InvalidNodeResultError extends TrellisError {
  /** The node that returned it (the group, for a branch). */
  readonly node: string;
  /** The branch, when a parallel branch returned it. */
  readonly branch: string | undefined;
  readonly received: unknown;
  constructor(
    node: string,
    received: unknown,
    options: { readonly branch?: string; readonly inCommand?: boolean } = {},
  ) {
    const who =
      options.branch === undefined
        ? `Node \`${node}\``
        : `Branch \`${options.branch}\` of parallel group \`${node}\``;
    const what = options.inCommand
      ? `a Command whose \`update\` is ${describeType(received)}`
      : describeType(received);
    super(
      "NODE_RESULT_INVALID",
      `${who} returned ${what}, which is not a node result. A node returns a plain object with the state keys to update (e.g. \`{ count: 1 }\`), a \`Command\` (\`new Command({ update, goto })\`), or nothing (\`undefined\` or \`null\`).${nodeResultHint(received)}`,
    );
    this.name = "InvalidNodeResultError";
    this.node = node;
    this.branch = options.branch;
    this.received = received;
  }
}

/** One part of a state schema whose values cannot be stored as JSON. */
export interface StateSchemaProblem {
  /** The state key. */
  readonly key: string;
  /** Where inside the key's schema, e.g. `events[].at`; just the key for the key's own schema. */
  readonly path: string;
  /** The schema found there, e.g. `z.date()`. */
  readonly found: string;
  /** What to use instead. */
  readonly fix: string;
}

/**
 * The state schema holds parts whose values could not survive a checkpoint, which stores the
 * state as JSON: `z.date()`, `z.map()`, `z.set()`, `z.bigint()`, `z.symbol()`, `z.function()`,
 * `z.nan()`, `z.undefined()`, `z.instanceof()`…, also nested. `problems` lists every one.
 */
export class StateSchemaError extends TrellisError {
  readonly problems: readonly StateSchemaProblem[];
  constructor(problems: readonly StateSchemaProblem[]) {
    super(
      "STATE_SCHEMA_INVALID",
      `The state schema has ${problems.length} part${problems.length === 1 ? "" : "s"} whose values cannot be stored: checkpoints keep the state as JSON.\n${problems
        .map((p) => `  - \`${p.path}\` is ${p.found}. ${p.fix}`)
        .join("\n")}`,
    );
    this.name = "StateSchemaError";
    this.problems = problems;
  }
}
