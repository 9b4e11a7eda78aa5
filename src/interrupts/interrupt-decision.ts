import { z } from "zod";
import {
  INTERRUPT_ACTION_TYPES,
  type InterruptAction,
  InterruptActionSchema,
  type InterruptActionType,
  prototypeKeyIn,
} from "./actions.js";

/**
 * What a reasoner decided a free-text message means: a validated action, why, and how sure it
 * is (0 to 1).
 */
export const InterruptDecisionSchema = z
  .object({
    action: InterruptActionSchema,
    reasoning: z.string(),
    confidence: z.number().min(0).max(1),
  })
  .strict();

/** A validated decision. See `InterruptDecisionSchema`. */
export type InterruptDecision = z.infer<typeof InterruptDecisionSchema>;

/**
 * The flat shape a model fills in: the action's name plus every field an action may need.
 * Flat because structured-output decoders handle one object with optional fields more reliably
 * than a discriminated union. `values` is JSON text, so it needs no open-ended object schema.
 * `toInterruptDecision()` turns it into an `InterruptDecision`.
 */
export interface ModelDecision {
  readonly reasoning: string;
  readonly action: InterruptActionType;
  readonly to?: string | undefined;
  readonly steps?: number | undefined;
  readonly node?: string | undefined;
  readonly guidance?: string | undefined;
  readonly feedback?: string | undefined;
  readonly reason?: string | undefined;
  readonly comment?: string | undefined;
  readonly values?: string | undefined;
  readonly confidence: number;
}

/** Which fields of `ModelDecision` each action uses. */
const FIELDS_OF: Readonly<Record<InterruptActionType, readonly (keyof ModelDecision)[]>> = {
  continue: [],
  pause: [],
  resume: [],
  cancel: ["reason"],
  go_back: ["to", "steps"],
  rerun: ["node", "guidance"],
  skip: [],
  update_state: ["values"],
  approve: ["comment"],
  reject: ["reason"],
  request_changes: ["feedback"],
};

/** What `createModelDecisionSchema()` narrows the schema to. */
export interface ModelDecisionScope {
  /** The actions the model may choose; the `action` enum lists only these. */
  readonly allowedActions: readonly InterruptActionType[];
  /** Nodes `go_back` may name; when not empty, `to` is an enum of these. */
  readonly goBackTargets: readonly string[];
}

/**
 * The zod schema a model answers with, narrowed to one situation: `action` is an enum of the
 * allowed actions, `to` an enum of the go-back targets, and only the fields the allowed actions
 * use are present. Structured-output decoders then cannot produce most wrong answers at all.
 *
 * @example
 * ```ts
 * const schema = createModelDecisionSchema({ allowedActions: ["pause", "cancel"], goBackTargets: [] });
 * const { data } = await model.generate({ prompt, schema });
 * const result = toInterruptDecision(data as ModelDecision);
 * ```
 */
export function createModelDecisionSchema(scope: ModelDecisionScope): z.ZodType<ModelDecision> {
  const allowed = INTERRUPT_ACTION_TYPES.filter((type) => scope.allowedActions.includes(type));
  const actions = allowed.length > 0 ? allowed : [...INTERRUPT_ACTION_TYPES];
  const used = new Set(actions.flatMap((type) => FIELDS_OF[type]));
  const text = (description: string) => z.string().optional().describe(description);
  const optional: Record<string, z.ZodType> = {
    to:
      scope.goBackTargets.length > 0
        ? z
            .enum(scope.goBackTargets as readonly [string, ...string[]])
            .optional()
            .describe("go_back only: the node to go back to. Give either `to` or `steps`.")
        : text("go_back only: the node to go back to. Give either `to` or `steps`."),
    steps: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("go_back only: how many nodes to go back. Give either `to` or `steps`."),
    node: text("rerun only: the node to run again; leave out for the last node."),
    guidance: text("rerun only: guidance the node receives when it runs again."),
    feedback: text("request_changes only: what to change, in the human's words."),
    reason: text("cancel or reject: why, in the human's words."),
    comment: text("approve only: an optional comment."),
    values: text(
      'update_state only: a JSON object, as text, mapping state keys to new values, e.g. {"tone":"formal"}.',
    ),
  };
  const shape: Record<string, z.ZodType> = {
    reasoning: z
      .string()
      .describe("One or two sentences: what the human wants and why this action."),
    action: z
      .enum(actions as [InterruptActionType, ...InterruptActionType[]])
      .describe("The action that does what the human asked."),
  };
  for (const [key, schema] of Object.entries(optional)) {
    if (used.has(key as keyof ModelDecision)) shape[key] = schema;
  }
  shape.confidence = z
    .number()
    .min(0)
    .max(1)
    .describe("How sure you are that this is what the human meant, from 0 to 1.");
  return z.object(shape) as unknown as z.ZodType<ModelDecision>;
}

/** The result of `toInterruptDecision()`. */
export type DecisionResult =
  | { readonly success: true; readonly decision: InterruptDecision }
  | { readonly success: false; readonly problem: string };

/**
 * Turns a model's flat answer into a validated `InterruptDecision`. Fields the chosen action does
 * not use are dropped; blank strings count as absent. Returns a problem (not a throw) when the
 * action's fields are invalid, e.g. `go_back` with neither `to` nor `steps`.
 */
export function toInterruptDecision(answer: ModelDecision): DecisionResult {
  const action: Record<string, unknown> = { type: answer.action };
  for (const field of FIELDS_OF[answer.action] ?? []) {
    const value = answer[field];
    if (value === undefined || (typeof value === "string" && value.trim() === "")) continue;
    action[field] = typeof value === "string" ? value.trim() : value;
  }
  if (typeof action.values === "string") {
    try {
      action.values = JSON.parse(action.values);
    } catch {
      return {
        success: false,
        problem: `\`values\` must be a JSON object as text, got ${JSON.stringify(action.values)}`,
      };
    }
  }
  const prototypeKey = prototypeKeyIn(action.values);
  if (prototypeKey !== undefined) {
    return {
      success: false,
      problem: `the \`${answer.action}\` action is invalid: ${prototypeKey}: a key named \`__proto__\` cannot be sent as data`,
    };
  }
  const parsed = InterruptDecisionSchema.safeParse({
    action,
    reasoning: answer.reasoning,
    confidence: answer.confidence,
  });
  if (parsed.success) return { success: true, decision: parsed.data };
  const issues = parsed.error.issues.map(
    (issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`,
  );
  return {
    success: false,
    problem: `the \`${answer.action}\` action is invalid: ${issues.join("; ")}`,
  };
}

/** A decision that applies the configured fallback action, saying why. */
export function fallbackDecision(action: InterruptAction, why: string): InterruptDecision {
  return { action, reasoning: `Fell back to \`${action.type}\`: ${why}`, confidence: 0 };
}
