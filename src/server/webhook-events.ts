/**
 * What webhooks tell: the events a stored checkpoint stands for, and the payload of each. A
 * checkpoint of the session's own thread says it itself; one of a nested graph's thread is read
 * with the session summary, which holds the gate open now.
 */
import type { GateDecisionMeta, GateMeta, OutcomeMeta } from "../store/checkpoint-meta.js";
import type { StoredRecord } from "../store/checkpoint-store.js";
import type { StoreEvent } from "../store/notifier.js";
import type { SessionSummary } from "../store/session-store.js";
import type { Store } from "../store/store.js";

/** What a delivery tells: the session paused, needs approval, was decided, ended. */
export type WebhookEventType =
  | "session.paused"
  | "approval.requested"
  | "approval.decided"
  | "session.completed"
  | "session.failed"
  | "session.rejected"
  | "session.cancelled";

/**
 * Whether a run is waiting for a reviewer at `gate`, told from its status: suspended there
 * (`paused`), or waiting in process (`running`) at a timed gate. A gate without a timeout is
 * not waited at in process: the run suspends at it right after it opens (or takes a decision
 * queued before), and is waiting once that suspension is stored.
 */
export function waitsAt(
  status: StoredRecord["status"],
  gate: GateMeta | undefined,
): gate is GateMeta {
  return (
    gate !== undefined &&
    (status === "paused" || (status === "running" && gate.deadline !== undefined))
  );
}

/**
 * The events a checkpoint of a session's own thread stands for. One whose run waits at its
 * gate (see `waitsAt`) stands for `approval.requested`; the sender delivers that once per
 * request, whichever such checkpoint it sees first.
 */
export function webhookEventsOf(record: StoredRecord): WebhookEventType[] {
  if (record.kind === "unparsable") return [];
  const types: WebhookEventType[] = [];
  if (record.meta.decision !== undefined) types.push("approval.decided");
  switch (record.status) {
    case "paused":
      types.push(record.meta.gate === undefined ? "session.paused" : "approval.requested");
      break;
    case "running":
      if (waitsAt(record.status, record.meta.gate)) types.push("approval.requested");
      break;
    case "completed":
    case "failed":
    case "rejected":
    case "cancelled":
      types.push(`session.${record.status}`);
      break;
    default:
      break;
  }
  return types;
}

/** What a delivery's body says besides its id. */
interface WebhookPayload {
  readonly type: WebhookEventType;
  readonly sessionId: string;
  readonly checkpointId: string;
  readonly status: StoredRecord["status"];
  readonly node: string | null;
  readonly at: number;
  readonly graph?: string;
  readonly gate?: {
    readonly requestId: string;
    readonly node: string;
    readonly revision: number;
    readonly deadline?: number;
  };
  readonly decision?: GateDecisionMeta;
  readonly outcome?: OutcomeMeta;
}

/**
 * One event to deliver to every endpoint. `subject` is what tells it from the session's other
 * events of its type, and with the endpoint, session and type makes the delivery id: the
 * approval request for `approval.requested` (one delivery per request, whichever checkpoint
 * shows it) and for `approval.decided` (a request is decided once, in the session's own thread
 * or a nested graph's), the checkpoint for every other type.
 */
export interface WebhookEvent {
  readonly subject: string;
  readonly payload: WebhookPayload;
}

/** The gate as a delivery names it. */
function gatePayload(gate: GateMeta): NonNullable<WebhookPayload["gate"]> {
  return {
    requestId: gate.requestId,
    node: gate.node,
    revision: gate.revision,
    ...(gate.deadline === undefined ? {} : { deadline: gate.deadline }),
  };
}

/** The event of `type` a checkpoint of the session's own thread stands for. */
function recordEvent(type: WebhookEventType, record: StoredRecord): WebhookEvent {
  const meta = record.kind === "unparsable" ? undefined : record.meta;
  const gate = meta?.gate;
  return {
    subject:
      type === "approval.requested" && gate !== undefined
        ? `request:${gate.requestId}`
        : type === "approval.decided" && meta?.decision !== undefined
          ? `decision:${meta.decision.requestId}`
          : record.id,
    payload: {
      type,
      sessionId: record.sessionId,
      checkpointId: record.id,
      status: record.status,
      node: record.node,
      at: record.createdAt,
      ...(meta?.graph === undefined ? {} : { graph: meta.graph }),
      ...(gate === undefined ? {} : { gate: gatePayload(gate) }),
      ...(meta?.decision === undefined ? {} : { decision: meta.decision }),
      ...(meta?.outcome === undefined ? {} : { outcome: meta.outcome }),
    },
  };
}

/**
 * The `approval.requested` of the gate a session summary holds, for a gate a nested graph
 * opened: its checkpoints are in a thread of their own, so the delivery carries, as the inbox
 * shows, the status, checkpoint and graph of the session's own run, and for `node` and `at` the
 * gated node's path and when the request was made.
 */
function summaryGateEvent(summary: SessionSummary, gate: GateMeta): WebhookEvent {
  return {
    subject: `request:${gate.requestId}`,
    payload: {
      type: "approval.requested",
      ...asTheInboxShows(summary),
      node: gate.node,
      at: gate.openedAt,
      gate: gatePayload(gate),
    },
  };
}

/** What a delivery about a nested gate says of the session: its own run's, from the summary. */
function asTheInboxShows(summary: SessionSummary) {
  return {
    sessionId: summary.sessionId,
    checkpointId: summary.checkpointId,
    status: summary.status,
    graph: summary.graph,
  };
}

/**
 * The `approval.decided` of a gate inside a nested graph, told by the checkpoint of the nested
 * thread that records the decision. As for its request, the delivery carries the status,
 * checkpoint and graph of the session's own run as the inbox shows them, the gated node's path
 * for `node`, and when the decision was stored for `at`.
 */
function nestedDecisionEvent(
  summary: SessionSummary,
  record: StoredRecord,
  decision: GateDecisionMeta,
): WebhookEvent {
  return {
    subject: `decision:${decision.requestId}`,
    payload: {
      type: "approval.decided",
      ...asTheInboxShows(summary),
      node: decision.node,
      at: record.createdAt,
      decision,
    },
  };
}

/**
 * What a checkpoint event stands for. A checkpoint of the session's own thread says it itself.
 * Any other is one of a nested graph's threads that changed the summary's gate: it stands for
 * `approval.decided` when it records the decision of that gate, and when its run goes on or
 * suspends (`running`, `paused`) it may have opened one, which the summary, read only then,
 * names as the gate open now, whichever thread opened it. A nested gate without a timeout
 * suspends the whole run, whose own paused checkpoint then carries it.
 */
export async function checkpointEvents(
  store: Store,
  event: Extract<StoreEvent, { kind: "checkpoint" }>,
): Promise<readonly WebhookEvent[]> {
  const record = await store.checkpoints.get(event.sessionId, event.thread, event.id);
  if (event.thread === "") {
    return record === undefined ? [] : webhookEventsOf(record).map((t) => recordEvent(t, record));
  }
  const decision = record?.kind === "unparsable" ? undefined : record?.meta.decision;
  const opens = event.status === "running" || event.status === "paused";
  if (decision === undefined && !opens) return [];
  const summary = await store.sessions.get(event.sessionId);
  if (summary === undefined) return [];
  const events: WebhookEvent[] = [];
  if (record !== undefined && decision !== undefined) {
    events.push(nestedDecisionEvent(summary, record, decision));
  }
  const gate = summary.gate;
  if (opens && waitsAt(summary.status, gate)) events.push(summaryGateEvent(summary, gate));
  return events;
}

/**
 * The `approval.requested` of the gate `summary` waits at, as it was sent when the gate opened:
 * from the session's checkpoint for a gate of its own graph, from the summary for one inside a
 * nested graph.
 */
export async function waitingEvent(
  store: Store,
  summary: SessionSummary,
): Promise<WebhookEvent | undefined> {
  const gate = summary.gate;
  if (!waitsAt(summary.status, gate)) return undefined;
  const record = await store.checkpoints.get(summary.sessionId, "", summary.checkpointId);
  const own =
    record !== undefined &&
    record.kind !== "unparsable" &&
    record.meta.gate?.requestId === gate.requestId &&
    webhookEventsOf(record).includes("approval.requested");
  return own ? recordEvent("approval.requested", record) : summaryGateEvent(summary, gate);
}
