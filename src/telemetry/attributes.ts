/**
 * Names of the span attributes, span events and spans Trellis writes. The GenAI names follow the
 * OpenTelemetry GenAI semantic conventions (status: development); everything else lives under
 * `trellis.*`. Use these constants in queries and tests instead of string literals.
 */

/**
 * Attribute names from the OpenTelemetry semantic conventions (GenAI and general).
 *
 * The root span of a run carries `gen_ai.operation.name = "invoke_workflow"` and the agent's name
 * (default: the graph's) in both `gen_ai.workflow.name` (semantic conventions up to 1.45) and
 * `gen_ai.agent.name` (the standalone GenAI conventions, which fold workflows into agent spans),
 * so either flavour of backend groups runs by agent. The graph's own name is `trellis.graph`.
 */
export const GenAiAttributes = {
  /** `invoke_workflow`, `invoke_agent` or `chat` — see {@link GenAiOperations}. */
  OPERATION_NAME: "gen_ai.operation.name",
  /** The agent's name on the root span of a run (a nested graph's run: the child graph's name). */
  WORKFLOW_NAME: "gen_ai.workflow.name",
  /** The agent's name, on `invoke_agent` spans and on the root span of a run. */
  AGENT_NAME: "gen_ai.agent.name",
  /** The session id: every run of one session shares it. */
  CONVERSATION_ID: "gen_ai.conversation.id",
  /** The model provider, e.g. `gcp.gemini`. */
  PROVIDER_NAME: "gen_ai.provider.name",
  /** The model asked for, e.g. `gemini-2.5-flash`. */
  REQUEST_MODEL: "gen_ai.request.model",
  /** The model that answered, when the provider reports a more specific one. */
  RESPONSE_MODEL: "gen_ai.response.model",
  /** Sampling temperature of a model call. */
  REQUEST_TEMPERATURE: "gen_ai.request.temperature",
  /** Input tokens of a model call. */
  USAGE_INPUT_TOKENS: "gen_ai.usage.input_tokens",
  /** Output tokens of a model call. */
  USAGE_OUTPUT_TOKENS: "gen_ai.usage.output_tokens",
  /** Messages sent to the model, as JSON. Content: only with `recordContent`. */
  INPUT_MESSAGES: "gen_ai.input.messages",
  /** Messages the model returned, as JSON. Content: only with `recordContent`. */
  OUTPUT_MESSAGES: "gen_ai.output.messages",
  /** System instructions of a model call, as JSON. Content: only with `recordContent`. */
  SYSTEM_INSTRUCTIONS: "gen_ai.system_instructions",
  /** The class of error a span ended with (or a retried attempt, or a refused message had): the error's `code` or its class name. */
  ERROR_TYPE: "error.type",
} as const;

/** Values of `gen_ai.operation.name` that Trellis writes. */
export const GenAiOperations = {
  /** The root span of a run and of a nested graph. */
  INVOKE_WORKFLOW: "invoke_workflow",
  /** A node that wraps an agent (`agentNode()`). */
  INVOKE_AGENT: "invoke_agent",
  /** A model call (agent nodes, the interrupt reasoner). */
  CHAT: "chat",
} as const;

/** Attribute names under `trellis.*`. */
export const TrellisAttributes = {
  /** The run's id. */
  RUN_ID: "trellis.run.id",
  /** How the run ended: `completed | failed | cancelled | paused | rejected`. */
  RUN_STATUS: "trellis.run.status",
  /** The graph's own name, on the root span of a run and of a nested graph's run. */
  GRAPH: "trellis.graph",
  /** The node's name; inside nested graphs, the nesting path (`parent/child`). */
  NODE: "trellis.node",
  /** `function | agent | dynamic | nested | parallel`. */
  NODE_KIND: "trellis.node.kind",
  /** Node executions this run has started, this one included (1-based). */
  ITERATION: "trellis.iteration",
  /** The attempt that finished (node spans; 1 without retries) or failed (`trellis.retry` events), 1-based. */
  ATTEMPT: "trellis.attempt",
  /** Length of the path (nodes executed in this lineage) when the span ends. */
  PATH_LENGTH: "trellis.path.length",
  /** State keys whose reducer is not `overwrite`, as `key=reducer` strings. */
  REDUCER: "trellis.reducer",
  /** Id of the checkpoint written or resumed from. */
  CHECKPOINT_ID: "trellis.checkpoint.id",
  /** Sequence number of the checkpoint within its session. */
  CHECKPOINT_SEQ: "trellis.checkpoint.seq",
  /** Size of the stored checkpoint in bytes. */
  CHECKPOINT_BYTES: "trellis.checkpoint.bytes",
  /** Whether the checkpoint stored a delta against the previous one. */
  CHECKPOINT_DELTA: "trellis.checkpoint.delta",
  /** How the next node was chosen: `edge | condition | fallback | router | command | interrupt`. */
  ROUTE_REASON: "trellis.route.reason",
  /** The nodes chosen next (several on a fan-out). */
  ROUTE_TARGETS: "trellis.route.targets",
  /** Name (fixed branches) or index (one branch per item) of a parallel branch. */
  BRANCH: "trellis.branch",
  /** Name of the parallel group a branch belongs to. */
  GROUP: "trellis.group",
  /** Join policy of a parallel group: `all | any | n=<count>`. */
  JOIN: "trellis.join",
  /** Error policy of a parallel group: `fail-fast | continue | collect`. */
  ERROR_POLICY: "trellis.error_policy",
  /** Number of branches in a parallel group. */
  BRANCH_COUNT: "trellis.branch.count",
  /** Number of conflicting writes to one path seen when merging branches. */
  MERGE_CONFLICTS: "trellis.merge.conflicts",
  /** The action a run obeyed: `pause`, `go_back`, `approve`, … */
  INTERRUPT_ACTION: "trellis.interrupt.action",
  /** Where the action came from: `action` (sent as an object), or for free text `model`, `rules`, `fallback`. */
  INTERRUPT_SOURCE: "trellis.interrupt.source",
  /** The reasoner's confidence in its decision (0–1). */
  INTERRUPT_CONFIDENCE: "trellis.interrupt.confidence",
  /** Id of the interrupt message. */
  INTERRUPT_ID: "trellis.interrupt.id",
  /** Where the message was read: `start`, `before` or `after` a node, at a `gate`, during a `wait` pause, or on `arrival` (a cancel). */
  INTERRUPT_PHASE: "trellis.interrupt.phase",
  /** Free text of an interrupt message. Content: only with `recordContent`. */
  INTERRUPT_TEXT: "trellis.interrupt.text",
  /** How a pause holds the run: `wait` (in process) or `suspend` (the run returns `paused`). */
  PAUSE_MODE: "trellis.pause.mode",
  /** Id of the checkpoint a resumed run continues from. */
  SESSION_RESUMED_FROM: "trellis.session.resumed_from",
  /** State given to a run or node, as JSON. Content: only with `recordContent`. */
  STATE_INPUT: "trellis.state.input",
  /** Update a node returned, as JSON. Content: only with `recordContent`. */
  STATE_UPDATE: "trellis.state.update",
  /** State at the end of a run, as JSON. Content: only with `recordContent`. */
  STATE_OUTPUT: "trellis.state.output",
  /** Human guidance a re-run node received. Content: only with `recordContent`. */
  FEEDBACK: "trellis.feedback",
  /** The label of the route taken, when it has one. */
  ROUTE_LABEL: "trellis.route.label",
  /** How a node execution that did not complete ended: `cancelled` (the run was) or `stopped` (a sibling in its parallel step failed). Not an error. */
  NODE_OUTCOME: "trellis.node.outcome",
  /** How a parallel branch ended: `ok | failed | aborted` (stopped by the join or a sibling) `| cancelled` (the run was). */
  BRANCH_OUTCOME: "trellis.branch.outcome",
  /** The dotted paths of merge conflicts a policy resolved. */
  MERGE_PATHS: "trellis.merge.paths",
  /** The option a dynamic node ran. */
  DYNAMIC_SELECTED: "trellis.dynamic.selected",
  /** The revision of an approval request (0 first, one more per `request_changes`). */
  APPROVAL_REVISION: "trellis.approval.revision",
  /** The id of an approval request. */
  APPROVAL_REQUEST: "trellis.approval.request_id",
  /** A gate's decision: `approve | reject | request_changes`. */
  APPROVAL_DECISION: "trellis.approval.decision",
  /** Who decided a gate: `human | timeout | revision-limit`. */
  APPROVAL_BY: "trellis.approval.by",
  /** How waiting at a gate ended: `decided | timeout | suspended | cancelled`. */
  APPROVAL_OUTCOME: "trellis.approval.outcome",
  /** How handling an interrupt ended: `applied | refused | aborted` (the run was cancelled while it was read). */
  INTERRUPT_OUTCOME: "trellis.interrupt.outcome",
  /** What an obeyed interrupt made the run do (`suspend`, `restore`, `decide`, …). */
  DIRECTIVE: "trellis.directive",
  /** On a span link: why the linked span is related (`resumed_from`). */
  LINK: "trellis.link",
  /** The name of a custom event (`ctx.emit`). */
  EVENT_NAME: "trellis.event.name",
} as const;

/** Every attribute name Trellis writes, GenAI and `trellis.*` together. */
export const Attr = { ...GenAiAttributes, ...TrellisAttributes } as const;

/** Names of span events (points in time inside a span). */
export const TrellisEvents = {
  /** On a node span: the edge taken next (`trellis.route.reason`, `trellis.route.targets`). */
  ROUTE: "trellis.route",
  /** On a node span: an attempt failed and the node will run again (`trellis.attempt`). */
  RETRY: "trellis.retry",
  /** On a node span: a custom event the node emitted with `ctx.emit()` (`trellis.event.name`). */
  CUSTOM: "trellis.custom",
  /** On a run span: the run was resumed after a pause. */
  RESUMED: "trellis.resumed",
  /** On a run span (fan-out nodes) or a parallel group's span (its branches): writes to one path that the conflict policy resolved. */
  MERGE_CONFLICTS: "trellis.merge.conflicts",
  /** On a run span: an interrupt was obeyed (`trellis.interrupt.id`, `.action`, `.source`). */
  INTERRUPT_APPLIED: "trellis.interrupt.applied",
  /** On a run span: an interrupt was refused (`trellis.interrupt.id`, `error.type`). */
  INTERRUPT_REFUSED: "trellis.interrupt.refused",
  /** On a run span: an approval was requested (`trellis.node`, `trellis.approval.revision`). */
  APPROVAL_REQUESTED: "trellis.approval.requested",
  /** On a run span: a gate was decided (`trellis.approval.decision`, `trellis.approval.by`). */
  APPROVAL_DECIDED: "trellis.approval.decided",
} as const;

/** Attribute of a `trellis.custom` event: the name passed to `ctx.emit()`. */
export const CUSTOM_EVENT_NAME = TrellisAttributes.EVENT_NAME;

/**
 * Span names. Each is `<operation> <subject>` with a low-cardinality subject (graph, node, group,
 * branch or model name — never an id), so backends can group spans by name.
 *
 * @example
 * ```ts
 * SpanNames.workflow("review");            // "invoke_workflow review"
 * SpanNames.node("draft");                 // "node draft"
 * SpanNames.agent("writer");               // "invoke_agent writer"
 * SpanNames.modelCall("gemini-2.5-flash"); // "chat gemini-2.5-flash"
 * ```
 */
export const SpanNames = {
  /** Root span of a run, and the span of a nested graph: `invoke_workflow {graph}`. */
  workflow: (graph: string): string => `${GenAiOperations.INVOKE_WORKFLOW} ${graph}`,
  /** One execution of a plain, dynamic or nested-graph node: `node {name}`. */
  node: (node: string): string => `node ${node}`,
  /** One execution of an agent node: `invoke_agent {agent}` (the node's name when unnamed). */
  agent: (agent: string): string => `${GenAiOperations.INVOKE_AGENT} ${agent}`,
  /** A parallel group, from fork to join: `parallel {group}`. */
  parallel: (group: string): string => `parallel ${group}`,
  /** One branch of a parallel group: `branch {name or index}`. */
  branch: (branch: string | number): string => `branch ${branch}`,
  /** Writing one checkpoint to the store. */
  checkpointWrite: "checkpoint write" as const,
  /** Handling one interrupt message: `interrupt` until decided, then `interrupt {action}`. */
  interrupt: (action?: string): string =>
    action === undefined ? "interrupt" : `interrupt ${action}`,
  /** Waiting at an approval gate for a human decision: `approval {node}`. */
  approval: (node: string): string => `approval ${node}`,
  /** A paused run waiting in process for `resume` (or its timeout). */
  pause: "pause" as const,
  /** A model call: `{operation} {model}`, `chat {model}` by default. */
  modelCall: (model: string, operation: string = GenAiOperations.CHAT): string =>
    `${operation} ${model}`,
} as const;

/**
 * Metric names a worker reports through `@opentelemetry/api` (docs/telemetry.md, "Metrics").
 * They are not span attributes, so they live apart from {@link Attr}.
 */
export const MetricNames = {
  /** Counter: jobs claimed from the queue. */
  WORKER_CLAIMS: "trellis.worker.claims",
  /** Counter: sessions continued after their worker died. */
  WORKER_TAKEOVERS: "trellis.worker.takeovers",
  /** Counter: jobs finished, by {@link MetricAttributes.JOB_RESULT}. */
  WORKER_JOBS: "trellis.worker.jobs",
  /** Gauge: sessions the worker runs now. */
  WORKER_ACTIVE: "trellis.worker.active_sessions",
  /** Gauge: jobs waiting in the queue, as last read. */
  WORKER_QUEUE_DEPTH: "trellis.worker.queue_depth",
} as const;

/** Attributes of metric points. */
export const MetricAttributes = {
  /** How a job ended: `ran`, `skipped`, `deferred` or `error`. */
  JOB_RESULT: "trellis.job.result",
} as const;
