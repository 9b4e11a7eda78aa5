import { z } from "zod";
import { MAX_TIMEOUT_MS } from "../clock.js";

/** Carry on. */
const Continue = z.object({ type: z.literal("continue") }).strict();
/**
 * Stop at the next checkpoint. `mode: "wait"` holds the run in process until a `resume`
 * (or `timeoutMs`); `mode: "suspend"` ends the run as `paused` so any process can resume it.
 */
const Pause = z
  .object({
    type: z.literal("pause"),
    mode: z.enum(["wait", "suspend"]).optional(),
    timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
  })
  .strict();
/** Continue a paused run. */
const Resume = z.object({ type: z.literal("resume") }).strict();
/** Abort the in-flight node at once and end the run as `cancelled`. */
const Cancel = z.object({ type: z.literal("cancel"), reason: z.string().optional() }).strict();
/** Restore the state from before `to` last ran (or `steps` nodes back) and run from there. */
const GoBack = z
  .object({
    type: z.literal("go_back"),
    to: z.string().min(1).optional(),
    steps: z.number().int().positive().optional(),
  })
  .strict()
  .refine((a) => (a.to === undefined) !== (a.steps === undefined), {
    message:
      "go_back needs exactly one of `to` (a node on the path) or `steps` (a positive integer)",
  });
/** Run a node again (the last one by default) with guidance it receives in `ctx.feedback`. */
const Rerun = z
  .object({
    type: z.literal("rerun"),
    node: z.string().min(1).optional(),
    guidance: z.string().optional(),
  })
  .strict();
/** Do not run the next node; follow its edges as if it returned no update. */
const Skip = z.object({ type: z.literal("skip") }).strict();
/**
 * Change the state; the values are validated against the state schema and the reducers. A key
 * named `__proto__` anywhere in `values` is refused when the message is sent (see
 * {@link prototypeKeyIn}): zod drops such keys from records and objects without a word, and
 * plain assignment would treat one as the object's prototype.
 */
const UpdateState = z
  .object({ type: z.literal("update_state"), values: z.record(z.string(), z.unknown()) })
  .strict();

/** How deep {@link prototypeKeyIn} looks; deeper values are refused by the state's depth limit. */
const PROTOTYPE_KEY_DEPTH = 1_000;

/**
 * The path (`values.meta.__proto__`) of the first own key named `__proto__` inside `value`,
 * looking into plain objects and arrays; `undefined` when there is none. `update_state` is
 * refused with such a key rather than losing it: zod's record and object parsing drop it
 * silently, and it can never be a state key.
 */
export function prototypeKeyIn(value: unknown, root = "values"): string | undefined {
  const pending: [value: unknown, path: string, depth: number][] = [[value, root, 0]];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const [current, path, depth] = pending.pop()!;
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    if (depth > PROTOTYPE_KEY_DEPTH) continue;
    seen.add(current);
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        pending.push([current[i], `${path}[${i}]`, depth + 1]);
      }
      continue;
    }
    if (Object.hasOwn(current, "__proto__")) return `${path}.__proto__`;
    const keys = Object.keys(current);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      pending.push([(current as Record<string, unknown>)[key], path + segment, depth + 1]);
    }
  }
  return undefined;
}
/**
 * The approval request a decision is for (`requestId` of the open gate). Without it, a decision
 * applies to the request that was open when it was sent, and is refused if a newer one opened.
 */
const RequestId = z.string().min(1).max(256).optional();
/** At an approval gate: accept the node's output. */
const Approve = z
  .object({ type: z.literal("approve"), comment: z.string().optional(), requestId: RequestId })
  .strict();
/** At an approval gate: refuse the node's output. */
const Reject = z
  .object({ type: z.literal("reject"), reason: z.string().optional(), requestId: RequestId })
  .strict();
/** At an approval gate: run the node again with this feedback (see `ctx.revision`). */
const RequestChanges = z
  .object({
    type: z.literal("request_changes"),
    feedback: z.string().min(1),
    requestId: RequestId,
  })
  .strict();

/** Every action a run obeys, as a zod discriminated union. A typo is a validation error. */
export const InterruptActionSchema = z.discriminatedUnion("type", [
  Continue,
  Pause,
  Resume,
  Cancel,
  GoBack,
  Rerun,
  Skip,
  UpdateState,
  Approve,
  Reject,
  RequestChanges,
]);

/** One validated action. */
export type InterruptAction = z.infer<typeof InterruptActionSchema>;
/** The name of an action. */
export type InterruptActionType = InterruptAction["type"];

/** Every action name, in the order the docs list them. */
export const INTERRUPT_ACTION_TYPES: readonly InterruptActionType[] = [
  "continue",
  "pause",
  "resume",
  "cancel",
  "go_back",
  "rerun",
  "skip",
  "update_state",
  "approve",
  "reject",
  "request_changes",
];

/** Actions that only make sense at an approval gate. */
export const APPROVAL_ACTION_TYPES: readonly InterruptActionType[] = [
  "approve",
  "reject",
  "request_changes",
];

/** Queue priority of an action: lower is served first (cancel, then pause, then the rest). */
export function actionPriority(type: InterruptActionType | "text"): number {
  if (type === "cancel") return 0;
  if (type === "pause") return 1;
  return 2;
}
