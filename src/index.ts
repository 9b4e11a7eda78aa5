/**
 * Trellis: graph workflows in TypeScript that humans can stop, steer and resume.
 * Every public export is listed here by name.
 */

export { type Clock, MAX_TIMEOUT_MS, systemClock } from "./clock.js";
export {
  BranchAbortedError,
  type BranchFailure,
  BranchTimeoutError,
  CheckpointNotFoundError,
  DuplicateInterruptError,
  DynamicSelectionError,
  describeValue,
  GoBackTargetError,
  type GraphProblem,
  GraphValidationError,
  HookError,
  InterruptClearedError,
  InterruptNotApplicableError,
  InvalidInterruptError,
  InvalidNodeResultError,
  InvalidOptionError,
  MaxIterationsError,
  MergeConflictError,
  MessageTooLongError,
  MetadataTooLargeError,
  MissingApiKeyError,
  ModelCallError,
  ModelOutputError,
  NestedGraphError,
  NestedGraphPausedError,
  NodeExecutionError,
  NodeTimeoutError,
  NonJsonStateError,
  NoRouteError,
  ParallelGroupError,
  QueueFullError,
  RunCancelledError,
  RunRejectedError,
  ScriptExhaustedError,
  SessionBusyError,
  type StateIssue,
  StateSchemaError,
  type StateSchemaProblem,
  StateTooDeepError,
  StateValidationError,
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
export type { ConditionalEdges, Route, Router, WaitingEdge } from "./graph/edges.js";
export { Graph, type GraphOptions } from "./graph/graph.js";
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
} from "./graph/node.js";
export { MergedUpdate, type NodeRuntime } from "./graph/node-runtime.js";
export type { BuiltinReducer, Reducer, ReducerFn, ReducerMap } from "./graph/reducers.js";
export type { AnyStateSchema, DeltaOp, InputOf, StateOf } from "./graph/state.js";
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
  QueuedInterrupt,
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
  type InterruptMetrics,
  InterruptService,
  type InterruptServiceOptions,
} from "./interrupts/interrupt-service.js";
export { ModelReasoner, type ModelReasonerOptions } from "./interrupts/model-reasoner.js";
export {
  RuleBasedReasoner,
  type RuleBasedReasonerOptions,
} from "./interrupts/rule-based-reasoner.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export {
  createModelFromEnv,
  DEFAULT_GEMINI_MODEL,
  GeminiModel,
  type GeminiModelOptions,
  type ModelFromEnvOptions,
} from "./models/gemini-model.js";
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
export { type AgentAnswer, type AgentNodeOptions, agentNode } from "./patterns/agent-node.js";
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
export type { Checkpoint, CheckpointMeta, Durability } from "./run/checkpointer.js";
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
export type { ControlHost, Directive, PendingMeta } from "./run/run-control.js";
export type { RunHooks } from "./run/run-hooks.js";
export type { RunResult, RunStatus } from "./run/run-result.js";
export type { AuditEntry, AuditEntryInput, AuditKind, AuditStore } from "./store/audit-store.js";
export type {
  CheckpointRecord,
  CheckpointStatus,
  CheckpointStore,
} from "./store/checkpoint-store.js";
export type { InterruptStore, Page, PageOptions } from "./store/interrupt-store.js";
export { MemoryAuditStore } from "./store/memory/memory-audit-store.js";
export { MemoryCheckpointStore } from "./store/memory/memory-checkpoint-store.js";
export { MemoryInterruptStore } from "./store/memory/memory-interrupt-store.js";
export { MemoryStore } from "./store/memory/memory-store.js";
export type { Store } from "./store/store.js";
export {
  Attr,
  GenAiAttributes,
  GenAiOperations,
  SpanNames,
  TrellisAttributes,
  TrellisEvents,
} from "./telemetry/attributes.js";
export {
  type SetupTelemetryOptions,
  setupTelemetry,
  type TelemetryExporterKind,
  type TelemetryHandle,
} from "./telemetry/setup-telemetry.js";
export { tracedGenerate } from "./telemetry/traced-generate.js";
export {
  type AttributesInput,
  formatTraceparent,
  linkFromTraceparent,
  parseTraceparent,
  SpanHandle,
  type StartSpanOptions,
  TrellisTracer,
  type TrellisTracerOptions,
} from "./telemetry/tracing.js";
