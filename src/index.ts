/**
 * Trellis: graph workflows in TypeScript that humans can stop, steer and resume.
 * Every public export of the main entry is listed here by name. It loads only zod,
 * eventemitter3, p-queue and `@opentelemetry/api`; parts that need an optional package have
 * their own entry in `src/entries/`: `trellis/gemini`, `trellis/telemetry`, `trellis/testing`.
 *
 * @module trellis
 */

export { type Clock, MAX_TIMEOUT_MS, systemClock } from "./clock.js";
export {
  BranchAbortedError,
  type BranchFailure,
  BranchTimeoutError,
  CheckpointConflictError,
  CheckpointCorruptError,
  type CheckpointCorruption,
  CheckpointNotFoundError,
  DuplicateInterruptError,
  DynamicSelectionError,
  describeValue,
  ERROR_CODES,
  type ErrorCode,
  GoBackTargetError,
  type GraphProblem,
  GraphValidationError,
  HookError,
  InterruptClearedError,
  InterruptNotApplicableError,
  InvalidInterruptError,
  InvalidNodeResultError,
  InvalidOptionError,
  LeaseLostError,
  MaxIterationsError,
  MergeConflictError,
  MessageTooLongError,
  MetadataTooLargeError,
  MissingApiKeyError,
  MissingDependencyError,
  ModelCallError,
  ModelOutputError,
  type ModelOutputProblem,
  NestedGraphError,
  NodeExecutionError,
  NodeTimeoutError,
  NonJsonStateError,
  NoRouteError,
  ParallelGroupError,
  QueueFullError,
  ReasonerOutputError,
  RevisionLimitError,
  RunCancelledError,
  RunEndedError,
  RunRejectedError,
  reviveError,
  ScriptExhaustedError,
  type SerializedTrellisError,
  SessionBusyError,
  SessionEndedError,
  SessionNotFinishedError,
  SiblingFailedError,
  StaleDecisionError,
  type StateIssue,
  StateSchemaError,
  type StateSchemaProblem,
  StateTooDeepError,
  StateValidationError,
  StoreCorruptError,
  StoreLockedError,
  StoreUnavailableError,
  StoreVersionError,
  serializeError,
  TelemetryConflictError,
  TimerLimitError,
  TooManySessionsError,
  TrellisError,
  UnknownNodeError,
} from "./errors.js";
export { Command, type CommandInit } from "./graph/command.js";
export { CompiledGraph, type CompileOptions } from "./graph/compiled-graph.js";
export { END, type End, START, type Start } from "./graph/constants.js";
export { type Change, diff, type Path } from "./graph/diff.js";
export type {
  ConditionalEdges,
  OutEdges,
  Route,
  Router,
  SortedRoute,
  WaitingEdge,
} from "./graph/edges.js";
export { Graph, type GraphOptions, type NodeEntry } from "./graph/graph.js";
export { DEFAULT_MAX_STATE_DEPTH } from "./graph/json-value.js";
export {
  type BranchState,
  type ConflictPolicy,
  type MergeConflict,
  type MergeResult,
  mergeBranches,
} from "./graph/merge-branches.js";
export type {
  NodeContext,
  NodeDefinition,
  NodeFn,
  NodeKind,
  NodeOptions,
  NodeResult,
  RetryPolicy,
  RevisionContext,
} from "./graph/node.js";
export {
  type BranchRuntime,
  type ChildResult,
  MergedUpdate,
  type NodeNotes,
  type NodeRuntime,
  NodeStop,
  type SpanAttributes,
} from "./graph/node-runtime.js";
export type { BuiltinReducer, Reducer, ReducerFn, ReducerMap } from "./graph/reducers.js";
export type { RouteDecision } from "./graph/route.js";
export type {
  AnyStateSchema,
  Applied,
  DeltaOp,
  InputOf,
  StateDefinition,
  StateOf,
} from "./graph/state.js";
export type { GraphChartOptions } from "./graph/to-mermaid.js";
export {
  APPROVAL_ACTION_TYPES,
  actionPriority,
  INTERRUPT_ACTION_TYPES,
  type InterruptAction,
  InterruptActionSchema,
  type InterruptActionType,
} from "./interrupts/actions.js";
export type { ApprovalGate, GateOutcome, InterruptConfig } from "./interrupts/interrupt-config.js";
export {
  type InterruptDecision,
  InterruptDecisionSchema,
} from "./interrupts/interrupt-decision.js";
export type {
  InterruptApplied,
  InterruptDecisionSource,
  InterruptExpired,
  InterruptInput,
  InterruptOutcome,
  InterruptReceipt,
  InterruptRefused,
  InterruptSendOptions,
  InterruptSettlement,
  QueuedInterrupt,
  QueuedInterruptBase,
} from "./interrupts/interrupt-message.js";
export type {
  DecideOptions,
  InterruptReasoner,
  ReasonerContext,
  ReasonerOutcome,
  ReasonerSource,
} from "./interrupts/interrupt-reasoner.js";
export {
  DEFAULT_INTERRUPT_LIMITS,
  type InterruptLimits,
  type InterruptListener,
  type InterruptMetrics,
  InterruptService,
  type InterruptServiceOptions,
  type SignalOptions,
} from "./interrupts/interrupt-service.js";
export { ModelReasoner, type ModelReasonerOptions } from "./interrupts/model-reasoner.js";
export {
  RuleBasedReasoner,
  type RuleBasedReasonerOptions,
} from "./interrupts/rule-based-reasoner.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export type {
  GenerateOptions,
  ModelClient,
  ModelMessage,
  ModelRequest,
  ModelResponse,
  ModelUsage,
} from "./models/model-client.js";
export {
  type ScriptedAnswer,
  ScriptedModel,
  type ScriptedModelOptions,
  type ScriptFn,
} from "./models/scripted-model.js";
export {
  type AgentAnswer,
  type AgentNodeDefinition,
  type AgentNodeOptions,
  agentNode,
} from "./patterns/agent-node.js";
export { type DynamicNodeOptions, dynamicNode } from "./patterns/dynamic-node.js";
export { type NestedGraphOptions, nestedGraph } from "./patterns/nested-graph.js";
export {
  type BranchErrorPolicy,
  type DynamicParallelGroupOptions,
  dynamicParallelGroup,
  type JoinPolicy,
  type ParallelGroupOptions,
  type ParallelOptions,
  parallelGroup,
} from "./patterns/parallel-group.js";
export type {
  Checkpoint,
  HistoryEntry,
  UnreadableCheckpoint,
} from "./run/checkpoint-reader.js";
export type { Durability } from "./run/checkpointer.js";
export {
  type Agents,
  type AgentsContext,
  type AgentsFactory,
  type AnyAgent,
  defineAgents,
} from "./run/define-agents.js";
export {
  agentOf,
  type Dispatched,
  InProcessDispatcher,
  type ResumeRequest,
  type RunDispatcher,
  type StartRequest,
  wakesSession,
} from "./run/dispatcher.js";
export type {
  EventBase,
  GraphEvent,
  GraphEvents,
  GraphEventType,
  RouteReason,
} from "./run/events.js";
export {
  type ForkOptions,
  GraphAgent,
  type GraphAgentOptions,
  type ResumeOptions,
  type RunOptions,
  type StreamMode,
} from "./run/graph-agent.js";
export type { RunHooks } from "./run/run-hooks.js";
export type { RunResult, RunStatus } from "./run/run-result.js";
export type {
  AuditEntry,
  AuditEntryInput,
  AuditKind,
  AuditPruneOptions,
  AuditStore,
} from "./store/audit-store.js";
export {
  CHECKPOINT_META_VERSION,
  type CheckpointMeta,
  CheckpointMetaSchema,
  type GateDecisionMeta,
  GateDecisionMetaSchema,
  type GateMeta,
  GateMetaSchema,
  NodeNotesSchema,
  type OutcomeMeta,
  OutcomeMetaSchema,
  type PauseMeta,
  PauseMetaSchema,
  type ProgressMeta,
  ProgressMetaSchema,
  type RerunMeta,
  RerunMetaSchema,
  type RevisionRound,
  RevisionRoundSchema,
  type SerializedError,
  SerializedErrorSchema,
} from "./store/checkpoint-meta.js";
export {
  CHECKPOINT_STATUSES,
  type CheckpointListOptions,
  type CheckpointRecord,
  type CheckpointRecordFields,
  type CheckpointStatus,
  type CheckpointStore,
  recordPayload,
  type StoredRecord,
  type UnparsableRecord,
} from "./store/checkpoint-store.js";
export {
  checkDeliveryClaim,
  checkDeliveryKeep,
  checkDeliveryOutcome,
  checkNewDeliveries,
  type Delivery,
  type DeliveryClaim,
  type DeliveryOutcome,
  type DeliveryStatus,
  type DeliveryStore,
  type NewDelivery,
} from "./store/delivery-store.js";
export {
  type ClaimOptions,
  type EnqueueLimits,
  type EnqueueResult,
  type InterruptRemoval,
  type InterruptState,
  type InterruptStats,
  type InterruptStore,
  type NewInterruptRecord,
  removalAuditEntry,
  type SettledOutcome,
  type Settlement,
  type StoredInterrupt,
} from "./store/interrupt-store.js";
export { MemoryStore, type MemoryStoreOptions } from "./store/memory/memory-store.js";
export type { Notifier, StoreEvent, StoreListener } from "./store/notifier.js";
export {
  DEFAULT_PAGE_LIMIT,
  MAX_PAGE_LIMIT,
  type Page,
  type PageOptions,
  resolvePage,
} from "./store/page.js";
export type {
  Lease,
  LeaseRequest,
  LeaseResult,
  SessionQuery,
  SessionStore,
  SessionSummary,
} from "./store/session-store.js";
export type { Store, StoreBatch } from "./store/store.js";
export {
  Attr,
  GenAiAttributes,
  GenAiOperations,
  SpanNames,
  TrellisAttributes,
  TrellisEvents,
} from "./telemetry/attributes.js";
export { tracedGenerate } from "./telemetry/traced-generate.js";
export {
  type AttributesInput,
  type EndWithErrorOptions,
  formatTraceparent,
  linkFromTraceparent,
  parseTraceparent,
  SpanHandle,
  type StartSpanOptions,
  TrellisTracer,
  type TrellisTracerOptions,
} from "./telemetry/tracing.js";
