import type { InterruptOutcome, InterruptReceipt } from "../interrupts/interrupt-message.js";
import type { SessionSummary } from "../store/session-store.js";

/** A session as the inbox lists it: the summary, the open gate without its outputs. */
export function summaryJson(summary: SessionSummary) {
  const gate = summary.gate;
  return {
    sessionId: summary.sessionId,
    graph: summary.graph,
    status: summary.status,
    checkpointId: summary.checkpointId,
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
    waiting:
      gate === undefined
        ? null
        : {
            requestId: gate.requestId,
            node: gate.node,
            revision: gate.revision,
            maxRevisions: gate.maxRevisions,
            openedAt: gate.openedAt,
            ...(gate.deadline === undefined ? {} : { deadline: gate.deadline }),
          },
  };
}

/** A receipt without its promise. */
export function receiptJson(receipt: InterruptReceipt) {
  return {
    id: receipt.id,
    sessionId: receipt.sessionId,
    priority: receipt.priority,
    queuedAt: receipt.queuedAt,
  };
}

/** What became of a message, errors as `{ code, name, message }`. */
export function outcomeJson(outcome: InterruptOutcome) {
  if (outcome.status !== "refused") return outcome;
  const { code, name, message } = outcome.error;
  return { status: outcome.status, error: { code, name, message } };
}
