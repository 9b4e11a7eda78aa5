/**
 * What a message means where the run stands: a pure mapping from an action (and the gate open,
 * if any) to a directive for the run, or a named refusal. The run control carries directives
 * out through the run; nothing here waits or writes.
 */
import {
  InterruptNotApplicableError,
  RevisionLimitError,
  StaleDecisionError,
  type TrellisError,
} from "../errors.js";
import type { InterruptAction } from "../interrupts/actions.js";
import type { ResolvedInterruptConfig } from "../interrupts/interrupt-config.js";
import type { QueuedInterrupt } from "../interrupts/interrupt-message.js";
import type { GateDecisionMeta, GateMeta, PauseMeta } from "../store/checkpoint-meta.js";

/** Where a message is read. */
export interface Where {
  /** `wait`: during a `"wait"` pause. */
  readonly phase: "start" | "before" | "after" | "gate" | "wait";
  /** The node (path) the check is about, when there is one. */
  readonly node: string | null;
  /** What `rerun` without a node re-runs: the node that just ran, or the last on the path. */
  readonly last: string | undefined;
}

/** What the run must do for a message (or a timeout). */
export type Directive =
  /** Nothing changes. */
  | { readonly kind: "none" }
  /** End the run as `paused` (`pause` says why, unless a gate without a timeout suspends it). */
  | { readonly kind: "suspend"; readonly pause?: PauseMeta }
  /** Hold the run in process until `resume`, a course change, or `timeoutMs`. */
  | { readonly kind: "wait"; readonly timeoutMs: number; readonly pause?: PauseMeta }
  /** End a `"wait"` pause. */
  | { readonly kind: "resume" }
  | { readonly kind: "cancel"; readonly reason: string }
  /** Put the state back as it was before `target` last ran (or `target` nodes back). */
  | {
      readonly kind: "restore";
      readonly target: string | number;
      readonly feedback: string | undefined;
    }
  /** Before a node: do not run it. Elsewhere: skip the next node. */
  | { readonly kind: "skip" }
  | { readonly kind: "update"; readonly values: Record<string, unknown> }
  /** Close the open gate. */
  | { readonly kind: "decide"; readonly decision: GateDecisionMeta; readonly feedback?: string };

/** How a message is answered: applied as a directive, or refused (and the gate policy that applies instead). */
export type Resolution =
  | { readonly kind: "apply"; readonly directive: Directive }
  | { readonly kind: "refuse"; readonly error: TrellisError; readonly policy?: Directive };

const NONE: Directive = { kind: "none" };

/**
 * Resolves an action read at `where`. `gate` is the request open at a gate; `durable` says
 * whether checkpoints are written (without them a suspended run could not be resumed).
 */
export function resolveAction(
  action: InterruptAction,
  message: QueuedInterrupt,
  where: Where,
  gate: GateMeta | undefined,
  config: ResolvedInterruptConfig,
  durable: boolean,
): Resolution {
  const apply = (directive: Directive): Resolution => ({ kind: "apply", directive });
  const refuse = (detail: string): Resolution => ({
    kind: "refuse",
    error: new InterruptNotApplicableError(action.type, detail),
  });
  switch (action.type) {
    case "continue":
      return apply(NONE);
    case "resume":
      // A run that starts (from a suspended pause) is the resume itself.
      if (where.phase === "start") return apply(NONE);
      if (where.phase === "wait") return apply({ kind: "resume" });
      return refuse("the run is not paused");
    case "cancel":
      return apply({ kind: "cancel", reason: action.reason ?? "cancelled by an interrupt" });
    case "pause": {
      if (where.phase === "wait") return apply(NONE);
      const mode = action.mode ?? config.pauseMode;
      if (mode === "suspend") {
        if (!durable) {
          return refuse(
            'the agent writes no checkpoints (durability "off"), so a suspended run could not be resumed; send `{ type: "pause", mode: "wait" }`',
          );
        }
        return apply({ kind: "suspend" });
      }
      return apply({ kind: "wait", timeoutMs: action.timeoutMs ?? config.pauseTimeoutMs });
    }
    case "go_back":
      return apply({ kind: "restore", target: action.to ?? action.steps!, feedback: undefined });
    case "rerun": {
      if (where.phase === "gate") {
        return refuse("the run waits at an approval gate; use `request_changes`");
      }
      const node = action.node ?? where.last;
      if (node === undefined) return refuse("no node has run yet");
      return apply({ kind: "restore", target: node, feedback: action.guidance });
    }
    case "skip":
      if (where.phase === "gate") return refuse("the run waits at an approval gate");
      return apply({ kind: "skip" });
    case "update_state":
      return apply({ kind: "update", values: action.values });
    case "approve":
    case "reject":
    case "request_changes":
      return resolveDecision(action, message, gate, config);
  }
}

function resolveDecision(
  action: Extract<InterruptAction, { type: "approve" | "reject" | "request_changes" }>,
  message: QueuedInterrupt,
  gate: GateMeta | undefined,
  config: ResolvedInterruptConfig,
): Resolution {
  if (gate === undefined) {
    return {
      kind: "refuse",
      error: new InterruptNotApplicableError(
        action.type,
        "the run is not waiting at an approval gate",
      ),
    };
  }
  if (action.requestId !== undefined && action.requestId !== gate.requestId) {
    return {
      kind: "refuse",
      error: new StaleDecisionError(
        action.type,
        gate.requestId,
        gate.revision,
        `it names request \`${action.requestId}\``,
      ),
    };
  }
  if (action.requestId === undefined && message.seq <= gate.queueSeq) {
    return {
      kind: "refuse",
      error: new StaleDecisionError(
        action.type,
        gate.requestId,
        gate.revision,
        "it names no request and was sent before this request was made",
      ),
    };
  }
  const content =
    action.type === "approve"
      ? action.comment
      : action.type === "reject"
        ? action.reason
        : action.feedback;
  const decision = (type: GateDecisionMeta["decision"], by: GateDecisionMeta["by"]) =>
    ({
      requestId: gate.requestId,
      node: gate.node,
      revision: gate.revision,
      decision: type,
      by,
      ...(message.sender === undefined ? {} : { actor: message.sender }),
      ...(content === undefined ? {} : { content }),
    }) satisfies GateDecisionMeta;
  if (action.type === "request_changes" && gate.revision + 1 > gate.maxRevisions) {
    const outcome = config.approvals.get(gate.node)?.onRevisionLimit ?? "reject";
    const { actor: _actor, content: _content, ...byLimit } = decision(outcome, "revision-limit");
    return {
      kind: "refuse",
      error: new RevisionLimitError(gate.node, gate.maxRevisions, outcome),
      policy: { kind: "decide", decision: byLimit },
    };
  }
  if (action.type === "request_changes") {
    return {
      kind: "apply",
      directive: {
        kind: "decide",
        decision: decision("request_changes", "human"),
        feedback: action.feedback,
      },
    };
  }
  return { kind: "apply", directive: { kind: "decide", decision: decision(action.type, "human") } };
}

/** The decision a gate's policy takes without a human (timeout, revision limit). */
export function policyDecision(
  gate: GateMeta,
  outcome: "approve" | "reject",
  by: "timeout" | "revision-limit",
): Directive {
  return {
    kind: "decide",
    decision: {
      requestId: gate.requestId,
      node: gate.node,
      revision: gate.revision,
      decision: outcome,
      by,
    },
  };
}
