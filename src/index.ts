/**
 * Trellis: graph workflows in TypeScript that humans can stop, steer and resume.
 * Every public export is listed here by name.
 */

export { type Clock, systemClock } from "./clock.js";
export {
  CheckpointNotFoundError,
  describeValue,
  type GraphProblem,
  GraphValidationError,
  HookError,
  InvalidOptionError,
  MaxIterationsError,
  NodeExecutionError,
  NodeTimeoutError,
  NoRouteError,
  RunCancelledError,
  SessionBusyError,
  type StateIssue,
  StateValidationError,
  TrellisError,
  UnknownNodeError,
} from "./errors.js";
export type { Checkpoint, CheckpointMeta, Durability } from "./graph/checkpointer.js";
export { Command, type CommandInit } from "./graph/command.js";
export { CompiledGraph, type CompileOptions } from "./graph/compiled-graph.js";
export { END, type End, START, type Start } from "./graph/constants.js";
export type { ConditionalEdges, Route, Router } from "./graph/edges.js";
export type {
  EventBase,
  GraphEvent,
  GraphEvents,
  GraphEventType,
  RouteReason,
} from "./graph/events.js";
export { Graph, type GraphOptions } from "./graph/graph.js";
export {
  type ForkOptions,
  GraphAgent,
  type GraphAgentOptions,
  type ResumeOptions,
  type RunOptions,
  type StreamMode,
} from "./graph/graph-agent.js";
export type {
  NodeContext,
  NodeDefinition,
  NodeFn,
  NodeKind,
  NodeOptions,
  NodeResult,
  RetryPolicy,
} from "./graph/node.js";
export type { BuiltinReducer, Reducer, ReducerFn, ReducerMap } from "./graph/reducers.js";
export type { RunHooks } from "./graph/run.js";
export type { RunResult, RunStatus } from "./graph/run-result.js";
export type { AnyStateSchema, DeltaOp, InputOf, StateOf } from "./graph/state.js";
export { consoleLogger, type Logger, silentLogger } from "./logger.js";
export type {
  CheckpointRecord,
  CheckpointStatus,
  CheckpointStore,
} from "./store/checkpoint-store.js";
export { MemoryCheckpointStore } from "./store/memory-checkpoint-store.js";
export { MemoryStore } from "./store/memory-store.js";
export type { Store } from "./store/store.js";
export { type AgentAnswer, type AgentNodeOptions, agentNode } from "./graph/agent-node.js";
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
export { type ScriptedAnswer, ScriptedModel, type ScriptedModelOptions, type ScriptFn } from "./models/scripted-model.js";
