/**
 * Approval gates in a run: opening one when its node has run (the request is part of the
 * node's own checkpoint, so it is stored before anyone waits) and closing it as decided
 * (approve, reject — terminal or to `onReject` — or request changes, which reruns the node one
 * revision on), carried out through the run's `RunShell`; and the gate's records, built
 * without run state (the request, its audit entries, the rerun).
 */
import { RunRejectedError } from "../errors.js";
import { deepFreeze } from "../freeze.js";
import { MergedUpdate } from "../graph/node-runtime.js";
import type { DeltaOp } from "../graph/state.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type {
  CheckpointMeta,
  GateDecisionMeta,
  GateMeta,
  RerunMeta,
} from "../store/checkpoint-meta.js";
import { TrellisAttributes, TrellisEvents } from "../telemetry/attributes.js";
import { restoreTo } from "./course-changes.js";
import type { Directive } from "./directive.js";
import * as planner from "./planner.js";
import type { RunRecords, RunShell } from "./run-shell.js";

/**
 * The node that just ran (`name`, its update and delta applied) has an approval gate: opens
 * it and writes the node's checkpoint with the request, flushed.
 */
export async function openGate<S extends Record<string, unknown>>(
  run: RunShell<S>,
  name: string,
  update: unknown,
  delta: readonly DeltaOp[],
  notes: CheckpointMeta["notes"],
  revision: RerunMeta["revision"],
  config: { readonly maxRevisions: number; readonly timeoutMs?: number | undefined },
): Promise<void> {
  const s = run.setup;
  const path = s.prefix + name;
  const now = s.clock.now();
  const { lastSeq } = await s.store.interrupts.stats(s.sessionId);
  const iteration = run.plan.iteration;
  const gate = gateRequest({
    runId: s.runId,
    iteration,
    node: path,
    now,
    config,
    revision,
    update,
    delta,
    queueSeq: lastSeq,
  });
  run.plan = planner.openGate(run.plan, gate);
  await run.checkpoint(
    {
      node: name,
      next: run.plan.frontier,
      status: "running",
      delta,
      meta: run.meta(notes === undefined ? {} : { notes }),
    },
    {
      audit: [requestedAudit({ sessionId: s.sessionId, runId: s.runId, iteration, at: now }, gate)],
    },
    true,
  );
  // Announced once it is stored: a request nobody can find after a crash is never shown.
  run.emit("approval:requested", {
    node: path,
    revision: gate.revision,
    requestId: gate.requestId,
  });
  s.tracing.event(TrellisEvents.APPROVAL_REQUESTED, () => ({
    [TrellisAttributes.NODE]: path,
    [TrellisAttributes.APPROVAL_REVISION]: gate.revision,
  }));
}

/** Closes the open gate as decided. */
export async function decideGate<S extends Record<string, unknown>>(
  run: RunShell<S>,
  directive: Extract<Directive, { kind: "decide" }>,
  records: RunRecords,
): Promise<boolean> {
  const s = run.setup;
  const { decision } = directive;
  const gate = run.plan.gate!;
  const decided = decidedAudit(
    {
      sessionId: s.sessionId,
      runId: s.runId,
      iteration: run.plan.iteration,
      at: s.clock.now(),
    },
    decision,
  );
  const all = { settled: records.settled, audit: [...records.audit, decided] };
  // Announced once the decision is stored (as its request is), so a decision lost to a failed
  // write or a crash is announced only when a later run makes it again, and once.
  const announce = () => {
    run.emit("approval:decided", {
      node: decision.node,
      decision: decision.decision,
      actor: decision.actor,
      by: decision.by,
      requestId: decision.requestId,
    });
    s.tracing.event(TrellisEvents.APPROVAL_DECIDED, () => ({
      [TrellisAttributes.NODE]: decision.node,
      [TrellisAttributes.APPROVAL_DECISION]: decision.decision,
      [TrellisAttributes.APPROVAL_BY]: decision.by,
    }));
  };
  if (decision.decision === "request_changes") {
    const node = gate.node.slice(s.prefix.length);
    const rerun = changesRequested(gate, node, directive.feedback ?? decision.content ?? "");
    const done = await restoreTo(run, node, rerun.feedback, rerun, all, decision);
    announce();
    return done;
  }
  const onReject = run.gateOf(gate.node)?.onReject;
  if (decision.decision === "reject" && onReject === undefined) {
    // The rejection is stored with the run's final checkpoint.
    run.defer(all);
    run.announceAtEnd(announce);
    run.plan = planner.rejectAtGate(
      run.plan,
      decision,
      new RunRejectedError(decision.node, decision.content),
    );
    return true;
  }
  const target = decision.decision === "reject" ? onReject : undefined;
  run.plan = planner.passGate(run.plan, target);
  await run.checkpoint(
    {
      node: null,
      next: run.plan.frontier,
      status: "running",
      delta: [],
      meta: run.meta({ decision }),
    },
    all,
    true,
  );
  announce();
  if (target !== undefined) {
    run.emit("edge:taken", {
      from: gate.node,
      to: [target],
      reason: "interrupt",
      label: "rejected",
    });
  }
  return true;
}

/** Who and when, for the audit entries of a gate. */
interface GateWhere {
  readonly sessionId: string;
  readonly runId: string;
  readonly iteration: number;
  readonly at: number;
}

/** The gate a node opens when it has run; `iteration` is the node's own. */
function gateRequest(fields: {
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
function requestedAudit(where: GateWhere, gate: GateMeta): AuditEntryInput {
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
function decidedAudit(where: GateWhere, decision: GateDecisionMeta): AuditEntryInput {
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
function changesRequested(gate: GateMeta, node: string, feedback: string): RerunMeta {
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
