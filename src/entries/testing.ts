/**
 * `trellis/testing`: helpers for testing graphs and agents — a clock you move by hand, span trees
 * for asserting on telemetry, and checks on the path and state of a run.
 *
 * @module trellis/testing
 */

export type { ScriptedAnswer, ScriptedModelOptions, ScriptFn } from "../models/scripted-model.js";
export { ScriptedModel } from "../models/scripted-model.js";
export type {
  Evaluation,
  PathMatchMode,
  PathMatchOptions,
  StateMatcher,
} from "../testing/evaluation.js";
export { nodeCounts, pathMatches, stateContains } from "../testing/evaluation.js";
export type { RunAllOptions } from "../testing/simulated-clock.js";
export { SimulatedClock } from "../testing/simulated-clock.js";
export type {
  FinishedSpan,
  FormatSpanTreeOptions,
  SpanMatcher,
  SpanTreeEvent,
  SpanTreeLink,
  SpanTreeNode,
  SpanTreeStatus,
} from "../testing/span-tree.js";
export { findSpan, findSpans, formatSpanTree, spanTree } from "../testing/span-tree.js";
