/**
 * What a queued message asks for: an action as sent, or what the reasoner decided free text
 * means — checked, because a reasoner is user code: an answer that is not a valid decision, or
 * names an action the run does not accept here, is refused with `ReasonerOutputError`.
 */

import { z } from "zod";
import { ReasonerOutputError } from "../errors.js";
import {
  APPROVAL_ACTION_TYPES,
  INTERRUPT_ACTION_TYPES,
  type InterruptAction,
  type InterruptActionType,
} from "../interrupts/actions.js";
import { InterruptDecisionSchema } from "../interrupts/interrupt-decision.js";
import type { InterruptDecisionSource, QueuedInterrupt } from "../interrupts/interrupt-message.js";
import {
  type DecideOptions,
  findDecisionProblem,
  type InterruptReasoner,
  type ReasonerContext,
} from "../interrupts/interrupt-reasoner.js";
import type { RunPath } from "./run-path.js";

/** What a message was decided to mean. */
export interface Decided {
  readonly action: InterruptAction;
  readonly source: InterruptDecisionSource;
  /** The reasoner's rationale, for free text. */
  readonly detail?: string | undefined;
  /** The reasoner's confidence, for free text. */
  readonly confidence?: number | undefined;
}

const OutcomeSchema = z.object({
  decision: InterruptDecisionSchema,
  source: z.enum(["model", "rules", "fallback"]),
});

/** Actions a run accepts at a gate. */
export const GATE_ACTIONS: readonly InterruptActionType[] = [
  "approve",
  "reject",
  "request_changes",
  "cancel",
  "go_back",
  "update_state",
  "pause",
];

/** Actions a run accepts outside a gate. */
export const NON_GATE_ACTIONS: readonly InterruptActionType[] = INTERRUPT_ACTION_TYPES.filter(
  (type) => !APPROVAL_ACTION_TYPES.includes(type),
);

/** What a reasoner is told about where the run stands. */
export function reasonerContext(
  graph: string,
  plan: {
    readonly path: RunPath;
    readonly state: Readonly<Record<string, unknown>>;
    readonly gate: unknown;
  },
  currentNode: string | null,
): ReasonerContext {
  const atGate = plan.gate !== undefined;
  return {
    graph,
    currentNode,
    path: plan.path.toArray(),
    allowedActions: atGate ? GATE_ACTIONS : NON_GATE_ACTIONS,
    goBackTargets: [...new Set(plan.path.toArray())],
    state: { ...plan.state },
    atApprovalGate: atGate,
  };
}

/**
 * Decides what `message` means. For free text the reasoner is asked with `context`, the run's
 * signal (a cancel aborts a model call at once) and its tracer; its answer is checked.
 *
 * @throws ReasonerOutputError for an answer that is not a valid decision for `context`.
 * @throws the signal's reason when it aborts.
 */
export async function decideMessage(
  message: QueuedInterrupt,
  reasoner: InterruptReasoner,
  context: ReasonerContext,
  options: DecideOptions,
): Promise<Decided> {
  if (message.kind === "action") return { action: message.action, source: "action" };
  const answer: unknown = await reasoner.decide(message.text, context, options);
  const parsed = OutcomeSchema.safeParse(answer);
  if (!parsed.success) {
    throw new ReasonerOutputError(
      answer,
      parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`),
    );
  }
  const { decision, source } = parsed.data;
  const problem = source === "fallback" ? undefined : findDecisionProblem(decision, context);
  if (problem !== undefined) throw new ReasonerOutputError(answer, [problem]);
  return {
    action: decision.action,
    source,
    detail: decision.reasoning,
    confidence: decision.confidence,
  };
}
