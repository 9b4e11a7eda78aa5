/**
 * A node's result as the run loop reads it: the update to apply, where to go, whether a nested
 * run inside it stopped, and the node's span (still open: the step ends it once routed).
 */
import { isCommand } from "../graph/command.js";
import { classifyNodeResult } from "../graph/node-result.js";
import { MergedUpdate, NodeStop } from "../graph/node-runtime.js";
import type { SpanHandle } from "../telemetry/tracing.js";

/** A node's result, interpreted. */
export interface Invoked<S> {
  readonly update: Partial<S> | MergedUpdate<S> | undefined;
  readonly goto: readonly string[] | undefined;
  readonly stop: NodeStop | undefined;
  readonly span: SpanHandle;
}

/**
 * Reads what node `name` returned; throws (a named error) for a result that is no update.
 * One object per call, the same as the run loop built inline: this is on every step.
 */
export function interpretResult<S>(result: unknown, name: string, span: SpanHandle): Invoked<S> {
  if (result instanceof NodeStop) return { update: undefined, goto: undefined, stop: result, span };
  classifyNodeResult(result, name);
  if (result === undefined || result === null)
    return { update: undefined, goto: undefined, stop: undefined, span };
  if (result instanceof MergedUpdate)
    return { update: result as MergedUpdate<S>, goto: result.goto, stop: undefined, span };
  if (isCommand(result)) {
    return {
      update: result.update as Partial<S> | undefined,
      goto: result.goto,
      stop: undefined,
      span,
    };
  }
  return { update: result as Partial<S>, goto: undefined, stop: undefined, span };
}
