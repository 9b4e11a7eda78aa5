import type { Context } from "@opentelemetry/api";
import { z } from "zod";
import { InvalidOptionError } from "../errors.js";
import type { TrellisTracer } from "../telemetry/tracing.js";
import { INTERRUPT_ACTION_TYPES, type InterruptActionType } from "./actions.js";
import type { InterruptDecision } from "./interrupt-decision.js";

/** Where a run stands when a free-text message arrives: what the reasoner may decide. */
export interface ReasonerContext {
  /** The graph's name. */
  readonly graph: string;
  /** The node about to run or running, or `null` before the first and after the last. */
  readonly currentNode: string | null;
  /** The nodes executed so far, oldest first. */
  readonly path: readonly string[];
  /** The actions the run accepts now; a decision outside these is refused. */
  readonly allowedActions: readonly InterruptActionType[];
  /** The nodes `go_back` may name. */
  readonly goBackTargets: readonly string[];
  /** The current state (reasoners remove secrets and shorten it before showing it to a model). */
  readonly state: Record<string, unknown>;
  /** True when the run waits at an approval gate (approve / reject / request_changes). */
  readonly atApprovalGate: boolean;
}

/** Who produced a decision: the model, the offline rules, or the configured fallback. */
export type ReasonerSource = "model" | "rules" | "fallback";

/** What a reasoner returns. */
export interface ReasonerOutcome {
  /** The decision; always valid for `InterruptActionSchema`. */
  readonly decision: InterruptDecision;
  readonly source: ReasonerSource;
  /** How many answers were asked for (model calls, or 1 for rules). */
  readonly attempts: number;
  /** Why earlier answers were refused, in order; empty when the first answer was used. */
  readonly problems: readonly string[];
}

/** Options of one `decide()` call. */
export interface DecideOptions {
  /** Aborts the decision; the promise rejects with `signal.reason` rather than falling back. */
  readonly signal?: AbortSignal;
  /**
   * The run's tracer: a model call the reasoner makes uses it, so the agent's telemetry settings
   * (spans off, its own provider, content recording) hold for it too.
   */
  readonly tracer?: TrellisTracer;
  /** The span the model call nests under (default: the active context). */
  readonly parent?: Context;
}

/**
 * Turns a human's free-text message into a structured decision. `ModelReasoner` asks a model
 * (Gemini structured output); `RuleBasedReasoner` works offline from common phrasings.
 * Implementations never return an action outside `context.allowedActions` except their
 * configured fallback, and say so with `source: "fallback"`.
 *
 * @example
 * ```ts
 * const reasoner: InterruptReasoner = model ? new ModelReasoner({ model }) : new RuleBasedReasoner();
 * const { decision } = await reasoner.decide("go back to the outline", context, { signal });
 * ```
 */
export interface InterruptReasoner {
  /** Decides what `message` asks for, given where the run stands. */
  decide(
    message: string,
    context: ReasonerContext,
    options?: DecideOptions,
  ): Promise<ReasonerOutcome>;
}

const ReasonerContextSchema = z.object({
  graph: z.string(),
  currentNode: z.string().nullable(),
  path: z.array(z.string()),
  allowedActions: z.array(
    z.enum(INTERRUPT_ACTION_TYPES as [InterruptActionType, ...InterruptActionType[]]),
  ),
  goBackTargets: z.array(z.string()),
  state: z.record(z.string(), z.unknown()),
  atApprovalGate: z.boolean(),
});

/**
 * Checks the arguments of `decide()`: a non-empty message and a well-formed context.
 * Throws `InvalidOptionError` naming the first wrong field.
 */
export function validateReasonerInput(message: unknown, context: unknown): void {
  if (typeof message !== "string" || message.trim() === "") {
    throw new InvalidOptionError("message", "a non-empty string", message);
  }
  const result = ReasonerContextSchema.safeParse(context);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.map(String).join(".") ?? "";
    const received = path === "" ? context : readPath(context, issue?.path ?? []);
    throw new InvalidOptionError(
      path === "" ? "context" : `context.${path}`,
      `valid (${issue?.message ?? "see ReasonerContext"})`,
      received,
    );
  }
}

function readPath(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Why a decision cannot be obeyed in this context, or `undefined` when it can: the action is not
 * allowed, `go_back` names a node that is not a target or more steps than the path has, or
 * `rerun` names a node that has not run.
 */
export function findDecisionProblem(
  decision: InterruptDecision,
  context: ReasonerContext,
): string | undefined {
  const { action } = decision;
  if (!context.allowedActions.includes(action.type)) {
    return `\`${action.type}\` is not allowed now; choose one of ${list(context.allowedActions)}`;
  }
  if (action.type === "go_back") {
    if (action.to !== undefined && !context.goBackTargets.includes(action.to)) {
      return context.goBackTargets.length === 0
        ? `go_back to \`${action.to}\`: there is no node to go back to`
        : `go_back to \`${action.to}\`: not a node one can go back to; choose one of ${list(context.goBackTargets)}`;
    }
    if (action.steps !== undefined && action.steps > context.path.length) {
      return `go_back ${action.steps} steps: only ${context.path.length} node${context.path.length === 1 ? " has" : "s have"} run`;
    }
  }
  if (action.type === "rerun" && action.node !== undefined) {
    const ran =
      context.currentNode === null ? context.path : [...context.path, context.currentNode];
    if (!ran.includes(action.node)) {
      return `rerun \`${action.node}\`: that node has not run; leave \`node\` out to rerun the last one`;
    }
  }
  return undefined;
}

function list(values: readonly string[]): string {
  return values.length === 0 ? "(none)" : values.map((value) => `\`${value}\``).join(", ");
}
