/**
 * How a message's outcome is recorded: the settlement a store keeps, the audit entry that goes
 * with it, and the receipt outcome a sender sees. One place, so the run and the service record
 * outcomes alike.
 */
import {
  InterruptClearedError,
  reviveError,
  serializeError,
  type TrellisError,
} from "../errors.js";
import type { AuditEntryInput } from "../store/audit-store.js";
import type { SettledOutcome, Settlement, StoredInterrupt } from "../store/interrupt-store.js";
import type { InterruptAction } from "./actions.js";
import type {
  InterruptDecisionSource,
  InterruptOutcome,
  QueuedInterrupt,
} from "./interrupt-message.js";

/** Where in a run a message was settled, for its audit entry. */
export interface SettledWhere {
  readonly runId?: string;
  readonly node?: string;
  readonly iteration?: number;
}

/** What a message was applied as. */
export interface AppliedAs {
  readonly action: InterruptAction;
  readonly source: InterruptDecisionSource;
  readonly detail?: string | undefined;
}

/** A message applied: its settlement, audit entry and the receipt outcome. */
export function applied(
  message: QueuedInterrupt,
  as: AppliedAs,
  at: number,
  where: SettledWhere,
): Settled {
  const outcome: SettledOutcome = {
    status: "applied",
    action: as.action,
    appliedAt: at,
    source: as.source,
    ...(as.detail === undefined ? {} : { detail: as.detail }),
  };
  return settled(message, outcome, { status: "applied", ...withoutStatus(outcome) }, at, where);
}

/** A message refused: its settlement, audit entry and the receipt outcome (with the real error). */
export function refused(
  message: QueuedInterrupt,
  error: TrellisError,
  at: number,
  where: SettledWhere,
): Settled {
  const outcome: SettledOutcome = { status: "refused", error: serializeError(error), at };
  return settled(message, outcome, { status: "refused", error }, at, where);
}

/** A settlement with everything that goes with it. */
export interface Settled {
  readonly settlement: Settlement;
  readonly audit: AuditEntryInput;
  /** What the sender's receipt resolves to in this process. */
  readonly outcome: InterruptOutcome;
}

function withoutStatus(outcome: Extract<SettledOutcome, { status: "applied" }>) {
  const { status: _status, ...rest } = outcome;
  return rest;
}

function settled(
  message: QueuedInterrupt,
  stored: SettledOutcome,
  outcome: InterruptOutcome,
  at: number,
  where: SettledWhere,
): Settled {
  const decisionMs = Math.max(0, at - message.queuedAt);
  return {
    settlement: { id: message.id, outcome: stored },
    outcome,
    audit: {
      sessionId: message.sessionId,
      at,
      kind: stored.status === "applied" ? "interrupt.applied" : "interrupt.refused",
      ...(message.sender === undefined ? {} : { actor: message.sender }),
      ...(where.runId === undefined ? {} : { runId: where.runId }),
      ...(where.node === undefined ? {} : { node: where.node }),
      ...(where.iteration === undefined ? {} : { iteration: where.iteration }),
      data:
        stored.status === "applied"
          ? {
              id: message.id,
              action: stored.action,
              decisionMs,
              ...(stored.source === undefined ? {} : { source: stored.source }),
              ...(stored.detail === undefined ? {} : { detail: stored.detail }),
            }
          : {
              id: message.id,
              decisionMs,
              code: stored.error.code,
              message: stored.error.message,
            },
    },
  };
}

/**
 * The receipt outcome of a message read back from the store (settled elsewhere), or
 * `undefined` while it still waits.
 */
export function outcomeOf(
  stored: StoredInterrupt | undefined,
  id: string,
  sessionId: string,
): InterruptOutcome | undefined {
  if (stored === undefined) {
    // Gone with its session.
    return { status: "refused", error: new InterruptClearedError(id, sessionId, "deleted") };
  }
  switch (stored.state) {
    case "queued":
    case "claimed":
      return undefined;
    case "expired":
      return { status: "expired" };
    case "cleared":
    case "deleted":
      return {
        status: "refused",
        error: new InterruptClearedError(id, sessionId, stored.state),
      };
    case "applied":
    case "refused": {
      const outcome = stored.outcome;
      if (outcome === undefined) return undefined;
      if (outcome.status === "refused")
        return { status: "refused", error: reviveError(outcome.error) };
      const { status: _status, ...rest } = outcome;
      return { status: "applied", ...rest };
    }
  }
}
