/**
 * The data of an approval gate in a run, built without run state: the request a gated node's
 * checkpoint carries (so it is stored before anyone waits), the audit entries of the request
 * and of the decision, and the rerun a `request_changes` decision asks for.
 */
import { deepFreeze } from "../freeze.js";
import { MergedUpdate } from "../graph/node-runtime.js";
import type { DeltaOp } from "../graph/state.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { GateDecisionMeta, GateMeta, RerunMeta } from "../store/checkpoint-meta.js";

/** Who and when, for the audit entries of a gate. */
export interface GateWhere {
  readonly sessionId: string;
  readonly runId: string;
  readonly iteration: number;
  readonly at: number;
}

/** The gate a node opens when it has run; `iteration` is the node's own. */
export function gateRequest(fields: {
  readonly runId: string;
  readonly iteration: number;
  /** The node's path. */
  readonly node: string;
  readonly now: number;
  readonly config: { readonly maxRevisions: number; readonly timeoutMs?: number | undefined };
  readonly revision: RerunMeta["revision"];
  readonly update: unknown;
  readonly delta: readonly DeltaOp[];
  /** The last message sequence of the session's queue: decisions after it are for this gate. */
  readonly queueSeq: number;
}): GateMeta {
  const { now, revision } = fields;
  const { maxRevisions, timeoutMs } = fields.config;
  return {
    requestId: `${fields.runId}.${fields.iteration}`,
    node: fields.node,
    revision: revision?.number ?? 0,
    maxRevisions,
    output: deepFreeze(outputOf(fields.update, fields.delta)),
    history: revision?.history ?? [],
    openedAt: now,
    queueSeq: fields.queueSeq,
    ...(timeoutMs === undefined ? {} : { deadline: now + timeoutMs }),
  };
}

/** The `approval.requested` audit entry of `gate`. */
export function requestedAudit(where: GateWhere, gate: GateMeta): AuditEntryInput {
  return {
    sessionId: where.sessionId,
    runId: where.runId,
    at: where.at,
    kind: "approval.requested",
    node: gate.node,
    iteration: where.iteration,
    data: { requestId: gate.requestId, revision: gate.revision, maxRevisions: gate.maxRevisions },
  };
}

/** The `approval.decided` audit entry of `decision`. */
export function decidedAudit(where: GateWhere, decision: GateDecisionMeta): AuditEntryInput {
  return {
    sessionId: where.sessionId,
    runId: where.runId,
    at: where.at,
    kind: "approval.decided",
    node: decision.node,
    iteration: where.iteration,
    ...(decision.actor === undefined ? {} : { actor: decision.actor }),
    data: {
      requestId: decision.requestId,
      revision: decision.revision,
      decision: decision.decision,
      by: decision.by,
      ...(decision.content === undefined ? {} : { content: decision.content }),
    },
  };
}

/** The rerun `request_changes` asks for: the gated node `node` again, one revision on. */
export function changesRequested(gate: GateMeta, node: string, feedback: string): RerunMeta {
  return {
    node,
    feedback,
    revision: {
      number: gate.revision + 1,
      requestId: gate.requestId,
      history: [...gate.history, { revision: gate.revision, output: gate.output, feedback }],
    },
  };
}

/** The output a gate shows: the node's update as JSON (a merged update as its changed keys). */
function outputOf(update: unknown, delta: readonly DeltaOp[]): unknown {
  if (update === undefined) return null;
  if (update instanceof MergedUpdate) {
    const out: Record<string, unknown> = {};
    for (const [key, op, value] of delta) out[key] = op === "set" ? value : value;
    return out;
  }
  return update;
}
